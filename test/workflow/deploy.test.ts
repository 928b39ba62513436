// The harness must load first: it points the DynamoDB client at the in-process dynalite.

import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateApplicationVersionCommand, UpdateEnvironmentCommand } from '@aws-sdk/client-elastic-beanstalk';
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { getLastGood, getLock, listHistory, releaseLock } from '../../lib/store/deployments.js';
import { behaviours, digest, FakeAws, mocks, runDeploy, startDynamo, TABLE } from './harness.js';

const ENV = { application: 'antenna', environment: 'antenna-prod' };
const db = DynamoDBDocumentClient.from(
  new DynamoDBClient({ endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB }),
);
const pushEvent = JSON.parse(readFileSync('test/fixtures/events/ecr-push.json', 'utf8'));

function push(tag: string, n: number) {
  return { ...pushEvent, detail: { ...pushEvent.detail, 'image-tag': tag, 'image-digest': digest(n) } };
}
const label = (tag: string, n: number) => `${tag}-${digest(n).slice(7, 19)}`;

let aws: FakeAws;
let stopDynamo: () => Promise<void>;

beforeEach(async () => {
  stopDynamo = await startDynamo();
  aws = new FakeAws().withGoodSecrets();
  aws.images = [
    { repository: 'antenna-backend', tag: 'v10', digest: digest(10), pushedAt: '2026-11-23T09:00:00Z' },
    { repository: 'antenna-backend', tag: 'v11', digest: digest(11), pushedAt: '2026-11-23T09:30:00Z' },
  ];
});
afterEach(async () => stopDynamo());

/** A first good deploy of v10, so that a later failure has a version to roll back to. */
async function deployV10(): Promise<void> {
  const first = await runDeploy(push('v10', 10));
  expect(first.status).toBe('SUCCEEDED');
  aws.published = [];
}

function lastAlert() {
  const alert = aws.published.at(-1);
  if (!alert) throw new Error('no alert was published');
  return alert;
}

describe('the deploy workflow', () => {
  it('deploys a pushed image, waits for Green through the bake time, checks migrations and alerts success', async () => {
    const run = await runDeploy(push('v10', 10));

    expect(run.status).toBe('SUCCEEDED');
    expect(aws.updates).toEqual([label('v10', 10)]);
    expect(aws.env).toMatchObject({ versionLabel: label('v10', 10), color: 'Green' });
    expect(run.path).toEqual(
      expect.arrayContaining([
        'ValidateSecrets',
        'BuildBundle',
        'CreateAppVersion',
        'DeployVersion',
        'CheckHealth',
        'StartMigrationCheck',
        'CheckMigration',
        'Deployed',
      ]),
    );
    expect(run.path).not.toContain('RollBack');
    expect(mocks.eb).toHaveReceivedCommandWith(CreateApplicationVersionCommand, {
      VersionLabel: label('v10', 10),
      Process: true,
    });
    expect(lastAlert().subject).toContain('antenna-prod');
    expect(lastAlert().message).toContain(label('v10', 10));
    expect((await getLastGood(db, TABLE, ENV))?.versionLabel).toBe(label('v10', 10));
    expect(await getLock(db, TABLE, ENV)).toBeUndefined();
    expect((await listHistory(db, TABLE, ENV))[0]).toMatchObject({
      outcome: 'SUCCEEDED',
      trigger: 'push',
      toVersion: label('v10', 10),
    });
  });

  it('rolls back to the last good version when health goes Red after Ready, and says why', async () => {
    await deployV10();
    aws.behaviourFor[label('v11', 11)] = behaviours.redAfterReady;

    const run = await runDeploy(push('v11', 11));

    expect(run).toMatchObject({ status: 'FAILED', error: 'DeploymentRolledBack' });
    expect(aws.updates).toEqual([label('v10', 10), label('v11', 11), label('v10', 10)]);
    expect(aws.env).toMatchObject({ versionLabel: label('v10', 10), color: 'Green' });
    expect(run.path.filter((s) => s === 'RollBack')).toHaveLength(1);
    expect(lastAlert().message).toContain('100.0 % of the requests are failing with HTTP 5xx.');
    expect(lastAlert().message).toContain(label('v10', 10));
    expect((await getLastGood(db, TABLE, ENV))?.versionLabel).toBe(label('v10', 10));
    expect((await listHistory(db, TABLE, ENV))[0]).toMatchObject({ outcome: 'ROLLED_BACK' });
    expect(await getLock(db, TABLE, ENV)).toBeUndefined();
  });

  it('rolls back when health stays Grey past the grace period after Ready', async () => {
    await deployV10();
    aws.behaviourFor[label('v11', 11)] = behaviours.greyPersisting;

    const run = await runDeploy(push('v11', 11));

    expect(run).toMatchObject({ status: 'FAILED', error: 'DeploymentRolledBack' });
    expect(aws.env.versionLabel).toBe(label('v10', 10));
    expect(lastAlert().message).toMatch(
      /health stayed NoData for \d+s after the update finished \(grace 120s\)/,
    );
  });

  it('does not roll back for Grey while the environment is still Updating', async () => {
    aws.behaviourFor[label('v10', 10)] = behaviours.greyDuringUpdateOnly;

    const run = await runDeploy(push('v10', 10));

    expect(run.status).toBe('SUCCEEDED');
    expect(run.path).not.toContain('RollBack');
    expect(aws.env.versionLabel).toBe(label('v10', 10));
  });

  it('aborts an update that never converges, rolls back, and alerts with the timeout', async () => {
    await deployV10();
    aws.behaviourFor[label('v11', 11)] = behaviours.neverConverges;

    const run = await runDeploy(push('v11', 11));

    expect(run).toMatchObject({ status: 'FAILED', error: 'DeploymentRolledBack' });
    expect(run.path).toContain('AbortUpdate');
    expect(run.path.indexOf('AbortUpdate')).toBeLessThan(run.path.indexOf('RollBack'));
    expect(aws.env.versionLabel).toBe(label('v10', 10));
    expect(lastAlert().message).toMatch(/no healthy verdict \d+s after the update \(limit 1200s/);
  });

  it('rolls back when the migration check exits non-zero, quoting its output', async () => {
    await deployV10();
    aws.migration = {
      status: 'Failed',
      code: 1,
      stdout: 'stations\n [X] 0001_initial\n [ ] 0002_add_antenna_height',
    };

    const run = await runDeploy(push('v11', 11));

    expect(run).toMatchObject({ status: 'FAILED', error: 'DeploymentRolledBack' });
    expect(aws.env.versionLabel).toBe(label('v10', 10));
    expect(lastAlert().message).toContain('[ ] 0002_add_antenna_height');
  });

  it('stops before creating any version when a secret is missing, naming the secret', async () => {
    delete aws.secrets['antenna/prod/database-url'];

    const run = await runDeploy(push('v10', 10));

    expect(run).toMatchObject({ status: 'FAILED', error: 'DeploymentFailed' });
    expect(mocks.eb).not.toHaveReceivedCommand(CreateApplicationVersionCommand);
    expect(mocks.eb).not.toHaveReceivedCommand(UpdateEnvironmentCommand);
    expect(lastAlert().message).toContain('antenna/prod/database-url');
    expect(lastAlert().message).toContain('DATABASE_URL');
    expect(await getLock(db, TABLE, ENV)).toBeUndefined();
  });

  it('raises ROLLBACK FAILED when the rollback itself goes Red', async () => {
    await deployV10();
    aws.behaviourFor[label('v11', 11)] = behaviours.redAfterReady;
    aws.behaviourFor[label('v10', 10)] = behaviours.redAfterReady;

    const run = await runDeploy(push('v11', 11));

    expect(run).toMatchObject({ status: 'FAILED', error: 'RollbackFailed' });
    expect(run.path.filter((s) => s === 'RollBack')).toHaveLength(1);
    expect(lastAlert().subject).toContain('ROLLBACK FAILED');
    expect(lastAlert().message).toContain(label('v10', 10));
    expect(await getLock(db, TABLE, ENV)).toBeUndefined();
  });

  it('raises ROLLBACK FAILED on a first deploy that fails: there is no good version to return to', async () => {
    aws.behaviourFor[label('v10', 10)] = behaviours.redAfterReady;

    const run = await runDeploy(push('v10', 10));

    expect(run).toMatchObject({ status: 'FAILED', error: 'RollbackFailed' });
    expect(aws.updates).toEqual([label('v10', 10)]);
    expect(lastAlert().subject).toContain('ROLLBACK FAILED');
    expect(lastAlert().message).toMatch(/no version known to be good/);
  });

  it('deploys a duplicate push event only once', async () => {
    const first = await runDeploy(push('v10', 10));
    const again = await runDeploy(push('v10', 10));

    expect(first.status).toBe('SUCCEEDED');
    expect(again.status).toBe('SUCCEEDED');
    expect(again.path).toContain('Skipped');
    expect(aws.updates).toEqual([label('v10', 10)]);
  });

  it('never downgrades on push: an image pushed before the deployed one is skipped', async () => {
    const newer = await runDeploy(push('v11', 11));
    const older = await runDeploy(push('v10', 10));

    expect(newer.status).toBe('SUCCEEDED');
    expect(older.path).toContain('Skipped');
    expect(aws.updates).toEqual([label('v11', 11)]);
  });

  async function lockHeldBy(owner: string): Promise<void> {
    await db.send(
      new PutCommand({
        TableName: TABLE,
        Item: {
          pk: 'ENV#antenna/antenna-prod',
          sk: 'LOCK',
          owner,
          versionLabel: 'v12-aaaaaaaaaaaa',
          imageDigest: digest(12),
          acquiredAt: new Date().toISOString(),
          leaseUntil: new Date(Date.now() + 6 * 3_600_000).toISOString(),
        },
      }),
    );
  }
  const OTHER = 'arn:aws:states:us-east-1:123456789012:execution:ebship-test-deploy:other';

  /** The holder finishes (releases its lock) at its `after`-th look by a waiting execution. */
  function holderFinishesAfter(after: number, onLook?: (n: number) => void): void {
    let looks = 0;
    mocks.sfn.on(DescribeExecutionCommand).callsFake(async () => {
      looks += 1;
      onLook?.(looks);
      if (looks === after) await releaseLock(db, TABLE, ENV, OTHER);
      return { status: 'RUNNING' };
    });
  }

  it('waits for a busy environment, for free in the state machine, then deploys when it is released', async () => {
    await lockHeldBy(OTHER);
    holderFinishesAfter(4);

    const run = await runDeploy(push('v10', 10));

    expect(run.status).toBe('SUCCEEDED');
    expect(run.path.filter((s) => s === 'WaitForLock').length).toBeGreaterThanOrEqual(4);
    expect(aws.updates).toEqual([label('v10', 10)]);
  });

  it('the newest waiting push takes the next turn; the older one ends Skipped, saying by what', async () => {
    await lockHeldBy(OTHER);
    holderFinishesAfter(6);

    const [older, newer] = await Promise.all([runDeploy(push('v10', 10)), runDeploy(push('v11', 11))]);

    expect(older.path).toContain('Skipped');
    expect(newer.status).toBe('SUCCEEDED');
    expect(aws.updates).toEqual([label('v11', 11)]);
    const history = await listHistory(db, TABLE, ENV);
    expect(history.find((h) => h.toVersion === label('v10', 10))).toMatchObject({
      outcome: 'SKIPPED',
      reason: expect.stringContaining(`superseded by a newer push, ${label('v11', 11)}`),
    });
  });

  it('fails before deploying, with an alert naming the holder, once the wait outlasts its budget; a re-push deploys later', async () => {
    await lockHeldBy(OTHER);
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    // antenna-prod may wait about 3 h 50 min (the 6 h execution limit less its own worst case,
    // lib/config/limits.ts): 4 h 10 min pass while the holder keeps the environment.
    holderFinishesAfter(1_000, (n) => n === 3 && vi.setSystemTime(Date.now() + 250 * 60_000));

    const run = await runDeploy(push('v10', 10)).finally(() => vi.useRealTimers());

    expect(run).toMatchObject({ status: 'FAILED', error: 'DeploymentFailed' });
    expect(mocks.eb).not.toHaveReceivedCommand(UpdateEnvironmentCommand);
    expect(lastAlert().message).toContain(':other');
    expect(lastAlert().message).toMatch(/Waited \d+s, all this execution can spare/);
    expect((await getLock(db, TABLE, ENV))?.owner).toBe(OTHER);

    // The holder finishes; the same digest is pushed again, and deploys (not a "duplicate").
    await releaseLock(db, TABLE, ENV, OTHER);
    const again = await runDeploy(push('v10', 10));
    expect(again.status).toBe('SUCCEEDED');
  });

  it('takes over the lock of an execution that was stopped or timed out, instead of waiting out its lease', async () => {
    await lockHeldBy(OTHER);
    aws.otherExecutionStatus = 'ABORTED';

    const run = await runDeploy(push('v10', 10));

    expect(run.status).toBe('SUCCEEDED');
    expect(aws.updates).toEqual([label('v10', 10)]);
    expect(await getLock(db, TABLE, ENV)).toBeUndefined();
  });

  it('deploys by hand from a manual execution with a tag', async () => {
    const run = await runDeploy({ target: 'antenna-prod', imageTag: 'v11' });

    expect(run.status).toBe('SUCCEEDED');
    expect(aws.updates).toEqual([label('v11', 11)]);
    expect((await listHistory(db, TABLE, ENV))[0]).toMatchObject({ trigger: 'manual' });
  });

  it('rolls back by hand to the last good version, skipping secrets and bundle, with the same health watch', async () => {
    await deployV10();
    const second = await runDeploy({ target: 'antenna-prod', imageTag: 'v11' });
    expect(second.status).toBe('SUCCEEDED');

    const run = await runDeploy({
      target: 'antenna-prod',
      trigger: 'rollback',
      rollbackTo: label('v10', 10),
    });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.path).not.toContain('ValidateSecrets');
    expect(run.path).not.toContain('BuildBundle');
    expect(run.path).toContain('CheckHealth');
    expect(aws.updates.at(-1)).toBe(label('v10', 10));
    expect((await listHistory(db, TABLE, ENV))[0]).toMatchObject({
      trigger: 'rollback',
      toVersion: label('v10', 10),
      outcome: 'SUCCEEDED',
    });
    expect((await getLastGood(db, TABLE, ENV))?.versionLabel).toBe(label('v10', 10));
  });

  it('fails before deploying, without a health watch, when EB refuses the update', async () => {
    aws.refuseUpdateTo.add(label('v10', 10));

    const run = await runDeploy({ target: 'antenna-prod', imageTag: 'v10' });

    expect(run).toMatchObject({ status: 'FAILED', error: 'DeploymentFailed' });
    expect(run.path).not.toContain('CheckHealth');
    expect(lastAlert().message).toContain('was not changed');
    expect(await getLock(db, TABLE, ENV)).toBeUndefined();
  });

  it('watches health instead of assuming nothing changed when the UpdateEnvironment reply is lost', async () => {
    await deployV10();
    aws.loseUpdateReplyFor.add(label('v11', 11));

    const run = await runDeploy(push('v11', 11));

    // DeployVersion looks at EB after the lost reply: the environment is updating to v11, so the
    // update started; it is watched, never sent again, never reported as "unchanged".
    expect(run.status).toBe('SUCCEEDED');
    expect(run.path).toContain('CheckHealth');
    expect(run.path).not.toContain('MarkFailedBeforeDeploy');
    expect(aws.updates).toEqual([label('v10', 10), label('v11', 11)]);
    expect(aws.env).toMatchObject({ versionLabel: label('v11', 11), color: 'Green' });
    expect((await getLastGood(db, TABLE, ENV))?.versionLabel).toBe(label('v11', 11));
  });

  it('never rolls back for throttling alone: unread polls are no data, and the deploy succeeds', async () => {
    await deployV10();
    aws.throttleHealthPolls = 8;

    const run = await runDeploy(push('v11', 11));

    expect(run.status).toBe('SUCCEEDED');
    expect(run.path).not.toContain('RollBack');
    expect(aws.updates).toEqual([label('v10', 10), label('v11', 11)]);
    expect(lastAlert().subject).toContain('Deployed');
  });
});
