import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { XMLBuilder } from 'fast-xml-parser';

/**
 * Wire-protocol plumbing shared by the stand-in's services: the AWS JSON protocols (1.0 / 1.1),
 * the query protocol (form POST in, XML out) and S3's REST XML errors. Each error goes out in its
 * protocol's own shape so the unchanged SDK v3 clients raise the same exception classes as on AWS.
 */

/** An error a service answers with: `code` becomes the SDK exception's `name`. */
export class ServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    /** Query protocol's Error.Type: Sender (caller's fault) or Receiver. */
    readonly type: 'Sender' | 'Receiver' = 'Sender',
    /** Extra members of the error structure (JSON protocols), e.g. ECR's registryId. */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = code;
  }
}

export type JsonObject = Record<string, unknown>;

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function requestId(): string {
  return randomUUID();
}

// ---------- JSON protocols ----------

/** A reply ready to write: status, headers and body. */
export interface WireReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function jsonReply(version: '1.0' | '1.1', body: unknown, status = 200): WireReply {
  // AWS JSON protocols carry timestamps as epoch seconds. Date.toJSON runs before a replacer
  // sees the value, so the replacer looks at the holder's original member.
  const text = JSON.stringify(
    body ?? {},
    function (this: Record<string, unknown>, key: string, value: unknown) {
      const raw = this[key];
      return raw instanceof Date ? raw.getTime() / 1000 : value;
    },
  );
  return {
    status,
    headers: {
      'content-type': `application/x-amz-json-${version}`,
      'x-amzn-requestid': requestId(),
      'content-length': String(Buffer.byteLength(text)),
    },
    body: text,
  };
}

/** The JSON protocols' error body: `__type` becomes the SDK exception's name. */
export function jsonError(err: ServiceError): JsonObject {
  return { __type: err.code, message: err.message, ...err.extra };
}

// ---------- query protocol ----------

/**
 * Turns query-protocol form fields into nested data:
 * `EnvironmentNames.member.1=a` → `{ EnvironmentNames: ['a'] }`,
 * `SourceBundle.S3Bucket=b` → `{ SourceBundle: { S3Bucket: 'b' } }`.
 */
export function parseQueryForm(body: string): JsonObject {
  const root: JsonObject = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const parts = key.split('.');
    let node: JsonObject = root;
    parts.forEach((part, i) => {
      if (i === parts.length - 1) node[part] = value;
      else {
        const next = node[part];
        if (typeof next === 'object' && next !== null) node = next as JsonObject;
        else {
          const created: JsonObject = {};
          node[part] = created;
          node = created;
        }
      }
    });
  }
  return listify(root) as JsonObject;
}

function listify(node: unknown): unknown {
  if (typeof node !== 'object' || node === null) return node;
  const obj = node as JsonObject;
  const keys = Object.keys(obj);
  for (const wrapper of ['member', 'entry']) {
    if (keys.length === 1 && keys[0] === wrapper) {
      const items = obj[wrapper] as JsonObject;
      return Object.keys(items)
        .sort((a, b) => Number(a) - Number(b))
        .map((k) => listify(items[k]));
    }
  }
  return Object.fromEntries(keys.map((k) => [k, listify(obj[k])]));
}

const xml = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  processEntities: true,
  suppressEmptyNode: false,
});

/**
 * Shapes a value for XML: dates as ISO 8601; lists as `<member>` items (query protocol) or as the
 * element repeated (S3's REST XML, `flat`).
 */
function xmlShape(value: unknown, flat: boolean): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) {
    const items = value.map((v) => xmlShape(v, flat));
    return flat ? items : { member: items };
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as JsonObject)
        .filter(([, v]) => v !== undefined && v !== null)
        .map(([k, v]) => [k, xmlShape(v, flat)]),
    );
  }
  return value;
}

/** Serialises a document to XML (fast-xml-parser escapes the text), with the XML declaration. */
export function toXmlDocument(
  root: string,
  body: unknown,
  namespace?: string,
  options: { flatLists?: boolean } = {},
): string {
  const shaped = xmlShape(body, options.flatLists ?? false);
  const element = namespace ? { '@_xmlns': namespace, ...(shaped as object) } : shaped;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${xml.build({ [root]: element })}`;
}

export function queryReply(
  namespace: string,
  action: string,
  result: unknown,
  request: string = requestId(),
): WireReply {
  const body = toXmlDocument(
    `${action}Response`,
    { [`${action}Result`]: result ?? {}, ResponseMetadata: { RequestId: request } },
    namespace,
  );
  return {
    status: 200,
    headers: {
      'content-type': 'text/xml',
      'content-length': String(Buffer.byteLength(body)),
      'x-amzn-requestid': request,
    },
    body,
  };
}

export function queryErrorReply(
  namespace: string,
  err: ServiceError,
  request: string = requestId(),
): WireReply {
  const body = toXmlDocument(
    'ErrorResponse',
    { Error: { Type: err.type, Code: err.code, Message: err.message }, RequestId: request },
    namespace,
  );
  return {
    status: err.status,
    headers: {
      'content-type': 'text/xml',
      'content-length': String(Buffer.byteLength(body)),
      'x-amzn-requestid': request,
    },
    body,
  };
}

// ---------- shared input helpers ----------

export function str(input: JsonObject, key: string): string | undefined {
  const v = input[key];
  return typeof v === 'string' ? v : undefined;
}

export function required(input: JsonObject, key: string): string {
  const v = str(input, key);
  if (v === undefined || v === '') {
    throw new ServiceError(
      'ValidationException',
      `1 validation error detected: Value null at '${key}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return v;
}

export function strList(input: JsonObject, key: string): string[] {
  const v = input[key];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

export function int(input: JsonObject, key: string): number | undefined {
  const v = input[key];
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v !== '') return Number.parseInt(v, 10);
  return undefined;
}

/** Opaque pagination token over a list offset. */
export function pageOf<T>(items: T[], token: string | undefined, max: number): { page: T[]; next?: string } {
  const start = token ? Number.parseInt(Buffer.from(token, 'base64url').toString(), 10) || 0 : 0;
  const page = items.slice(start, start + max);
  const end = start + page.length;
  return { page, next: end < items.length ? Buffer.from(String(end)).toString('base64url') : undefined };
}
