import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { requestHandler } from './timeouts.js';

/**
 * The alarm gates' reads (DescribeAlarms). A read that fails after the SDK's own retries is no data
 * for that poll: the health watch reads again on the next one.
 */
// Marked pure: a bundle that imports this module but never sends through the client leaves it out
// (esbuild keeps any unannotated `new` at module scope), and its cold start does not build it.
export const cloudwatch = /* @__PURE__ */ new CloudWatchClient({ requestHandler });
