import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../cli/exit-codes.js';
import { loadConfig } from '../../lib/config/load.js';
import { loadDeployDefinition } from '../../lib/workflow/definition.js';
import { createClock, installClock } from '../../standin/clock.js';
import { DEFAULT_NAMES, KNOWN_GOOD_TAG, provision } from '../../standin/provision.js';
import { type Scenario, scenarioSchema } from '../../standin/scenarios.js';
import { type Standin, startStandin } from '../../standin/server.js';
import type { TaskHandler, TaskHandlerResolver } from '../../standin/services/step-functions.js';
import { cli } from './harness.js';

/**
 * `ebship` end to end against the local stand-in: the real state machine and handlers, the CLI's
 * unchanged SDK clients reaching it through AWS_ENDPOINT_URL. Stage `local` is the stand-in's
 * naming (`ebship-local` table, `ebship-local-deploy` state machine). Times are simulated.
 */
const CONFIG = fileURLToPath(new URL('../fixtures/seeds/ebship.yml', import.meta.url));
const config = loadConfig(CONFIG);
const target = config.targets['antenna-prod'];
const RED_CAUSE = '100.0 % of the requests are failing with HTTP 5xx.';

// Each UpdateEnvironment takes the next behaviour: the deploys and rollbacks below, in order.
const scenario: Scenario = {
  name: 'cli-e2e',
  ...scenarioSchema.parse({
    description: 'ebship CLI end to end',
    target: 'antenna-prod',
    pushes: [{ tag: 'v1.3.0', expect: 'SUCCEEDED' }],
    environment: {
      onUpdate: [
        { durationSeconds: 240, result: 'deployed' },
        {
          durationSeconds: 240,
          result: 'deployed',
          health: [
            { afterSeconds: 0, color: 'Green' },
            { afterSeconds: 40, color: 'Red', healthStatus: 'Severe', causes: [RED_CAUSE] },
          ],
        },
        { durationSeconds: 180, result: 'deployed' },
        { durationSeconds: 180, result: 'deployed' },
      ],
    },
  }),
};

let standin: Standin;
let uninstallClock: () => void;
const saved = { ...process.env };
const run = (argv: string[]) =>
  cli([...argv, '--stage', 'local'], { env: { EBSHIP_CONFIG: CONFIG, AWS_REGION: 'us-east-1' }, sleepMs: 5 });

beforeAll(async () => {
  const clock = createClock(240);
  uninstallClock = installClock(clock);
  let resolver: TaskHandlerResolver | undefined;
  standin = await startStandin({
    clock,
    taskHandlers: (definition) => {
      if (!resolver) throw new Error('task handlers are not loaded yet');
      return resolver(definition);
    },
  });
  const provisioned = await provision(standin.world, standin.endpoint, config, scenario);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: standin.endpoint,
    AWS_ACCESS_KEY_ID: 'AKIDSTANDIN',
    AWS_SECRET_ACCESS_KEY: 'standin-not-a-secret',
    AWS_REGION: standin.world.region,
    EBSHIP_S3_PATH_STYLE: 'true',
    EBSHIP_CONFIG: CONFIG,
    TABLE_NAME: DEFAULT_NAMES.tableName,
    BUNDLE_BUCKET: DEFAULT_NAMES.bundleBucket,
    ALERT_TOPIC_ARN: provisioned.alertTopicArn,
    MIGRATION_DOCUMENT_NAME: DEFAULT_NAMES.migrationDocumentName,
  });
  delete process.env.AWS_PROFILE;
  // The handlers create their SDK clients on import: only after the endpoint is set.
  const registry = (await import('../../functions/registry.js')) as {
    localTaskHandlers: (definition: unknown) => Record<string, TaskHandler>;
  };
  resolver = (definition) => registry.localTaskHandlers(definition);
  standin.world.sfn.createStateMachine('ebship-local-deploy', JSON.stringify(loadDeployDefinition()));
  if (!target) throw new Error('antenna-prod is missing from the seed config');
  standin.world.ecr.push(target.source.repository, 'v1.3.0');
  standin.world.ecr.push(target.source.repository, 'v1.4.0');
});

afterAll(async () => {
  await standin?.close();
  uninstallClock?.();
  process.env = saved;
});

describe('ebship against the local stand-in', () => {
  it('deploys a healthy image with --follow and exits 0', async () => {
    // Act
    const r = await run(['deploy', 'antenna-prod', '--tag', 'v1.3.0', '--follow']);

    // Assert
    expect(r.stderr).toBe('');
    expect(r.code).toBe(ExitCode.Ok);
    expect(r.stdout).toMatch(/done\s+DeployVersion\s+v1\.2\.0-[0-9a-f]{12} -> v1\.3\.0-[0-9a-f]{12}/);
    // The look that calls it healthy: CheckHealth, or CheckHealthAfterWait in the event-driven loop.
    expect(r.stdout).toMatch(/done\s+CheckHealth(AfterWait)?\s+Green.*verdict healthy/);
    expect(r.stdout).toMatch(/done\s+CheckMigration\s+migration check passed/);
    // The wait refusing to wait after the healthy look routes the verdict: not an error to show.
    expect(r.stdout).not.toContain('WatchEnded');
    expect(r.stdout).toContain('Deployed (SUCCEEDED)');
    expect(standin.world.eb.snapshot('antenna-prod')?.versionLabel).toMatch(/^v1\.3\.0-/);
  });

  it('rolls a red deploy back and exits 3', async () => {
    // Act
    const r = await run(['deploy', 'antenna-prod', '--tag', 'v1.4.0', '--follow', '--json']);

    // Assert
    expect(r.code).toBe(ExitCode.RolledBack);
    const out = r.json<{
      outcome: string;
      error: string;
      health: { color: string; verdict: string; causes: string[] };
    }>();
    expect(out).toMatchObject({ outcome: 'rolled-back', error: 'DeploymentRolledBack' });
    expect(out.health).toMatchObject({ color: 'Red', verdict: 'rollback' });
    expect(out.health.causes.join(' ')).toContain(RED_CAUSE);
    expect(standin.world.eb.snapshot('antenna-prod')?.versionLabel).toMatch(/^v1\.3\.0-/);
  });

  it('shows status: v1.3.0 deployed and last good, nothing running', async () => {
    // Act
    const r = await run(['status', 'antenna-prod', '--json']);

    // Assert
    expect(r.code).toBe(ExitCode.Ok);
    const out = r.json<{
      targets: {
        deployed: { versionLabel: string };
        lastGood: { versionLabel: string };
        running?: unknown;
      }[];
    }>();
    expect(out.targets[0]?.deployed.versionLabel).toMatch(/^v1\.3\.0-/);
    expect(out.targets[0]?.lastGood.versionLabel).toMatch(/^v1\.3\.0-/);
    expect(out.targets[0]?.running).toBeUndefined();
  });

  it('lists both deployments in history, newest first, with the outcome', async () => {
    // Act
    const r = await run(['history', 'antenna-prod', '--json']);

    // Assert
    expect(r.code).toBe(ExitCode.Ok);
    const { entries } = r.json<{ entries: { toVersion: string; outcome: string; trigger: string }[] }>();
    expect(entries.map((e) => [e.toVersion.slice(0, 6), e.outcome, e.trigger])).toEqual([
      ['v1.4.0', 'ROLLED_BACK', 'manual'],
      ['v1.3.0', 'SUCCEEDED', 'manual'],
    ]);
  });

  it('rolls back by hand to the version before, verified, and exits 0', async () => {
    // Arrange
    const before = (await run(['history', 'antenna-prod', '--json'])).json<{
      entries: { fromVersion: string }[];
    }>();
    const label = before.entries[1]?.fromVersion ?? '';
    expect(label).toMatch(new RegExp(`^${KNOWN_GOOD_TAG.replaceAll('.', '\\.')}-`));

    // Act
    const r = await run(['rollback', 'antenna-prod', '--to', label, '--follow']);

    // Assert
    expect(r.code).toBe(ExitCode.Ok);
    // The look that calls it healthy: CheckHealth, or CheckHealthAfterWait in the event-driven loop.
    expect(r.stdout).toMatch(/done\s+CheckHealth(AfterWait)?\s+Green.*verdict healthy/);
    expect(standin.world.eb.snapshot('antenna-prod')?.versionLabel).toBe(label);
    const after = await run(['history', 'antenna-prod', '--limit', '1', '--json']);
    expect(after.json()).toMatchObject({
      entries: [{ trigger: 'rollback', toVersion: label, outcome: 'SUCCEEDED' }],
    });
  });
});
