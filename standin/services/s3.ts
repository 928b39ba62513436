import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
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

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
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
          res.writeHead(200, { location: `/${bucket}` }).end();
          return;
        }
        if (method === 'HEAD') {
          this.bucketOrThrow(bucket);
          res.writeHead(200).end();
          return;
        }
        if (method === 'GET') return this.list(bucket, url.searchParams, res);
        throw s3Error('MethodNotAllowed', `${method} on a bucket is not supported`, 405);
      }
      if (method === 'PUT') {
        const payload = decodeAwsChunked(req, body);
        const stored = this.put(bucket, key, payload, req.headers['content-type'] ?? undefined);
        for (const [h, v] of Object.entries(req.headers)) {
          if (h.startsWith('x-amz-meta-') && typeof v === 'string') stored.metadata[h.slice(11)] = v;
        }
        res.writeHead(200, { etag: stored.etag }).end();
        return;
      }
      if (method === 'GET' || method === 'HEAD') {
        const obj = this.bucketOrThrow(bucket).get(key);
        if (!obj) throw s3Error('NoSuchKey', 'The specified key does not exist.', 404, { Key: key });
        res.writeHead(200, {
          'content-type': obj.contentType,
          'content-length': obj.body.length,
          etag: obj.etag,
          'last-modified': obj.lastModified.toUTCString(),
          ...Object.fromEntries(Object.entries(obj.metadata).map(([k, v]) => [`x-amz-meta-${k}`, v])),
        });
        res.end(method === 'GET' ? obj.body : undefined);
        return;
      }
      throw s3Error('MethodNotAllowed', `${method} on an object is not supported`, 405);
    } catch (err) {
      if (!(err instanceof ServiceError)) throw err;
      // HEAD responses carry no body: the SDK maps the bare status (404 → NotFound).
      const xml =
        method === 'HEAD'
          ? ''
          : toXmlDocument('Error', {
              Code: err.code,
              Message: err.message,
              ...err.extra,
              RequestId: requestId(),
            });
      res.writeHead(err.status, { 'content-type': 'application/xml' }).end(xml);
    }
  }

  private list(bucket: string, params: URLSearchParams, res: ServerResponse): void {
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
    res.writeHead(200, { 'content-type': 'application/xml' }).end(xml);
  }
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
function decodeAwsChunked(req: IncomingMessage, body: Buffer): Buffer {
  const encoding = String(req.headers['content-encoding'] ?? '');
  const sha = String(req.headers['x-amz-content-sha256'] ?? '');
  if (!encoding.includes('aws-chunked') && !sha.startsWith('STREAMING-')) return body;
  const parts: Buffer[] = [];
  let pos = 0;
  while (pos < body.length) {
    const lineEnd = body.indexOf('\r\n', pos);
    if (lineEnd < 0) break;
    const size = Number.parseInt(body.subarray(pos, lineEnd).toString().split(';')[0] ?? '0', 16);
    if (!size) break;
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    pos = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
