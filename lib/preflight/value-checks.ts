import type { SecretSpec, Target, ValueFormat } from '../config/schema.js';
import type { Problem } from './finding.js';

/**
 * Pure checks on a value that may be secret: a DATABASE_URL's scheme, a Redis URL's TLS, emptiness,
 * the keys of a JSON secret. The value goes in; only names come out. No message here is built
 * from the value, nor from an error raised while parsing it (JSON.parse quotes its input).
 */

/** What the checks need from a target: the database driver's schemes and the cache's TLS. */
export type ValueContext = Pick<Target, 'database' | 'cache'>;

// Schemes that are safe to print: they are driver names, not data. Anything else is described, not
// quoted, because a value that is not a URL at all ("hunter2:x") would otherwise leak its first part.
const PRINTABLE_SCHEMES = new Set([
  'postgres',
  'postgresql',
  'postgresql+psycopg',
  'postgresql+psycopg2',
  'postgresql+asyncpg',
  'postgis',
  'pgsql',
  'mysql',
  'mysql2',
  'mariadb',
  'sqlite',
  'oracle',
  'mssql',
  'redis',
  'rediss',
  'redis+socket',
  'unix',
  'amqp',
  'amqps',
  'sqs',
  'http',
  'https',
]);

// Celery (kombu) accepts these for ssl_cert_reqs on a rediss:// URL, and refuses a rediss:// broker
// URL without it: "A rediss:// URL must have parameter ssl_cert_reqs".
const CERT_REQS = new Set(['none', 'optional', 'required', 'cert_none', 'cert_optional', 'cert_required']);

export function isBlank(value: string): boolean {
  return value.trim().length === 0;
}

function schemeOf(value: string): string | undefined {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(value.trim());
  return match?.[1]?.toLowerCase();
}

function describeScheme(scheme: string | undefined): string {
  if (scheme === undefined) return 'no scheme';
  return PRINTABLE_SCHEMES.has(scheme) ? `"${scheme}://"` : 'an unrecognised scheme';
}

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value.trim());
  } catch {
    return undefined;
  }
}

function checkDatabaseUrl(value: string, subject: string, ctx: ValueContext): Problem[] {
  const scheme = schemeOf(value);
  const url = parseUrl(value);
  // A unix-socket URL (postgresql:///db?host=/run/postgresql) has no host; anything else needs one.
  if (scheme === undefined || url === undefined || (url.hostname === '' && !url.searchParams.has('host'))) {
    return [
      {
        ruleId: 'database-url-invalid',
        severity: 'error',
        message: `${subject} is not a database URL (expected scheme://user:password@host:port/name)`,
        fix: 'Store the full URL; percent-encode reserved characters (@ : / ? # %) in the user name and password.',
      },
    ];
  }
  return checkDatabaseScheme(scheme, subject, ctx);
}

/** The scheme alone, for URLs assembled in scripts (`postgres://${DB_USER}:...`) that do not parse. */
export function checkDatabaseScheme(scheme: string, subject: string, ctx: ValueContext): Problem[] {
  const schemes = ctx.database?.schemes;
  if (schemes && !schemes.includes(scheme.toLowerCase())) {
    const wanted = schemes.map((s) => `${s}://`).join(' or ');
    return [
      {
        ruleId: 'database-url-scheme',
        severity: 'error',
        message: `${subject} uses ${describeScheme(scheme)}, but the target's database driver needs ${wanted}`,
        fix: `Rewrite the URL's scheme to ${wanted} (psycopg 3 with SQLAlchemy-style URLs needs postgresql+psycopg://), or list the scheme under database.schemes in ebship.yml if the driver accepts it.`,
      },
    ];
  }
  return [];
}

function checkRedisUrl(value: string, subject: string, ctx: ValueContext): Problem[] {
  const scheme = schemeOf(value);
  const url = parseUrl(value);
  if (url === undefined || (scheme !== 'redis' && scheme !== 'rediss') || url.hostname === '') {
    return [
      {
        ruleId: 'redis-url-invalid',
        severity: 'error',
        message: `${subject} is not a Redis URL (expected rediss://host:port/db or redis://host:port/db)`,
        fix: 'Store the full URL, e.g. rediss://master.example.cache.amazonaws.com:6379/0?ssl_cert_reqs=required.',
      },
    ];
  }
  if (!ctx.cache?.encryptedInTransit) return [];
  if (scheme !== 'rediss') {
    return [
      {
        ruleId: 'redis-url-tls',
        severity: 'error',
        message: `${subject} uses "redis://", but the target's ElastiCache encrypts in transit: connections without TLS are refused`,
        fix: 'Use rediss:// with ?ssl_cert_reqs=required (or none, as the seed did, if the certificate cannot be verified).',
      },
    ];
  }
  const reqs = url.searchParams.get('ssl_cert_reqs');
  if (reqs === null || !CERT_REQS.has(reqs.toLowerCase())) {
    return [
      {
        ruleId: 'redis-url-cert-option',
        severity: 'error',
        message: `${subject} is a rediss:// URL ${reqs === null ? 'without' : 'with an unknown value for'} ssl_cert_reqs: Celery refuses it and redis-py fails with SSLCertVerificationError`,
        fix: 'Add ?ssl_cert_reqs=required (or optional / none) to the URL.',
      },
    ];
  }
  return [];
}

function checkUrl(value: string, subject: string): Problem[] {
  const url = parseUrl(value);
  if (url === undefined || schemeOf(value) === undefined || url.hostname === '') {
    return [
      {
        ruleId: 'url-invalid',
        severity: 'error',
        message: `${subject} is not an absolute URL with a host`,
        fix: 'Store the full URL, e.g. https://host/path; percent-encode reserved characters.',
      },
    ];
  }
  return [];
}

/**
 * Checks one value against its format. Emptiness is the caller's business (a required secret and an
 * optional key differ); a blank value passed here is reported as not matching its format.
 */
export function checkValue(
  value: string,
  format: ValueFormat,
  subject: string,
  ctx: ValueContext,
): Problem[] {
  switch (format) {
    case 'database-url':
      return checkDatabaseUrl(value, subject, ctx);
    case 'redis-url':
      return checkRedisUrl(value, subject, ctx);
    case 'url':
      return checkUrl(value, subject);
    case 'non-empty':
      return [];
  }
}

/**
 * Everything preflight knows to check on a secret's string value, given its spec in ebship.yml:
 * emptiness, JSON keys (required and optional) and formats. `subject` names the secret
 * (e.g. `DATABASE_URL (secret treasury-plane/database-url)`), never its value.
 */
export function checkSecretValue(
  value: string,
  spec: Pick<SecretSpec, 'format' | 'keys'>,
  subject: string,
  ctx: ValueContext,
): Problem[] {
  if (isBlank(value)) {
    return [
      {
        ruleId: 'secret-empty',
        severity: 'error',
        message: `${subject} is empty`,
        fix: 'Put the value in Secrets Manager (aws secretsmanager put-secret-value) before deploying.',
      },
    ];
  }
  const keys = Object.entries(spec.keys);
  if (keys.length === 0) return checkValue(value, spec.format, subject, ctx);

  const json = parseJsonObject(value);
  if (json === undefined) {
    return [
      {
        ruleId: 'secret-not-json',
        severity: 'error',
        message: `${subject} must be a JSON object with the keys ${keys.map(([k]) => k).join(', ')}, but it does not parse as one`,
        fix: 'Store the secret as key/value pairs (a JSON object), or remove `keys` from its entry in ebship.yml.',
      },
    ];
  }
  const problems: Problem[] = [];
  for (const [key, keySpec] of keys) {
    // Own keys only: a key named "constructor" must not find Object.prototype's.
    const raw = Object.hasOwn(json, key) ? json[key] : undefined;
    const keySubject = `key "${key}" of ${subject}`;
    if (raw === undefined) {
      if (!keySpec.optional)
        problems.push({
          ruleId: 'secret-key-missing',
          severity: 'error',
          message: `${keySubject} is missing`,
          fix: `Add "${key}" to the secret's JSON, or mark it optional: true in ebship.yml.`,
        });
      continue;
    }
    if (raw !== null && typeof raw === 'object') {
      problems.push({
        ruleId: 'secret-key-not-string',
        severity: 'error',
        message: `${keySubject} is a JSON ${Array.isArray(raw) ? 'array' : 'object'}, not a string`,
        fix: `Store "${key}" as a string.`,
      });
      continue;
    }
    const text = raw === null ? '' : String(raw);
    if (isBlank(text)) {
      problems.push(
        keySpec.optional
          ? {
              ruleId: 'secret-optional-key-empty',
              severity: 'warning',
              message: `${keySubject} is empty; it is optional, so the deploy goes on, but the feature that needs it will fail`,
              fix: `Fill in "${key}", or remove it from the secret if the app does not use it.`,
            }
          : {
              ruleId: 'secret-key-empty',
              severity: 'error',
              message: `${keySubject} is empty`,
              fix: `Fill in "${key}" in Secrets Manager, or mark it optional: true in ebship.yml.`,
            },
      );
      continue;
    }
    problems.push(...checkValue(text, keySpec.format, keySubject, ctx));
  }
  return problems;
}

function parseJsonObject(value: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(value);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>;
    }
  } catch {
    // The parser's message quotes the value: never surface it.
  }
  return undefined;
}
