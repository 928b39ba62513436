import { ElasticBeanstalkClient } from '@aws-sdk/client-elastic-beanstalk';

/**
 * EB's Describe* calls are throttled at about 2/s with a burst of 15 per account (eb-facts.md), so
 * this client rate-limits itself (adaptive retry mode) and retries more than the default 3 times.
 */
export const eb = new ElasticBeanstalkClient({ retryMode: 'adaptive', maxAttempts: 6 });
