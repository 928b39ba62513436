import { AwsClient } from 'aws4fetch';

/**
 * S3 PutObject as one signed HTTP PUT (S3 API reference, PutObject; Signature Version 4 by
 * aws4fetch), without the S3 SDK client. BuildBundle makes this one S3 call, and the client, with
 * its XML protocol, checksum and S3 Express layers, was two thirds of that function's cold import
 * (docs/benchmarks.md). Everything else in ebship keeps the SDK.
 *
 * Like the SDK clients in the functions, it fails fast: a 5xx or 429 answer is tried twice more
 * (PutObject of the same bytes to the same key is idempotent), then the error goes to the state
 * machine's Retry. An answer that never comes is abandoned after `timeoutMs`.
 */

export interface PutObjectInput {
  bucket: string;
  key: string;
  body: Uint8Array;
  contentType: string;
  /** Base64 SHA-256 of the body: S3 refuses the upload with BadDigest if it does not match. */
  checksumSha256: string;
  /** SSE-S3 (AES256) at least, whatever the bucket default. */
  serverSideEncryption: 'AES256';
  timeoutMs?: number;
}

/** An S3 error answer: `name` is S3's error code (AccessDenied, NoSuchBucket, BadDigest, SlowDown…). */
export class S3Error extends Error {
  readonly $metadata: { httpStatusCode: number; requestId?: string };
  constructor(code: string, message: string, status: number, requestId?: string) {
    super(message);
    this.name = code;
    this.$metadata = { httpStatusCode: status, ...(requestId ? { requestId } : {}) };
  }
}

const RETRIES = 2;

export async function putObject(input: PutObjectInput, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    // Lambda always sets them from the function's role (Lambda developer guide, "Defined runtime
    // environment variables"); elsewhere, export them (for example from `aws configure export-credentials`).
    throw new S3Error(
      'CredentialsProviderError',
      'no AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY): the bundle cannot be uploaded',
      0,
    );
  }
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const client = new AwsClient({
    accessKeyId,
    secretAccessKey,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    service: 's3',
    region,
    retries: RETRIES,
  });
  const answer = await client.fetch(objectUrl(input.bucket, input.key, region, env), {
    method: 'PUT',
    body: input.body,
    headers: {
      'content-type': input.contentType,
      'x-amz-checksum-sha256': input.checksumSha256,
      'x-amz-server-side-encryption': input.serverSideEncryption,
    },
    signal: AbortSignal.timeout(input.timeoutMs ?? 60_000),
  });
  if (answer.ok) {
    await answer.arrayBuffer();
    return;
  }
  const text = await answer.text().catch(() => '');
  const field = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(text)?.[1];
  throw new S3Error(
    field('Code') ?? `Http${answer.status}`,
    field('Message') ?? `S3 answered ${answer.status} ${answer.statusText}`,
    answer.status,
    answer.headers.get('x-amz-request-id') ?? field('RequestId'),
  );
}

/**
 * Where the object is: on AWS, the bucket's virtual-hosted name (S3 user guide, "Virtual hosting of
 * buckets"); with an endpoint set (AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, as the SDK reads
 * them), that endpoint, path-style when EBSHIP_S3_PATH_STYLE is true (the local stand-in).
 */
export function objectUrl(
  bucket: string,
  key: string,
  region: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const path = key.split('/').map(encodeURIComponent).join('/');
  const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  if (endpoint) {
    const base = new URL(endpoint);
    const prefix = base.pathname.replace(/\/$/, '');
    if (env.EBSHIP_S3_PATH_STYLE === 'true') return `${base.origin}${prefix}/${bucket}/${path}`;
    return `${base.protocol}//${bucket}.${base.host}${prefix}/${path}`;
  }
  const domain = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://${bucket}.s3.${region}.${domain}/${path}`;
}
