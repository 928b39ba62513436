import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lib/config/load.js';
import { lintDirectory } from '../../../lib/preflight/directory.js';
import { hasErrors } from '../../../lib/preflight/format.js';

/**
 * The two real deployments in /work/shared/seeds/, rebuilt from their text as bundle directories,
 * linted the way `ebship lint <dir>` and the BuildBundle step do. Each expected rule id is a problem
 * the seed's authors found by hand after a failed deploy.
 */
const seeds = new URL('../../fixtures/seeds/', import.meta.url).pathname;
const config = loadConfig(join(seeds, 'ebship.yml'));

const summary = (findings: { ruleId: string; file?: string; line?: number }[]) =>
  findings.map((f) => `${f.ruleId} ${f.file ?? '-'}${f.line === undefined ? '' : `:${f.line}`}`).sort();

describe('seed 000: treasury-plane on the Python platform', () => {
  it('finds every problem the fix plan lists, where it lists them', async () => {
    // Act
    const { files, findings } = await lintDirectory(
      join(seeds, '000-treasury-plane'),
      config.targets['treasury-plane-dev'],
    );

    // Assert
    expect(files).toEqual(['.ebextensions/02-python.config', '.ebextensions/04-secrets.config', 'Procfile']);
    expect(summary(findings)).toEqual(
      [
        // 1. DATABASE_URL format wrong: psycopg 3 needs postgresql+psycopg:// (04-secrets.config:34)
        'database-url-scheme .ebextensions/04-secrets.config:34',
        // 2. No migration command
        'migrate-missing -',
        // 4. Duplicate WSGIPath config (02-python.config:8-11)
        'wsgipath-with-procfile .ebextensions/02-python.config:9',
        // 5. Secrets script fails silently
        'script-without-set-e .ebextensions/04-secrets.config:15',
        // 6. Requirements install race condition (02-python.config:14-16)
        'pip-install-in-deploy .ebextensions/02-python.config:14',
        // 8. Gunicorn logs not going to CloudWatch
        'gunicorn-logs-to-file Procfile:1',
        // 9. No startup health verification: EB checks "/", the app serves /api/health/
        'health-check-path-missing -',
      ].sort(),
    );
    expect(hasErrors(findings)).toBe(true);
  });

  it("finds the two bugs left in the fix plan's own files", async () => {
    // Act
    const { findings } = await lintDirectory(
      join(seeds, '000-treasury-plane-fix-plan'),
      config.targets['treasury-plane-dev'],
    );

    // Assert: the AL1 hook path never runs on AL2/AL2023, and `local result=$(aws ...)` makes `$?` always 0.
    expect(summary(findings)).toEqual(
      [
        'legacy-platform-hook .ebextensions/00-validate.config:3',
        'script-masked-exit-status .ebextensions/04-secrets.config:17',
        'health-check-path-missing -',
      ].sort(),
    );
  });
});

describe('seed 004: Antenna on the ECS platform', () => {
  it('finds the plain-text secrets, the TLS-less Redis URLs, the ignored migration and the unpinned images', async () => {
    // Act
    const { files, findings } = await lintDirectory(
      join(seeds, '004-antenna'),
      config.targets['antenna-prod'],
    );

    // Assert
    expect(files).toEqual(['.ebextensions/00_setup.config', 'Dockerrun.aws.json']);
    const setup = '.ebextensions/00_setup.config';
    expect(summary(findings)).toEqual(
      [
        // "all required environment variables, including secrets, are defined inside 00_setup.config"
        `plaintext-secret ${setup}:6`, // DJANGO_SECRET_KEY
        `plaintext-secret ${setup}:12`, // DJANGO_AWS_ACCESS_KEY_ID
        `plaintext-secret ${setup}:13`, // DJANGO_AWS_SECRET_ACCESS_KEY
        `plaintext-secret ${setup}:18`, // POSTGRES_PASSWORD
        `plaintext-secret ${setup}:21`, // DATABASE_URL
        `plaintext-secret ${setup}:22`, // REDIS_URL
        `plaintext-secret ${setup}:23`, // CELERY_BROKER_URL
        `plaintext-secret ${setup}:24`, // SENDGRID_API_KEY
        `plaintext-secret ${setup}:25`, // SENTRY_DSN
        // "Redis SSL errors: ElastiCache requires TLS"
        `redis-url-tls ${setup}:22`,
        `redis-url-tls ${setup}:23`,
        // "Early migrations failure ... set to ignore failures and retry"
        `migrate-failure-ignored ${setup}:30`,
        `migrate-before-containers ${setup}:30`,
        // Step 2 "Update the tag": every container runs whatever the tag points at
        'image-not-pinned Dockerrun.aws.json:5',
        'image-not-pinned Dockerrun.aws.json:13',
        'image-not-pinned Dockerrun.aws.json:20',
        'image-not-pinned Dockerrun.aws.json:27',
        'image-not-pinned Dockerrun.aws.json:35',
      ].sort(),
    );
  });

  it('does not quote any of the plain-text secrets it reports', async () => {
    const { findings } = await lintDirectory(join(seeds, '004-antenna'), config.targets['antenna-prod']);
    const text = JSON.stringify(findings);
    for (const value of [
      'fake-5u9#q2k',
      'AKIAIOSFODNN7EXAMPLE',
      'wJalrXUtnFEMI',
      'fake-Pg-passw0rd',
      'SG.fake',
      '0123456789abcdef',
    ]) {
      expect(text).not.toContain(value);
    }
  });
});

describe('lintDirectory', () => {
  it('reports a directory that cannot be read', async () => {
    const { files, findings } = await lintDirectory(join(seeds, 'no-such-dir'));
    expect(files).toEqual([]);
    expect(findings.map((f) => [f.ruleId, f.severity])).toEqual([['directory-unreadable', 'error']]);
  });

  it('warns when there is nothing to lint', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'ebship-lint-'));
    try {
      const { findings } = await lintDirectory(empty);
      expect(findings.map((f) => f.ruleId)).toEqual(['no-bundle-files']);
      expect(hasErrors(findings)).toBe(false);
    } finally {
      await rm(empty, { recursive: true });
    }
  });
});
