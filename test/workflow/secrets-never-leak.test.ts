// The harness must load first: it points the DynamoDB client at the in-process dynalite.

import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { listZip } from '../../lib/bundle/zip.js';
import { logger } from '../../lib/logger.js';
import { behaviours, digest, FakeAws, runDeploy, s3, startDynamo } from './harness.js';

/**
 * A canary planted in every secret value must never appear in what people and AWS keep:
 * log lines, the execution's state (inputs and outputs of every step, kept 90 days in history),
 * the alert, or the bundle uploaded to S3.
 */
const CANARY = 'CANARY-7f3e9a-do-not-leak';
const pushEvent = JSON.parse(readFileSync('test/fixtures/events/ecr-push.json', 'utf8'));
const push = (tag: string, n: number) => ({
  ...pushEvent,
  detail: { ...pushEvent.detail, 'image-tag': tag, 'image-digest': digest(n) },
});

let stopDynamo: () => Promise<void>;
let logged: string[];

beforeEach(async () => {
  stopDynamo = await startDynamo();
  logged = [];
  logger.setLogLevel('DEBUG');
  // Powertools writes to process.stdout through its own Console; anything else would use the global console.
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      logged.push(String(chunk));
      return true;
    });
  }
  for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      logged.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
    });
  }
});
afterEach(async () => {
  vi.restoreAllMocks();
  logger.setLogLevel('SILENT');
  await stopDynamo();
});

function plantCanary(aws: FakeAws, broken: boolean): void {
  aws.withGoodSecrets();
  aws.images = [
    { repository: 'antenna-backend', tag: 'v10', digest: digest(10), pushedAt: '2026-11-23T09:00:00Z' },
    { repository: 'antenna-backend', tag: 'v11', digest: digest(11), pushedAt: '2026-11-23T09:30:00Z' },
  ];
  aws.secrets['antenna/prod/django-secret-key'] = `${CANARY}-django-key-0123456789`;
  aws.secrets['antenna/prod/sendgrid-api-key'] = `SG.${CANARY}`;
  // A wrong scheme and a missing TLS flag: findings must name the problem, not quote the value.
  aws.secrets['antenna/prod/database-url'] = broken
    ? `mysql://user:${CANARY}@db:3306/x`
    : `postgres://user:${CANARY}@db:5432/antenna`;
  aws.secrets['antenna/prod/redis-url'] = broken
    ? `redis://:${CANARY}@cache:6379/0`
    : `rediss://:${CANARY}@cache:6379/0?ssl_cert_reqs=none`;
}

/**
 * Everything kept, as text. Bundles are unzipped first: searching the deflated bytes of a zip could
 * never find the canary, whatever the bundle held.
 */
function everythingKept(aws: FakeAws, run: Awaited<ReturnType<typeof runDeploy>>): string {
  // Every object written: bundles unzipped, anything else as it is.
  const bundles = s3.keys().map((key) => {
    const body = s3.object(key)?.body ?? Buffer.alloc(0);
    return key.endsWith('.zip') ? Object.values(listZip(body)).join('\n') : body.toString('utf8');
  });
  return [JSON.stringify(run.events), JSON.stringify(aws.published), logged.join(''), ...bundles].join('\n');
}

describe('secret values', () => {
  it('never leave Secrets Manager on a successful deploy and a rollback', async () => {
    const aws = new FakeAws();
    plantCanary(aws, false);
    const first = await runDeploy(push('v10', 10));
    aws.behaviourFor['v11-0b0b0b0b0b0b'] = behaviours.redAfterReady;
    const second = await runDeploy(push('v11', 11));

    expect(first.status).toBe('SUCCEEDED');
    expect(second.error).toBe('DeploymentRolledBack');
    expect(logged.length).toBeGreaterThan(0);
    expect(s3.keys().filter((key) => key.endsWith('.zip'))).toHaveLength(2);
    expect(everythingKept(aws, first) + everythingKept(aws, second)).not.toContain(CANARY);
  });

  it('never leave Secrets Manager when the secrets are invalid and the deploy stops', async () => {
    const aws = new FakeAws();
    plantCanary(aws, true);
    const run = await runDeploy(push('v10', 10));

    expect(run.error).toBe('DeploymentFailed');
    expect(aws.published.at(-1)?.message).toContain('DATABASE_URL');
    expect(everythingKept(aws, run)).not.toContain(CANARY);
  });
});

describe('secret values the application prints', () => {
  // The check runs in the app container: Django prints its settings when a migration is missing.
  it('are masked in execution state and the alert when the migration check quotes them', async () => {
    const aws = new FakeAws();
    plantCanary(aws, false);
    await runDeploy(push('v10', 10));
    aws.migration = {
      status: 'Failed',
      code: 3,
      stdout: [
        '\u001b[31mYou have 1 unapplied migration(s).\u001b[0m',
        `DATABASE_URL=postgres://antenna:${CANARY}@db:5432/antenna`,
        `{"SECRET_KEY": "${CANARY}-django"}`,
        `SENDGRID_API_KEY=SG.${CANARY}`,
        'ebship-check-exit=1',
      ].join('\n'),
    };

    const run = await runDeploy(push('v11', 11));

    expect(run.error).toBe('DeploymentRolledBack');
    const alert = aws.published.at(-1)?.message ?? '';
    expect(alert).toContain('unapplied migration');
    expect(alert).toContain('DATABASE_URL=postgres://antenna:***@db:5432/antenna');
    expect(alert).not.toContain('\u001b');
    expect(everythingKept(aws, run)).not.toContain(CANARY);
  });
});

describe('the canary search', () => {
  it('reads inside the bundles, so a secret rendered into one would be found', async () => {
    const aws = new FakeAws();
    plantCanary(aws, false);
    const run = await runDeploy(push('v10', 10));
    const zipped = s3.object(s3.keys().find((key) => key.endsWith('.zip')) ?? '')?.body ?? Buffer.alloc(0);

    expect(everythingKept(aws, run)).toContain('AWSEBDockerrunVersion');
    expect(Buffer.from(zipped).toString('latin1')).not.toContain('AWSEBDockerrunVersion');
  });
});
