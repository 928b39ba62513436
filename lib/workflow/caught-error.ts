import type { CaughtError } from '../workflow-state.js';

/**
 * The message of an error a Catch caught. A Lambda task's Cause is the JSON of its error
 * (`{"errorType","errorMessage","trace"}`: AWS Lambda developer guide, "Lambda function errors in
 * Node.js"); other tasks and local runs give a plain message. Never the trace: it names files and
 * lines, not what on-call must do. Undefined when the Cause is structured but carries no message
 * (Step Functions' own payloads).
 */
export function causeMessage(cause: string | undefined): string | undefined {
  if (!cause) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(cause);
  } catch {
    return cause;
  }
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
    const message = (parsed as { errorMessage?: unknown }).errorMessage;
    return typeof message === 'string' ? message : undefined;
  }
  return cause;
}

/** `Error: message`, or the error name alone when the Cause says nothing more. */
export function describeCaught(error: CaughtError): string {
  const message = causeMessage(error.Cause);
  return message ? `${error.Error}: ${message}` : error.Error;
}
