import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { requestHandler } from './timeouts.js';

// Marked pure: a bundle that imports this module but never sends through the client leaves it out
// (esbuild keeps any unannotated `new` at module scope), and its cold start does not build it.
export const logs = /* @__PURE__ */ new CloudWatchLogsClient({ requestHandler });
