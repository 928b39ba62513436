import { ElasticBeanstalkClient } from '@aws-sdk/client-elastic-beanstalk';
import { requestHandler } from './timeouts.js';

/**
 * EB's Describe* calls are throttled at about 2/s with a burst of 15 per account (EB API reference,
 * "Throttling"; the rate is AWS Support's, quoted in aws/aws-cli issues). A Lambda that sleeps in the
 * SDK's backoff is billed for it, and the state machine waits for free: so this client tries a few
 * times with the standard mode's short jittered backoff, then lets the step fail. Step Functions'
 * Retry (throttled errors) and the health watch (a throttled poll is no data) do the waiting.
 *
 * Marked pure: a bundle that imports this module but never sends through the client leaves it out
 * (esbuild keeps any unannotated `new` at module scope), and its cold start does not build it.
 */
export const eb = /* @__PURE__ */ new ElasticBeanstalkClient({
  retryMode: 'standard',
  maxAttempts: 3,
  requestHandler,
});
