/**
 * Every AWS client in a Lambda gives up on an answer that never comes. Without `requestTimeout` the
 * SDK waits for the socket until the Lambda itself times out, and without `throwOnRequestTimeout` it
 * only logs a warning when the timeout passes (@smithy/node-http-handler). A lost reply then fails
 * the step in seconds, and the state machine's Retry, or the step's own look at AWS's state, takes
 * over: Lambdas fail fast, Step Functions waits.
 */
export const requestHandler = {
  connectionTimeout: 3_000,
  requestTimeout: 10_000,
  throwOnRequestTimeout: true,
};
