import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { readBody, requestId, ServiceError, toXmlDocument } from '../protocol.js';

/**
 * A small S3 (REST, path-style: `/<bucket>/<key>`) with the operations ebship and EB use:
 * CreateBucket, PutObject, GetObject, HeadObject, ListObjectsV2. Kept in memory so the EB
 * simulation can read a bundle the handler uploaded, exactly as EB reads it from S3.
 */
export interface StoredObject {
  body: Buffer;
  contentType: string;
  etag: string;
  lastModified: Date;
  metadata: Record<string, string>;
  /** Base64 SHA-256, when the upload sent one (echoed with x-amz-checksum-mode: ENABLED). */
  checksumSha256?: string;
}

export class S3Store {
  readonly buckets = new Map<string, Map<string, StoredObject>>();

  createBucket(name: string): void {
    if (!this.buckets.has(name)) this.buckets.set(name, new Map());
  }

  put(bucket: string, key: string, body: Buffer, contentType = 'binary/octet-stream'): StoredObject {
    const objects = this.bucketOrThrow(bucket);
    const stored: StoredObject = {
      body,
      contentType,
      etag: `"${createHash('md5').update(body).digest('hex')}"`,
      lastModified: new Date(),
      metadata: {},
    };
    objects.set(key, stored);
    return stored;
  }

  get(bucket: string, key: string): StoredObject | undefined {
    return this.buckets.get(bucket)?.get(key);
  }

  private bucketOrThrow(bucket: string): Map<string, StoredObject> {
    const objects = this.buckets.get(bucket);
    if (!objects)
      throw s3Error('NoSuchBucket', 'The specified bucket does not exist', 404, { BucketName: bucket });
    return objects;
  }

  /** Answers one REST request (the server writes the reply, or a fault replaces it). */
  async handle(req: IncomingMessage): Promise<S3Reply> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const [, bucket = '', ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const method = req.method ?? 'GET';
    const body = await readBody(req);
    try {
      if (!bucket) throw s3Error('NotImplemented', 'ListBuckets is not supported by the stand-in', 501);
      if (!key) {
        if (method === 'PUT') {
          this.createBucket(decodeURIComponent(bucket));
          return { status: 200, headers: { location: `/${bucket}` } };
        }
        if (method === 'HEAD') {
          this.bucketOrThrow(bucket);
          return { status: 200, headers: {} };
        }
        if (method === 'GET') return this.list(bucket, url.searchParams);
        throw s3Error('MethodNotAllowed', `${method} on a bucket is not supported`, 405);
      }
      if (method === 'PUT') {
        const { payload, trailers } = decodeAwsChunked(req, body);
        // S3 checks a SHA-256 it is sent (header or aws-chunked trailer) and refuses a mismatch with
        // 400 BadDigest (S3 API reference, PutObject: x-amz-checksum-sha256).
        const claimed = header(req, 'x-amz-checksum-sha256') ?? trailers['x-amz-checksum-sha256'];
        const actual = createHash('sha256').update(payload).digest('base64');
        if (claimed !== undefined && claimed !== actual) {
          throw s3Error('BadDigest', 'The SHA256 you specified did not match the calculated checksum.', 400);
        }
        this.bucketOrThrow(bucket);
        const stored = this.put(bucket, key, payload, req.headers['content-type'] ?? undefined);
        if (claimed !== undefined) stored.checksumSha256 = actual;
        for (const [h, v] of Object.entries(req.headers)) {
          if (h.startsWith('x-amz-meta-') && typeof v === 'string') stored.metadata[h.slice(11)] = v;
        }
        return {
          status: 200,
          headers: {
            etag: stored.etag,
            ...(claimed !== undefined ? { 'x-amz-checksum-sha256': actual } : {}),
          },
        };
      }
      if (method === 'GET' || method === 'HEAD') {
        const obj = this.bucketOrThrow(bucket).get(key);
        if (!obj) throw s3Error('NoSuchKey', 'The specified key does not exist.', 404, { Key: key });
        const withChecksum = header(req, 'x-amz-checksum-mode') === 'ENABLED' && obj.checksumSha256;
        return {
          status: 200,
          headers: {
            'content-type': obj.contentType,
            'content-length': String(obj.body.length),
            etag: obj.etag,
            'last-modified': obj.lastModified.toUTCString(),
            ...(withChecksum ? { 'x-amz-checksum-sha256': obj.checksumSha256 } : {}),
            ...Object.fromEntries(Object.entries(obj.metadata).map(([k, v]) => [`x-amz-meta-${k}`, v])),
          },
          body: method === 'GET' ? obj.body : undefined,
        };
      }
      throw s3Error('MethodNotAllowed', `${method} on an object is not supported`, 405);
    } catch (err) {
      if (!(err instanceof ServiceError)) throw err;
      return s3ErrorReply(err, method);
    }
  }

  private list(bucket: string, params: URLSearchParams): S3Reply {
    const prefix = params.get('prefix') ?? '';
    const max = Number.parseInt(params.get('max-keys') ?? '1000', 10);
    const after = params.get('continuation-token') ?? params.get('start-after') ?? '';
    const keys = [...this.bucketOrThrow(bucket).keys()]
      .filter((k) => k.startsWith(prefix) && k > after)
      .sort();
    const page = keys.slice(0, max);
    const truncated = keys.length > page.length;
    const contents = page.flatMap((k) => {
      const o = this.get(bucket, k);
      return o
        ? [
            {
              Key: k,
              LastModified: o.lastModified,
              ETag: o.etag,
              Size: o.body.length,
              StorageClass: 'STANDARD',
            },
          ]
        : [];
    });
    const xml = toXmlDocument(
      'ListBucketResult',
      {
        Name: bucket,
        Prefix: prefix,
        KeyCount: page.length,
        MaxKeys: max,
        IsTruncated: truncated,
        Contents: contents,
        NextContinuationToken: truncated ? page.at(-1) : undefined,
      },
      'http://s3.amazonaws.com/doc/2006-03-01/',
      { flatLists: true },
    );
    return { status: 200, headers: { 'content-type': 'application/xml' }, body: Buffer.from(xml) };
  }
}

export interface S3Reply {
  status: number;
  headers: Record<string, string>;
  body?: Buffer;
}

/** An S3 error reply. HEAD responses carry no body: the SDK maps the bare status (404 → NotFound). */
export function s3ErrorReply(err: ServiceError, method: string): S3Reply {
  const xml =
    method === 'HEAD'
      ? ''
      : toXmlDocument('Error', {
          Code: err.code,
          Message: err.message,
          ...err.extra,
          RequestId: requestId(),
        });
  return { status: err.status, headers: { 'content-type': 'application/xml' }, body: Buffer.from(xml) };
}

/** The S3 operation a REST request is (for faults): PutObject, GetObject, ListObjectsV2... */
export function s3Operation(method: string | undefined, url: string | undefined): string {
  const path = new URL(url ?? '/', 'http://localhost').pathname.split('/').filter(Boolean);
  if (path.length === 0) return 'ListBuckets';
  const onBucket = path.length === 1;
  switch (method) {
    case 'PUT':
      return onBucket ? 'CreateBucket' : 'PutObject';
    case 'HEAD':
      return onBucket ? 'HeadBucket' : 'HeadObject';
    case 'GET':
      return onBucket ? 'ListObjectsV2' : 'GetObject';
    case 'DELETE':
      return onBucket ? 'DeleteBucket' : 'DeleteObject';
    default:
      return `${method ?? 'GET'}Object`;
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}

function s3Error(
  code: string,
  message: string,
  status: number,
  extra: Record<string, unknown> = {},
): ServiceError {
  return new ServiceError(code, message, status, 'Sender', extra);
}

/**
 * SDK v3 sends streamed bodies with `Content-Encoding: aws-chunked` and a trailing checksum:
 * `<hex size>[;chunk-signature=...]\r\n<bytes>\r\n ... 0\r\n<trailers>\r\n\r\n`. Store the bytes only.
 */
function decodeAwsChunked(
  req: IncomingMessage,
  body: Buffer,
): { payload: Buffer; trailers: Record<string, string> } {
  const encoding = String(req.headers['content-encoding'] ?? '');
  const sha = String(req.headers['x-amz-content-sha256'] ?? '');
  const trailers: Record<string, string> = {};
  if (!encoding.includes('aws-chunked') && !sha.startsWith('STREAMING-')) return { payload: body, trailers };
  const parts: Buffer[] = [];
  let pos = 0;
  while (pos < body.length) {
    const lineEnd = body.indexOf('\r\n', pos);
    if (lineEnd < 0) break;
    const size = Number.parseInt(body.subarray(pos, lineEnd).toString().split(';')[0] ?? '0', 16);
    if (!size) {
      for (const line of body
        .subarray(lineEnd + 2)
        .toString()
        .split('\r\n')) {
        const colon = line.indexOf(':');
        if (colon > 0) trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      break;
    }
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    pos = lineEnd + 2 + size + 2;
  }
  return { payload: Buffer.concat(parts), trailers };
}
