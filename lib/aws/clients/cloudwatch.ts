import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { requestHandler } from './timeouts.js';

/**
 * The alarm gates' reads (DescribeAlarms). A read that fails after the SDK's own retries is no data
 * for that poll: the health watch reads again on the next one.
 */
export const cloudwatch = new CloudWatchClient({ requestHandler });
