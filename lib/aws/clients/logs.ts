import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { requestHandler } from './timeouts.js';

export const logs = new CloudWatchLogsClient({ requestHandler });
