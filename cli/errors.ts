import { ConfigInvalid, ImageNotFound, InputInvalid } from '../lib/errors.js';
import { ExitCode, type ExitCodeValue } from './exit-codes.js';

/**
 * An error the CLI reports as one message (and an optional hint) with a chosen exit code. Anything
 * else that escapes a command is mapped by `toCliError`: known AWS and config failures get a message
 * that says what to do; the rest is reported as unexpected with its AWS error name.
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
    /** A stable id for `--json` consumers, e.g. `unknown-target`. */
    readonly code: string,
    readonly hint?: string,
    /** Facts for `--json` consumers (the busy execution, say). */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export function usage(code: string, message: string, hint?: string): CliError {
  return new CliError(message, ExitCode.Usage, code, hint);
}

// Names the SDK gives missing or refused credentials (credential chain, STS-style and service errors).
const NO_CREDENTIALS = new Set(['CredentialsProviderError', 'TokenProviderError']);
const BAD_CREDENTIALS = new Set([
  'ExpiredToken',
  'ExpiredTokenException',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
]);

export const CREDENTIALS_HINT =
  'Configure credentials with `aws configure` (or `aws configure sso` then `aws sso login`), ' +
  'then pass --profile <name> or set AWS_PROFILE; or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.';

export function toCliError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof ConfigInvalid) return usage('config-invalid', err.message);
  if (err instanceof InputInvalid) return usage('input-invalid', err.message);
  if (err instanceof ImageNotFound) return usage('image-not-found', err.message);
  const name = err instanceof Error ? err.name : 'Error';
  const message = err instanceof Error ? err.message : String(err);
  if (NO_CREDENTIALS.has(name) || /could not load credentials/i.test(message)) {
    return usage('no-credentials', `no AWS credentials found (${message})`, CREDENTIALS_HINT);
  }
  if (BAD_CREDENTIALS.has(name)) {
    return usage(
      'credentials-rejected',
      `AWS refused the credentials: ${name}: ${message}`,
      CREDENTIALS_HINT,
    );
  }
  if (name === 'AccessDeniedException' || name === 'AccessDenied') {
    return new CliError(
      `AWS denied the call: ${message}`,
      ExitCode.Findings,
      'access-denied',
      'Use a profile or role allowed to read (and start) ebship executions for this stage.',
    );
  }
  if (/region is missing/i.test(message)) {
    return usage(
      'no-region',
      'no AWS region configured',
      'Pass --region, set AWS_REGION, or set a region in your AWS profile.',
    );
  }
  // The SDK builds the endpoint from the region; a DNS failure means a wrong region or no network.
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || /getaddrinfo (ENOTFOUND|EAI_AGAIN)/.test(message)) {
    const host = /(ENOTFOUND|EAI_AGAIN) (\S+)/.exec(message)?.[2];
    return usage(
      'endpoint-unreachable',
      `cannot reach the AWS endpoint${host ? ` ${host}` : ''} (${String(code ?? 'ENOTFOUND')})`,
      'Check the region (--region, AWS_REGION) and your network or proxy; with the local stand-in, check AWS_ENDPOINT_URL.',
    );
  }
  return new CliError(`unexpected error: ${name}: ${message}`, ExitCode.Findings, 'unexpected');
}
