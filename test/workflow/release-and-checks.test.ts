// The harness must load first: it points the DynamoDB client at the in-process dynalite.

import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { UpdateEnvironmentCommand } from '@aws-sdk/client-elastic-beanstalk';
import { SendCommandCommand } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getLastGood, listHistory } from '../../lib/store/deployments.js';
import { digest, FakeAws, mocks, runDeploy, startDynamo, TABLE } from './harness.js';

/**
 * The release phase and the post-deploy checks of the shipped antenna-prod target (ebship.yml:
 * release `python manage.py migrate --noinput` in django; checks django-deploy-check and
 * celery-worker roll back, celery-beat only warns), through the real ASL and handlers.
 */

const ENV = { application: 'antenna', environment: 'antenna-prod' };
const db = DynamoDBDocumentClient.from(
  new DynamoDBClient({ endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB }),
);
const pushEvent = JSON.parse(readFileSync('test/fixtures/events/ecr-push.json', 'utf8'));
const push = (tag: string, n: number) => ({
  ...pushEvent,
  detail: { ...pushEvent.detail, 'image-tag': tag, 'image-digest': digest(n) },
});
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

async function deployV10(): Promise<void> {
  const first = await runDeploy(push('v10', 10));
  expect(first.status).toBe('SUCCEEDED');
  aws.published = [];
  aws.sent = [];
  aws.updates = [];
  mocks.eb.resetHistory();
}

/** The email text of the last alert (alerts go out as one SNS message per protocol: its `default`). */
function lastAlert(): string {
  const alert = aws.published.at(-1);
  if (!alert) throw new Error('no alert was published');
  return (JSON.parse(alert.message) as { default: string }).default;
}

const releaseDocs = () => aws.sent.filter((c) => c.document.includes('-release-'));

describe('the release phase', () => {
  it('runs once, before UpdateEnvironment, with only the new digest as a parameter, then deploys', async () => {
    await deployV10();

    const run = await runDeploy(push('v11', 11));

    expect(run.status).toBe('SUCCEEDED');
    // Once, on the healthy instance, with the target's own document and no argv of any kind.
    expect(releaseDocs()).toEqual([
      {
        document: 'ebship-test-release-antenna-prod',
        instanceIds: ['i-0abc'],
        parameters: { imageDigest: [digest(11)] },
      },
    ]);
    expect(mocks.ssm).toHaveReceivedCommandWith(SendCommandCommand, {
      DocumentName: 'ebship-test-release-antenna-prod',
      Parameters: { imageDigest: [digest(11)] },
    });
    const path = run.path;
    expect(path.indexOf('CheckRelease')).toBeGreaterThan(-1);
    expect(path.indexOf('CheckRelease')).toBeLessThan(path.indexOf('DeployVersion'));
    expect(aws.updates).toEqual([label('v11', 11)]);
    expect(lastAlert()).toContain('Release phase: passed on i-0abc');
  });

  it('fails the deploy before the environment changes when the release command fails, with its masked output', async () => {
    await deployV10();
    aws.release = {
      status: 'Failed',
      code: 3,
      stdout: 'Applying stations.0003_station_calibration...',
      stderr:
        'django.db.utils.OperationalError: could not connect to postgres://antenna:hunter2@db.internal:5432/antenna\nebship-release-exit=1',
    };

    const run = await runDeploy(push('v11', 11));

    expect(run).toMatchObject({ status: 'FAILED', error: 'DeploymentFailed' });
    expect(mocks.eb).not.toHaveReceivedCommand(UpdateEnvironmentCommand);
    expect(aws.env.versionLabel).toBe(label('v10', 10));
    const alert = lastAlert();
    expect(alert).toContain('release command "python manage.py migrate --noinput"');
    expect(alert).toContain('exited 1');
    expect(alert).toContain('OperationalError');
    expect(alert).not.toContain('hunter2');
    const [latest] = await listHistory(db, TABLE, ENV);
    expect(latest).toMatchObject({ outcome: 'FAILED_BEFORE_DEPLOY' });
    expect(latest?.reason).toContain('OperationalError');
    expect(latest?.reason).not.toContain('hunter2');
    expect((await getLastGood(db, TABLE, ENV))?.versionLabel).toBe(label('v10', 10));
  });

  it('fails the deploy before the environment changes when the release times out', async () => {
    await deployV10();
    aws.release = { status: 'TimedOut', code: -1, stdout: '', statusDetails: 'Execution Timed Out' };

    const run = await runDeploy(push('v11', 11));

    expect(run).toMatchObject({ status: 'FAILED', error: 'DeploymentFailed' });
    expect(mocks.eb).not.toHaveReceivedCommand(UpdateEnvironmentCommand);
    expect(lastAlert()).toMatch(/timed out \(Execution Timed Out\)/);
  });

  it('fails before deploy when the release outruns its own timeout on the instance (script exit 6)', async () => {
    await deployV10();
    aws.release = {
      status: 'Failed',
      code: 6,
      stdout: '',
      stderr: 'ebship: the release command ran past its 600s timeout',
    };

    const run = await runDeploy(push('v11', 11));

    expect(run).toMatchObject({ status: 'FAILED', error: 'DeploymentFailed' });
    expect(mocks.eb).not.toHaveReceivedCommand(UpdateEnvironmentCommand);
    expect(lastAlert()).toContain('ran past release.timeoutSeconds (600s)');
  });

  it('fails with a clear message when no instance is healthy (onEmptyEnvironment: fail)', async () => {
    await deployV10();
    aws.env.color = 'Red';
    aws.env.healthStatus = 'Severe';

    const run = await runDeploy(push('v11', 11));

    expect(run).toMatchObject({ status: 'FAILED', error: 'DeploymentFailed' });
    expect(releaseDocs()).toEqual([]);
    expect(mocks.eb).not.toHaveReceivedCommand(UpdateEnvironmentCommand);
    expect(lastAlert()).toContain(
      'no healthy instance of antenna-prod runs the app now (instances: i-0abc Red)',
    );
    expect(lastAlert()).toContain('release.onEmptyEnvironment: skip');
  });

  it('is not run by a rollback by hand: the old version needs no release', async () => {
    await deployV10();
    await runDeploy(push('v11', 11));
    aws.sent = [];

    const run = await runDeploy({
      target: 'antenna-prod',
      trigger: 'rollback',
      rollbackTo: label('v10', 10),
    });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.path).not.toContain('StartRelease');
    expect(releaseDocs()).toEqual([]);
  });
});

describe('post-deploy checks', () => {
  it('run after the health verdict and before success, each in its own document, on the new version', async () => {
    await deployV10();

    const run = await runDeploy(push('v11', 11));

    expect(run.status).toBe('SUCCEEDED');
    expect(run.path.indexOf('StartChecks')).toBeGreaterThan(run.path.lastIndexOf('CheckHealth'));
    expect(aws.sent.filter((c) => /-check-antenna-prod-/.test(c.document))).toEqual([
      { document: 'ebship-test-check-antenna-prod-django-deploy-check', instanceIds: ['i-0abc'] },
      { document: 'ebship-test-check-antenna-prod-celery-worker', instanceIds: ['i-0abc'] },
      { document: 'ebship-test-check-antenna-prod-celery-beat', instanceIds: ['i-0abc'] },
    ]);
  });

  it.each([
    ['django-deploy-check', 'SystemCheckError: System check identified some issues'],
    ['celery-worker', 'Error: No nodes replied within time constraint'],
  ])('rolls back when %s fails, naming the check and quoting its masked output', async (name, text) => {
    await deployV10();
    aws.checks[name] = {
      status: 'Failed',
      code: 3,
      stdout: `${text}\nbroker rediss://:hunter2@cache.internal:6379/0`,
      stderr: 'ebship-check-exit=1',
    };

    const run = await runDeploy(push('v11', 11));

    expect(run).toMatchObject({ status: 'FAILED', error: 'DeploymentRolledBack' });
    expect(aws.updates).toEqual([label('v11', 11), label('v10', 10)]);
    expect(aws.env.versionLabel).toBe(label('v10', 10));
    const alert = lastAlert();
    expect(alert).toContain(`check "${name}"`);
    expect(alert).toContain('failed (exit 1)');
    expect(alert).toContain(text);
    expect(alert).not.toContain('hunter2');
    expect((await listHistory(db, TABLE, ENV))[0]).toMatchObject({ outcome: 'ROLLED_BACK' });
  });

  it('only warns when a check set to warn fails: deployed, and the warning is in the alert and history', async () => {
    await deployV10();
    aws.checks['celery-beat'] = { status: 'Failed', code: 3, stdout: '', stderr: 'ebship-check-exit=1' };

    const run = await runDeploy(push('v11', 11));

    expect(run.status).toBe('SUCCEEDED');
    expect(run.path).not.toContain('RollBack');
    expect(aws.env.versionLabel).toBe(label('v11', 11));
    expect(lastAlert()).toContain('warning only (onFailure: warn): check "celery-beat"');
    const [latest] = await listHistory(db, TABLE, ENV);
    expect(latest).toMatchObject({ outcome: 'SUCCEEDED' });
    expect(latest?.reason).toContain('check "celery-beat"');
  });

  it('rolls back when a rollback check cannot run at all (no such container on the instance)', async () => {
    await deployV10();
    aws.checks['celery-worker'] = {
      status: 'Failed',
      code: 4,
      stdout: '',
      stderr: "ebship: no running container named 'celeryworker'",
    };

    const run = await runDeploy(push('v11', 11));

    expect(run).toMatchObject({ status: 'FAILED', error: 'DeploymentRolledBack' });
    expect(lastAlert()).toContain('no running "celeryworker" container');
  });
});
