import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ValueFormat } from '../../../lib/config/schema.js';
import { checkSecretValue, checkValue, type ValueContext } from '../../../lib/preflight/value-checks.js';

const psycopg3: ValueContext = { database: { schemes: ['postgresql+psycopg'] } };
const encrypted: ValueContext = { cache: { encryptedInTransit: true } };
const ids = (problems: { ruleId: string }[]) => problems.map((p) => p.ruleId);

describe('checkValue', () => {
  it.each([
    ['postgres://u:p@db.internal:5432/app', psycopg3, ['database-url-scheme']],
    ['postgresql+psycopg://u:p@db.internal:5432/app', psycopg3, []],
    ['postgres://u:p@db.internal:5432/app', {}, []],
    ['db.internal:5432/app', psycopg3, ['database-url-invalid']],
    ['postgresql+psycopg:///app?host=/run/postgresql', psycopg3, []],
    ['postgresql+psycopg://u:p@/app', psycopg3, ['database-url-invalid']],
  ] as const)('database-url %s', (value, ctx, expected) => {
    expect(ids(checkValue(value, 'database-url', 'DATABASE_URL', ctx))).toEqual(expected);
  });

  it.each([
    ['redis://cache.internal:6379/0', encrypted, ['redis-url-tls']],
    ['rediss://cache.internal:6379/0', encrypted, ['redis-url-cert-option']],
    ['rediss://cache.internal:6379/0?ssl_cert_reqs=bogus', encrypted, ['redis-url-cert-option']],
    ['rediss://cache.internal:6379/0?ssl_cert_reqs=none', encrypted, []],
    ['rediss://:token@cache.internal:6379/0?ssl_cert_reqs=CERT_REQUIRED', encrypted, []],
    ['redis://cache.internal:6379/0', {}, []],
    ['redis://cache.internal:6379/0', { cache: { encryptedInTransit: false } }, []],
    ['http://cache.internal:6379/0', encrypted, ['redis-url-invalid']],
    ['rediss:///0?ssl_cert_reqs=none', encrypted, ['redis-url-invalid']],
    ['redis:///0', {}, ['redis-url-invalid']],
  ] as const)('redis-url %s', (value, ctx, expected) => {
    expect(ids(checkValue(value, 'redis-url', 'CELERY_BROKER_URL', ctx))).toEqual(expected);
  });

  it.each([
    ['https://0123abcd@o0.ingest.sentry.io/0', []],
    ['o0.ingest.sentry.io/0', ['url-invalid']],
    ['https://', ['url-invalid']],
    // Parse as URLs, but name no host: a client would connect nowhere.
    ['file:///srv/sentry-dsn', ['url-invalid']],
    ['sentry:///0', ['url-invalid']],
  ] as const)('url %s', (value, expected) => {
    expect(ids(checkValue(value, 'url', 'SENTRY_DSN', {}))).toEqual(expected);
  });

  // Celery (kombu) accepts these ssl_cert_reqs values on a rediss:// broker URL.
  it.each(['none', 'optional', 'required', 'cert_none', 'cert_optional', 'CERT_REQUIRED'])(
    'accepts ssl_cert_reqs=%s',
    (reqs) => {
      const url = `rediss://cache.internal:6379/0?ssl_cert_reqs=${reqs}`;
      expect(ids(checkValue(url, 'redis-url', 'CELERY_BROKER_URL', encrypted))).toEqual([]);
    },
  );

  it('says whether ssl_cert_reqs is missing or has an unknown value', () => {
    const [missing] = checkValue('rediss://c:6379/0', 'redis-url', 'R', encrypted);
    const [unknown] = checkValue('rediss://c:6379/0?ssl_cert_reqs=maybe', 'redis-url', 'R', encrypted);
    expect(missing?.message).toContain('URL without ssl_cert_reqs');
    expect(unknown?.message).toContain('URL with an unknown value for ssl_cert_reqs');
  });

  it('names a known driver scheme so the user sees what to change', () => {
    const [problem] = checkValue('postgres://u:p@db:5432/app', 'database-url', 'DATABASE_URL', psycopg3);
    expect(problem?.message).toContain('"postgres://"');
    expect(problem?.message).toContain('postgresql+psycopg://');
  });

  it('does not quote an unknown scheme, which may be part of a secret', () => {
    const [problem] = checkValue('hunter2x://u@db:5432/app', 'database-url', 'DATABASE_URL', psycopg3);
    expect(problem?.ruleId).toBe('database-url-scheme');
    expect(problem?.message).not.toContain('hunter2x');
  });
});

describe('checkSecretValue', () => {
  const appConfig = {
    format: 'non-empty' as const,
    keys: {
      REDIS_URL: { optional: false, format: 'redis-url' as const },
      OIDC_CLIENT_SECRET: { optional: true, format: 'non-empty' as const },
      OIDC_CLIENT_ID: { optional: false, format: 'non-empty' as const },
    },
  };

  it('reports seed 000: an empty OIDC secret is a warning, the rest is fine', () => {
    const value = JSON.stringify({
      REDIS_URL: 'rediss://c:6379/0?ssl_cert_reqs=required',
      OIDC_CLIENT_SECRET: '',
      OIDC_CLIENT_ID: 'plane',
    });
    const problems = checkSecretValue(value, appConfig, 'APP_CONFIG', encrypted);
    expect(problems).toEqual([
      expect.objectContaining({ ruleId: 'secret-optional-key-empty', severity: 'warning' }),
    ]);
    expect(problems[0]?.message).toContain('OIDC_CLIENT_SECRET');
  });

  it('reports missing, empty and badly typed required keys, each by name', () => {
    const value = JSON.stringify({ REDIS_URL: { host: 'c' }, OIDC_CLIENT_SECRET: 'x' });
    const problems = checkSecretValue(value, appConfig, 'APP_CONFIG', encrypted);
    expect(ids(problems)).toEqual(['secret-key-not-string', 'secret-key-missing']);
    expect(problems[1]?.message).toContain('OIDC_CLIENT_ID');
  });

  it.each([
    ['""', ''],
    ['"  "', 'blank'],
    ['null', 'null'],
  ])('stops the deploy when a required key is empty (%s): an error, not a warning', (json) => {
    const value = `{"REDIS_URL": "rediss://c:6379/0?ssl_cert_reqs=required", "OIDC_CLIENT_ID": ${json}}`;
    const problems = checkSecretValue(value, appConfig, 'APP_CONFIG', encrypted);
    expect(problems).toEqual([expect.objectContaining({ ruleId: 'secret-key-empty', severity: 'error' })]);
    expect(problems[0]?.message).toBe('key "OIDC_CLIENT_ID" of APP_CONFIG is empty');
    expect(problems[0]?.fix).toContain('optional: true');
  });

  it('checks the format of each key', () => {
    const value = JSON.stringify({ REDIS_URL: 'redis://c:6379/0', OIDC_CLIENT_ID: 'plane' });
    expect(ids(checkSecretValue(value, appConfig, 'APP_CONFIG', encrypted))).toEqual(['redis-url-tls']);
  });

  it('does not take a key from the prototype', () => {
    const spec = {
      format: 'non-empty' as const,
      keys: { constructor: { optional: false, format: 'non-empty' as const } },
    };
    expect(ids(checkSecretValue('{}', spec, 'S', {}))).toEqual(['secret-key-missing']);
  });

  it.each([
    ['', 'secret-empty'],
    ['   \n', 'secret-empty'],
    ['not json', 'secret-not-json'],
    ['["a"]', 'secret-not-json'],
    ['null', 'secret-not-json'],
  ])('rejects %j for a JSON secret', (value, ruleId) => {
    expect(ids(checkSecretValue(value, appConfig, 'APP_CONFIG', {}))).toEqual([ruleId]);
  });

  it('checks a plain-string secret against its format', () => {
    const spec = { format: 'database-url' as const, keys: {} };
    expect(ids(checkSecretValue('postgres://u:p@db:5432/a', spec, 'DATABASE_URL', psycopg3))).toEqual([
      'database-url-scheme',
    ]);
  });
});

describe('no generated value ever appears in a finding', () => {
  // Values long enough that finding them in a message cannot be a coincidence of common words.
  const secretish = fc.string({ minLength: 12, maxLength: 60 }).filter((s) => s.trim().length >= 12);
  const formats = fc.constantFrom<ValueFormat>('database-url', 'redis-url', 'url', 'non-empty');
  const contexts = fc.constantFrom<ValueContext>({}, psycopg3, encrypted, { ...psycopg3, ...encrypted });
  const urlLike = fc
    .tuple(
      fc.constantFrom('postgres', 'postgresql+psycopg', 'redis', 'rediss', 'https', 'x-unknown', ''),
      secretish,
      fc.constantFrom('db.internal:5432/app', 'cache.internal:6379/0', '', '/x?ssl_cert_reqs=none'),
    )
    .map(([scheme, password, rest]) => ({ value: `${scheme}://user:${password}@${rest}`, password }));

  const leaks = (problems: { message: string; fix: string }[], needle: string) =>
    problems.some((p) => p.message.includes(needle) || p.fix.includes(needle));

  it('for arbitrary values of every format', () => {
    fc.assert(
      fc.property(secretish, formats, contexts, (value, format, ctx) => {
        expect(leaks(checkValue(value, format, 'VAR', ctx), value)).toBe(false);
        expect(leaks(checkSecretValue(value, { format, keys: {} }, 'VAR', ctx), value)).toBe(false);
      }),
    );
  });

  it('for URL-shaped values, whose password must never be quoted', () => {
    fc.assert(
      fc.property(urlLike, formats, contexts, ({ value, password }, format, ctx) => {
        const problems = checkValue(value, format, 'VAR', ctx);
        expect(leaks(problems, password)).toBe(false);
      }),
    );
  });

  it('for JSON secrets with bad keys, and for text that is not JSON', () => {
    fc.assert(
      fc.property(secretish, secretish, contexts, (secret, other, ctx) => {
        const spec = {
          format: 'non-empty' as const,
          keys: {
            A: { optional: false, format: 'redis-url' as const },
            B: { optional: false, format: 'database-url' as const },
            C: { optional: true, format: 'url' as const },
          },
        };
        for (const value of [JSON.stringify({ A: secret, B: other, C: secret }), `${secret}{`, secret]) {
          expect(leaks(checkSecretValue(value, spec, 'APP_CONFIG', ctx), secret)).toBe(false);
        }
      }),
    );
  });
});
