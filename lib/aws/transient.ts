// Errors that say nothing about the call's own request: throttling, AWS-side faults, timeouts,
// lost connections.
const TRANSIENT_NAMES = new Set([
  // Throttling as each service names it (SNS: ThrottledException, answered 400 with no retryable
  // mark; S3: SlowDown), as the SDK's own retry strategy lists them.
  'Throttling',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

/**
 * True for a failure that is no data about the request itself (a command's result, an alert's
 * topic), so the same call a moment later may succeed: the state machine's Retry, not the user, fixes it.
 */
export function isTransient(err: unknown): boolean {
  const e = err as {
    name?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
    $retryable?: unknown;
  };
  if (typeof e !== 'object' || e === null) return false;
  if (e.name !== undefined && TRANSIENT_NAMES.has(e.name)) return true;
  if (e.code !== undefined && TRANSIENT_CODES.has(e.code)) return true;
  if (e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  return status === 429 || (status !== undefined && status >= 500);
}
