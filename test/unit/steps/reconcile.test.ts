/**
 * The scheduled reconciler (lib/steps/reconcile.ts): its decision tables as plain data, then one run
 * against the real table (dynalite) with ECR, EB, Step Functions and SNS mocked.
 */
import { DescribeImagesCommand } from '@aws-sdk/client-ecr';
import { DescribeEnvironmentsCommand, type EnvironmentStatus } from '@aws-sdk/client-elastic-beanstalk';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { PublishCommand, type PublishCommandInput } from '@aws-sdk/client-sns';
import { DeleteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { getTarget } from '../../../lib/config/load.js';
import { config } from '../../../lib/runtime.js';
import { acquireDeployLock } from '../../../lib/steps/acquire-lock.js';
import {
  type DriftView,
  decideDrift,
  decideImage,
  type ImageView,
  PUSH_GRACE_SECONDS,
  reconcile,
  startReconciledDeploy,
} from '../../../lib/steps/reconcile.js';
import { acquireLock, putLastGood, recordDeployment } from '../../../lib/store/deployments.js';
import { getHeld, holdPush, putFreeze } from '../../../lib/store/freeze.js';
import {
  ACCOUNT,
  awsError,
  DIGEST,
  db,
  ENV,
  EXECUTION,
  mocks,
  OLD_DIGEST,
  OLD_LABEL,
  REGION,
  release,
  TABLE,
  useConfigVariant,
  useFreshTable,
} from '../functions/fixtures.js';

const STATE_MACHINE = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:ebship-test-deploy`;
process.env.STATE_MACHINE_ARN = STATE_MACHINE;
const OWN = `arn:aws:states:${REGION}:${ACCOUNT}:execution:ebship-test-deploy:antenna-prod-7f5b2640fe6f-reconcile`;

const T0 = new Date('2026-11-23T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const NEW = { digest: DIGEST, tag: 'v10', pushedAt: at(60).toISOString() };

// ---------------------------------------------------------------------------------------------
// Decisions (pure)

const seenBefore: ImageView = {
  now: at(600),
  newest: NEW,
  mark: { since: T0.toISOString() },
  ownExecutionArn: OWN,
  history: [],
};

describe('decideImage: the newest image matching the tag pattern', () => {
  it.each<[string, Partial<ImageView>, string]>([
    ['first run (no history): remembers when, deploys nothing', { mark: undefined }, 'baseline'],
    ['no image matches the pattern', { newest: undefined }, 'none'],
    ['pushed before the first run', { newest: { ...NEW, pushedAt: at(-1).toISOString() } }, 'none'],
    ['decided about already', { mark: { since: T0.toISOString(), imageDigest: DIGEST } }, 'none'],
    [
      'deployed (LAST_GOOD)',
      { lastGood: { imageDigest: DIGEST, versionLabel: 'v10-7f5b2640fe6f' } },
      'known',
    ],
    ['deploying (LOCK)', { lock: { imageDigest: DIGEST, versionLabel: 'v10-7f5b2640fe6f' } }, 'known'],
    [
      'waiting for the environment (NEXT)',
      { next: { versionLabel: 'v10-7f5b2640fe6f', executionId: EXECUTION } },
      'known',
    ],
    ['seen by its push event (PUSH# marker)', { marker: { executionId: EXECUTION } }, 'known'],
    [
      'attempted before (history: failed before deploy, the marker forgotten)',
      {
        history: [{ toVersion: 'v10-7f5b2640fe6f', outcome: 'FAILED_BEFORE_DEPLOY', executionId: EXECUTION }],
      },
      'known',
    ],
    [
      'older than the last good one (downgrade protection)',
      {
        lastGood: {
          imageDigest: OLD_DIGEST,
          versionLabel: OLD_LABEL,
          imagePushedAt: at(120).toISOString(),
        },
      },
      'known',
    ],
    [`pushed less than ${PUSH_GRACE_SECONDS}s ago: its event may still come`, { now: at(90) }, 'wait'],
    [
      'newer than the last good one, unseen: a lost push',
      {
        lastGood: {
          imageDigest: OLD_DIGEST,
          versionLabel: OLD_LABEL,
          imagePushedAt: at(-3600).toISOString(),
        },
      },
      'deploy',
    ],
    [
      'our own marker (a run that died before starting): started again',
      { marker: { executionId: OWN } },
      'deploy',
    ],
  ])('%s', (_name, change, action) => {
    expect(decideImage({ ...seenBefore, ...change }).action).toBe(action);
  });
});

describe('decideDrift: the environment against ebship’s record', () => {
  const base: DriftView = {
    env: { status: 'Ready', versionLabel: 'hotfix-1' },
    lockHeld: false,
    lastGood: { versionLabel: 'v10-7f5b2640fe6f', deployedAt: T0.toISOString() },
  };
  it.each<[string, Partial<DriftView>, unknown]>([
    ['another label, no lock: drift', {}, { action: 'drift', covered: false }],
    ['ebship holds the lock: not judged', { lockHeld: true }, { action: 'skip' }],
    [
      'mid-update (a console deploy running): not judged yet',
      { env: { status: 'Updating' } },
      { action: 'skip' },
    ],
    ['no record yet', { lastGood: undefined }, { action: 'skip' }],
    ['on the record', { env: { status: 'Ready', versionLabel: 'v10-7f5b2640fe6f' } }, { action: 'in-line' }],
    [
      'an OVERRIDDEN deploy since the record already alerted',
      { latest: { outcome: 'OVERRIDDEN', startedAt: at(60).toISOString() } },
      { action: 'drift', covered: true },
    ],
    [
      'back on the alerted record: resolved, with an alert',
      {
        env: { status: 'Ready', versionLabel: 'v10-7f5b2640fe6f' },
        drift: { versionLabel: 'hotfix-1', recordedLabel: 'v10-7f5b2640fe6f', status: 'sent' },
      },
      { action: 'resolved', alert: true },
    ],
    [
      'on a new record (ebship deployed since; its alert said so): resolved silently',
      {
        env: { status: 'Ready', versionLabel: 'v10-7f5b2640fe6f' },
        drift: { versionLabel: 'hotfix-1', recordedLabel: 'v9-090909090909', status: 'sent' },
      },
      { action: 'resolved', alert: false },
    ],
  ])('%s', (_name, change, expected) => {
    expect(decideDrift({ ...base, ...change })).toMatchObject(expected as object);
  });
});

// ---------------------------------------------------------------------------------------------
// One run, against the table

useFreshTable();

const TREASURY = { application: 'treasury-plane', environment: 'treasury-plane-dev' };
const TREASURY_DIGEST = `sha256:${'ab'.repeat(32)}`;

function images(list: { digest: string; tags: string[]; pushedAt: Date }[]) {
  return {
    imageDetails: list.map((i) => ({
      registryId: ACCOUNT,
      imageDigest: i.digest,
      imageTags: i.tags,
      imagePushedAt: i.pushedAt,
    })),
  };
}

function environments(antennaLabel: string, status: EnvironmentStatus = 'Ready') {
  return {
    Environments: [
      {
        ApplicationName: 'antenna',
        EnvironmentName: 'antenna-prod',
        Status: status,
        VersionLabel: antennaLabel,
      },
      {
        ApplicationName: 'treasury-plane',
        EnvironmentName: 'treasury-plane-dev',
        Status: 'Ready' as const,
        VersionLabel: 'v1.0.0-000000000000',
      },
    ],
  };
}

const published = () =>
  mocks.sns.commandCalls(PublishCommand).map((c) => c.args[0].input as PublishCommandInput);
const started = () => mocks.sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);

beforeEach(async () => {
  mocks.ecr.reset();
  mocks.eb.reset();
  mocks.sfn.reset();
  mocks.sns.reset();
  mocks.sns.on(PublishCommand).resolves({ MessageId: 'msg-1' });
  mocks.sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => ({
    executionArn: `${STATE_MACHINE.replace(':stateMachine:', ':execution:')}:${input.name}`,
  }));
  mocks.ecr
    .on(DescribeImagesCommand, { repositoryName: 'antenna-backend' })
    .resolves(images([{ digest: OLD_DIGEST, tags: ['v9'], pushedAt: at(-86_400) }]));
  mocks.ecr.on(DescribeImagesCommand, { repositoryName: 'treasury-plane-api' }).resolves(images([]));
  mocks.eb.on(DescribeEnvironmentsCommand).resolves(environments(OLD_LABEL));
  await putLastGood(db, TABLE, ENV, {
    versionLabel: OLD_LABEL,
    imageDigest: OLD_DIGEST,
    imagePushedAt: at(-86_400).toISOString(),
    deployedAt: at(-80_000).toISOString(),
    executionId: 'earlier',
  });
});

/** v10 pushed at T0+60s; its ECR event never arrived. */
function pushV10() {
  mocks.ecr.on(DescribeImagesCommand, { repositoryName: 'antenna-backend' }).resolves(
    images([
      { digest: OLD_DIGEST, tags: ['v9'], pushedAt: at(-86_400) },
      { digest: DIGEST, tags: ['v10', 'latest'], pushedAt: at(60) },
      // Newer, but `latest` is an ignored tag and `sha-1` does not match "v*".
      { digest: `sha256:${'cd'.repeat(32)}`, tags: ['latest', 'sha-1'], pushedAt: at(70) },
    ]),
  );
}

describe('reconcile: lost pushes', () => {
  it('deploys nothing on its very first run, however new the newest image is', async () => {
    pushV10();

    const report = await reconcile(T0);

    expect(started()).toEqual([]);
    expect(report.targets.map((t) => t.image?.action)).toEqual(['baseline', 'baseline']);
  });

  it('starts the deploy of a push whose event was lost, once, under the push path’s dedupe', async () => {
    await reconcile(T0);
    pushV10();

    const first = await reconcile(at(300));
    await reconcile(at(600));

    expect(first.started).toBe(1);
    expect(started()).toEqual([
      {
        stateMachineArn: STATE_MACHINE,
        name: 'antenna-prod-7f5b2640fe6f-reconcile',
        input: JSON.stringify({
          target: 'antenna-prod',
          imageTag: 'v10',
          imageDigest: DIGEST,
          trigger: 'push',
        }),
      },
    ]);
    const { Item } = await db.send(
      new GetCommand({
        TableName: TABLE,
        Key: { pk: `PUSH#antenna-backend@${DIGEST}`, sk: 'TARGET#antenna-prod' },
      }),
    );
    expect(Item?.executionId).toBe(OWN);
  });

  it('leaves a promoted target to its promotions: its lost push is its source target’s to reconcile (issue 14)', async () => {
    const restore = useConfigVariant((targets) => {
      targets['antenna-prod'] = { ...targets['antenna-prod'], promote: { from: 'treasury-plane-dev' } };
    });
    try {
      await reconcile(T0);
      pushV10();

      const report = await reconcile(at(300));

      expect(started()).toEqual([]);
      expect(report.targets.find((t) => t.target === 'antenna-prod')?.image).toEqual({
        action: 'none',
        reason: 'deploys by promotion from treasury-plane-dev, whose reconcile covers a lost push',
      });
    } finally {
      restore();
    }
  });

  it('a late ECR event after the reconciler started the deploy is skipped as a duplicate (the PUSH# write decides)', async () => {
    await reconcile(T0);
    pushV10();
    await reconcile(at(300));

    // The reconciler's own execution finds its own marker; the late event's execution does not.
    const own = await acquireDeployLock(release({ executionId: OWN }), at(301));
    const late = await acquireDeployLock(release({ executionId: EXECUTION }), at(302));

    expect(own).toHaveProperty('owner', OWN);
    expect(late).toEqual({ skipped: { reason: expect.stringMatching(/^duplicate push/) } });
  });

  it('does not start anything when the ECR event’s execution claimed the push first', async () => {
    await reconcile(T0);
    pushV10();
    await acquireDeployLock(release({ executionId: EXECUTION }), at(299));

    const report = await reconcile(at(300));

    expect(started()).toEqual([]);
    expect(report.targets[0]?.image?.action).toBe('known');
  });

  it('loses the race to an event that claims the push between its read and its write: the conditional PUSH# write decides', async () => {
    // The event's AcquireLock wrote its marker after the reconciler decided to deploy.
    await acquireDeployLock(release({ executionId: EXECUTION }), at(299));

    const start = await startReconciledDeploy(
      'antenna-prod',
      getTarget(config(), 'antenna-prod'),
      NEW,
      STATE_MACHINE,
      OWN,
      at(300),
    );

    expect(start).toBe(false);
    expect(started()).toEqual([]);
  });

  it('never starts a deploy of an image older than the last good one', async () => {
    await reconcile(T0);
    pushV10();
    await putLastGood(db, TABLE, ENV, {
      versionLabel: 'v11-111111111111',
      imageDigest: `sha256:${'11'.repeat(32)}`,
      imagePushedAt: at(200).toISOString(),
      deployedAt: at(250).toISOString(),
      executionId: 'manual',
    });

    const report = await reconcile(at(300));

    expect(started()).toEqual([]);
    expect(report.targets[0]?.image?.reason).toMatch(/never a downgrade/);
  });

  it('gives the push back when StartExecution fails, and starts it on the next run', async () => {
    await reconcile(T0);
    pushV10();
    mocks.sfn.on(StartExecutionCommand).rejectsOnce(awsError('ThrottlingException', 'Rate exceeded'));

    const failed = await reconcile(at(300));
    const retried = await reconcile(at(600));

    expect(failed.targets[0]?.error).toMatch(/ThrottlingException/);
    expect(retried.started).toBe(1);
    expect(started()).toHaveLength(2);
  });

  it('gives the push back when StartExecution fails: its late ECR event still deploys it', async () => {
    await reconcile(T0);
    pushV10();
    mocks.sfn.on(StartExecutionCommand).rejects(awsError('AccessDeniedException', 'not authorized'));

    await reconcile(at(300));
    const late = await acquireDeployLock(release({ executionId: EXECUTION }), at(310));

    expect(late).toHaveProperty('owner', EXECUTION);
  });

  it('one target failing (AccessDenied on its repository) is reported and the other is still reconciled', async () => {
    await reconcile(T0);
    mocks.ecr
      .on(DescribeImagesCommand, { repositoryName: 'antenna-backend' })
      .rejects(awsError('AccessDeniedException', 'not authorized to perform: ecr:DescribeImages'));
    mocks.ecr
      .on(DescribeImagesCommand, { repositoryName: 'treasury-plane-api' })
      .resolves(images([{ digest: TREASURY_DIGEST, tags: ['v1.1.0'], pushedAt: at(60) }]));
    await putLastGood(db, TABLE, TREASURY, {
      versionLabel: 'v1.0.0-000000000000',
      imageDigest: `sha256:${'00'.repeat(32)}`,
      imagePushedAt: at(-86_400).toISOString(),
      deployedAt: at(-80_000).toISOString(),
      executionId: 'earlier',
    });

    const report = await reconcile(at(300));

    expect(report.failed).toBe(1);
    expect(report.targets[0]).toMatchObject({
      target: 'antenna-prod',
      error: expect.stringMatching(/AccessDenied/),
    });
    expect(started().map((s) => s?.name)).toEqual(['treasury-plane-dev-abababababab-reconcile']);
  });
});

describe('reconcile: pushes a freeze held (issue 14)', () => {
  const hold = () =>
    holdPush(db, TABLE, ENV, {
      target: 'antenna-prod',
      repository: 'antenna-backend',
      imageDigest: DIGEST,
      imageTag: 'v10',
      imagePushedAt: at(60).toISOString(),
      versionLabel: 'v10-7f5b2640fe6f',
      executionId: EXECUTION,
      heldAt: at(61).toISOString(),
    });
  const freezeUntil = (until: Date) =>
    putFreeze(db, TABLE, ENV, {
      reason: 'holiday',
      by: 'alice',
      frozenAt: T0.toISOString(),
      until: until.toISOString(),
    });

  it('starts the held push once the freeze has ended by its `until`, and only once', async () => {
    await freezeUntil(at(3600));
    await hold();

    const during = await reconcile(at(1800));
    const after = await reconcile(at(3900));
    const later = await reconcile(at(4200));

    expect(during.targets[0]?.held).toBeUndefined();
    expect(after.targets[0]?.held).toMatchObject({ released: 'v10-7f5b2640fe6f' });
    expect(later.targets[0]?.held).toBeUndefined();
    const releases = started().filter((s) => s.name?.includes('-unfrozen-'));
    expect(releases).toEqual([
      {
        stateMachineArn: STATE_MACHINE,
        name: expect.stringMatching(/^antenna-prod-unfrozen-7f5b2640fe6f-\d{14}$/),
        input: JSON.stringify({
          target: 'antenna-prod',
          imageTag: 'v10',
          imageDigest: DIGEST,
          trigger: 'push',
        }),
      },
    ]);
  });

  it('a start that went through before a lost reply is not started twice', async () => {
    await freezeUntil(at(60));
    await hold();
    mocks.sfn.on(StartExecutionCommand).rejects(awsError('ExecutionAlreadyExists', 'exists'));

    const report = await reconcile(at(3900));

    expect(report.targets[0]?.held).toMatchObject({ released: 'v10-7f5b2640fe6f' });
    expect(await getHeld(db, TABLE, ENV)).toBeUndefined();
  });
});

describe('reconcile: drift', () => {
  it('alerts once per unexpected label, through ebship’s alert path, and once when it is back', async () => {
    mocks.eb.on(DescribeEnvironmentsCommand).resolves(environments('hotfix-from-console'));

    await reconcile(T0);
    await reconcile(at(300));
    mocks.eb.on(DescribeEnvironmentsCommand).resolves(environments(OLD_LABEL));
    await reconcile(at(600));
    await reconcile(at(900));

    const alerts = published();
    expect(alerts.map((a) => a.MessageAttributes?.outcome?.StringValue)).toEqual(['DRIFT', 'DRIFT_RESOLVED']);
    expect(alerts[0]?.Subject).toBe(
      `[ebship] DRIFT: antenna-prod runs hotfix-from-console, not ${OLD_LABEL}`,
    );
    expect(alerts[0]?.MessageAttributes?.severity?.StringValue).toBe('warning');
    expect(JSON.parse(alerts[0]?.Message ?? '{}').default).toContain(
      `ebship rollback antenna-prod --to ${OLD_LABEL} --follow`,
    );
  });

  it('alerts again for another unexpected label', async () => {
    mocks.eb.on(DescribeEnvironmentsCommand).resolves(environments('hotfix-1'));
    await reconcile(T0);
    mocks.eb.on(DescribeEnvironmentsCommand).resolves(environments('hotfix-2'));
    await reconcile(at(300));

    expect(published().map((a) => a.Subject)).toEqual([
      `[ebship] DRIFT: antenna-prod runs hotfix-1, not ${OLD_LABEL}`,
      `[ebship] DRIFT: antenna-prod runs hotfix-2, not ${OLD_LABEL}`,
    ]);
  });

  it('says nothing while ebship holds the environment, or while it is updating', async () => {
    mocks.eb.on(DescribeEnvironmentsCommand).resolves(environments('v10-7f5b2640fe6f'));
    await acquireLock(db, TABLE, ENV, {
      owner: EXECUTION,
      versionLabel: 'v10-7f5b2640fe6f',
      imageDigest: DIGEST,
      leaseSeconds: 3600,
      now: T0,
    });
    await reconcile(at(60));
    await db.send(
      new DeleteCommand({ TableName: TABLE, Key: { pk: 'ENV#antenna/antenna-prod', sk: 'LOCK' } }),
    );
    mocks.eb.on(DescribeEnvironmentsCommand).resolves(environments('hotfix-1', 'Updating'));
    await reconcile(at(120));

    expect(published()).toEqual([]);
  });

  it('stays quiet when the deploy that left the environment off the record already alerted (OVERRIDDEN)', async () => {
    mocks.eb.on(DescribeEnvironmentsCommand).resolves(environments('hotfix-from-console'));
    await recordDeployment(db, TABLE, {
      ...ENV,
      target: 'antenna-prod',
      executionId: EXECUTION,
      trigger: 'push',
      toVersion: 'v10-7f5b2640fe6f',
      outcome: 'OVERRIDDEN',
      startedAt: at(-60).toISOString(),
    });

    await reconcile(T0);

    expect(published()).toEqual([]);
  });

  it('reads the environments in one DescribeEnvironments per application, not one per target', async () => {
    await reconcile(T0);

    const calls = mocks.eb.commandCalls(DescribeEnvironmentsCommand).map((c) => c.args[0].input);
    expect(calls).toEqual([
      { ApplicationName: 'antenna', EnvironmentNames: ['antenna-prod'], IncludeDeleted: false },
      { ApplicationName: 'treasury-plane', EnvironmentNames: ['treasury-plane-dev'], IncludeDeleted: false },
    ]);
  });

  it('an application EB refuses to describe fails its own targets only', async () => {
    mocks.eb
      .on(DescribeEnvironmentsCommand, { ApplicationName: 'treasury-plane' })
      .rejects(awsError('InsufficientPrivilegesException', 'not authorized'));
    mocks.eb
      .on(DescribeEnvironmentsCommand, { ApplicationName: 'antenna' })
      .resolves(environments('hotfix-1'));

    const report = await reconcile(T0);

    expect(report.targets.map((t) => [t.target, t.drift?.action, t.error ?? ''])).toEqual([
      ['antenna-prod', 'alerted', ''],
      ['treasury-plane-dev', undefined, expect.stringMatching(/^drift: InsufficientPrivilegesException/)],
    ]);
  });

  it('retries the alert on the next run when publishing failed', async () => {
    mocks.eb.on(DescribeEnvironmentsCommand).resolves(environments('hotfix-1'));
    mocks.sns.on(PublishCommand).rejectsOnce(awsError('InternalError', 'SNS is down', 500));

    const first = await reconcile(T0);
    await reconcile(at(300));

    // SNS's 5xx is a passing failure: named so, and the next run publishes.
    expect(first.targets[0]?.error).toMatch(/AlertDeliveryInterrupted: .*SNS failed for a passing reason/);
    expect(mocks.sns.commandCalls(PublishCommand)).toHaveLength(2);
  });
});
