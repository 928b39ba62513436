/**
 * Promotion (issue 14): antenna-prod promotes from antenna-staging. A success on staging starts prod's
 * deploy of the same digest; prod deploys only what succeeded on staging, whatever triggered it. Real
 * DynamoDB semantics through dynalite; Step Functions is the client mock (the stand-in runs the real
 * thing in test/e2e/promote.test.ts).
 */
import { DescribeImagesCommand } from '@aws-sdk/client-ecr';
import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { sfn } from '../../../lib/aws/clients/sfn.js';
import { parseRequest } from '../../../lib/release/request.js';
import { config } from '../../../lib/runtime.js';
import { acquireDeployLock } from '../../../lib/steps/acquire-lock.js';
import { startHeldPush } from '../../../lib/steps/freeze.js';
import { promotionExecutionName } from '../../../lib/steps/promote.js';
import { recordOutcome } from '../../../lib/steps/record-outcome.js';
import { resolveRelease } from '../../../lib/steps/resolve-release.js';
import {
  acquireLock,
  getLock,
  listHistory,
  putLastGood,
  recordPush,
} from '../../../lib/store/deployments.js';
import { getHeld, putFreeze } from '../../../lib/store/freeze.js';
import { getProof, recordProof } from '../../../lib/store/promotion.js';
import type { DeployState, OutcomeStatus, Release } from '../../../lib/workflow-state.js';
import {
  awsError,
  DIGEST,
  db,
  deploy,
  ENV,
  EXECUTION,
  LABEL,
  mocks,
  OLD_DIGEST,
  OTHER_EXECUTION,
  release,
  STARTED,
  stateBeforeDeploy,
  TABLE,
  useConfigVariant,
  useFreshTable,
} from '../functions/fixtures.js';

useFreshTable();

const restore = useConfigVariant((targets) => {
  targets['antenna-staging'] = {
    ...structuredClone(targets['antenna-prod']),
    environment: 'antenna-staging',
    source: { repository: 'antenna-backend', tags: '*' },
  };
  targets['antenna-prod'] = {
    ...targets['antenna-prod'],
    promote: { from: 'antenna-staging', approval: 'manual', timeoutSeconds: 1800 },
  };
});
afterAll(restore);

const STAGING = { application: 'antenna', environment: 'antenna-staging' };
const STAGING_EXECUTION =
  'arn:aws:states:us-east-1:123456789012:execution:ebship-dev-deploy:antenna-staging-1';
const NOW = new Date(STARTED);

function staging(overrides: Partial<Release> = {}): Release {
  return release({ target: 'antenna-staging', environment: 'antenna-staging', ...overrides });
}

function prove(digest = DIGEST) {
  return recordProof(db, TABLE, STAGING, {
    imageDigest: digest,
    versionLabel: LABEL,
    imageTag: 'v10',
    executionId: STAGING_EXECUTION,
    succeededAt: '2026-11-23T09:00:00.000Z',
  });
}

beforeEach(() => {
  mocks.sfn.reset();
  mocks.sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' });
  mocks.sfn.on(StartExecutionCommand).resolves({ executionArn: 'started' });
});

describe('the promotion gate: a promoted target deploys only what succeeded on promote.from', () => {
  it('skips a push of a digest that has not succeeded on staging, and leaves no dedupe marker behind', async () => {
    const result = await acquireDeployLock(release(), NOW);

    expect(result.skipped?.reason).toBe(
      `${DIGEST} has not succeeded on antenna-staging, and antenna-prod deploys only what did (promote.from); it is promoted here by itself once it succeeds there`,
    );
    expect(await getLock(db, TABLE, ENV)).toBeUndefined();
    expect((await listHistory(db, TABLE, ENV))[0]).toMatchObject({ outcome: 'SKIPPED', trigger: 'push' });
    // A later push of the same digest (a re-tag), once proven, is not taken for a duplicate.
    const again = await recordPush(db, TABLE, {
      repository: 'antenna-backend',
      imageDigest: DIGEST,
      target: 'antenna-prod',
      executionId: OTHER_EXECUTION,
      now: NOW,
      ttlSeconds: 3600,
    });
    expect(again).toBe('new');
  });

  it('deploys a push of a digest that succeeded on staging', async () => {
    await prove();

    const result = await acquireDeployLock(release(), NOW);

    expect(result).toMatchObject({ owner: EXECUTION });
    expect(result.forced).toBeUndefined();
  });

  it('refuses an unproven manual deploy and says how to force it; --force deploys it and is recorded', async () => {
    const refused = await acquireDeployLock(release({ trigger: 'manual' }), NOW);
    expect(refused.skipped?.reason).toContain(
      `deploy it to antenna-staging first, or deploy it here anyway with \`ebship deploy antenna-prod --digest ${DIGEST} --force\``,
    );

    const forced = await acquireDeployLock(release({ trigger: 'manual', forced: true }), NOW);
    expect(forced).toMatchObject({
      owner: EXECUTION,
      forced: ['past the promotion gate (never succeeded on antenna-staging)'],
    });
  });

  it('skips a promotion whose digest has no proof (an input started by hand), even though it says where it came from', async () => {
    const result = await acquireDeployLock(
      release({
        trigger: 'promotion',
        promotedFrom: { target: 'antenna-staging', executionId: STAGING_EXECUTION },
      }),
      NOW,
    );

    expect(result.skipped?.reason).toContain('has not succeeded on antenna-staging');
    expect(await getLock(db, TABLE, ENV)).toBeUndefined();
  });

  it('never lets a promotion downgrade: an older digest than the deployed one is skipped', async () => {
    await prove();
    await putLastGood(db, TABLE, ENV, {
      versionLabel: 'v11-222222222222',
      imageDigest: OLD_DIGEST,
      imagePushedAt: '2026-11-23T10:00:00.000Z',
      deployedAt: '2026-11-23T10:10:00.000Z',
      executionId: OTHER_EXECUTION,
    });

    const result = await acquireDeployLock(
      release({
        trigger: 'promotion',
        promotedFrom: { target: 'antenna-staging', executionId: STAGING_EXECUTION },
      }),
      NOW,
    );

    expect(result.skipped?.reason).toContain('ebship never downgrades on promotion');
  });

  it('does not gate a rollback, nor a target that promotes from nothing', async () => {
    expect(await acquireDeployLock(release({ trigger: 'rollback' }), NOW)).toMatchObject({
      owner: EXECUTION,
    });
    expect(await acquireDeployLock(staging({ executionId: OTHER_EXECUTION }), NOW)).toMatchObject({
      owner: OTHER_EXECUTION,
    });
  });
});

describe('a freeze holds a promotion, and the unfreeze starts it again as a promotion', () => {
  it('keeps where it came from, so its approval is asked again and the gate still applies', async () => {
    await prove();
    await putFreeze(db, TABLE, ENV, { reason: 'holiday', by: 'alice', frozenAt: STARTED });
    const promoted = release({
      trigger: 'promotion',
      promotedFrom: { target: 'antenna-staging', executionId: STAGING_EXECUTION },
    });

    const result = await acquireDeployLock(promoted, NOW);
    const held = await getHeld(db, TABLE, ENV);
    await startHeldPush(
      { db, sfn },
      TABLE,
      'arn:aws:states:us-east-1:123456789012:stateMachine:ebship-dev-deploy',
      ENV,
      held as NonNullable<typeof held>,
    );

    expect(result.skipped?.reason).toContain('held: antenna-prod is frozen');
    const input = JSON.parse(mocks.sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? '{}');
    expect(input).toEqual({
      target: 'antenna-prod',
      imageTag: 'v10',
      imageDigest: DIGEST,
      trigger: 'promotion',
      promotedFrom: { target: 'antenna-staging', executionId: STAGING_EXECUTION },
    });
  });
});

describe('RecordOutcome starts the promotions of a success', () => {
  function stagingEnd(status: OutcomeStatus, overrides: Partial<Release> = {}): DeployState {
    return {
      ...stateBeforeDeploy(),
      release: staging({ executionId: STAGING_EXECUTION, ...overrides }),
      lock: { owner: STAGING_EXECUTION },
      deploy,
      outcome: { status },
    };
  }
  const takeStagingLock = () =>
    acquireLock(db, TABLE, STAGING, {
      owner: STAGING_EXECUTION,
      versionLabel: LABEL,
      imageDigest: DIGEST,
      leaseSeconds: 3600,
      now: new Date(),
    });

  it('proves the digest on staging, then starts prod on the same digest, once even when retried', async () => {
    await takeStagingLock();
    const state = stagingEnd('SUCCEEDED');

    const first = await recordOutcome(state, 'SUCCEEDED');
    mocks.sfn.on(StartExecutionCommand).rejects(awsError('ExecutionAlreadyExists', 'already exists'));
    const retried = await recordOutcome(state, 'SUCCEEDED');

    expect(await getProof(db, TABLE, STAGING, DIGEST)).toMatchObject({ executionId: STAGING_EXECUTION });
    const name = promotionExecutionName('antenna-prod', state.release as Release);
    expect(name.length).toBeLessThanOrEqual(80);
    expect(first.promotions?.started).toEqual([
      {
        target: 'antenna-prod',
        executionArn: `arn:aws:states:us-east-1:123456789012:execution:ebship-dev-deploy:${name}`,
        approval: 'manual',
      },
    ]);
    expect(retried.promotions).toEqual(first.promotions);
    const calls = mocks.sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.name)).toEqual([name, name]);
    expect(calls[0]?.stateMachineArn).toBe(
      'arn:aws:states:us-east-1:123456789012:stateMachine:ebship-dev-deploy',
    );
    expect(JSON.parse(calls[0]?.input ?? '{}')).toEqual({
      target: 'antenna-prod',
      imageTag: 'v10',
      imageDigest: DIGEST,
      trigger: 'promotion',
      promotedFrom: { target: 'antenna-staging', executionId: STAGING_EXECUTION },
    });
  });

  it('promotes a promoted success further down a chain (dev → staging → prod)', async () => {
    await takeStagingLock();
    const fromDev = { target: 'treasury-plane-dev', executionId: OTHER_EXECUTION };

    const result = await recordOutcome(
      stagingEnd('SUCCEEDED', { trigger: 'promotion', promotedFrom: fromDev }),
      'SUCCEEDED',
    );

    expect(result.promotions?.started.map((p) => p.target)).toEqual(['antenna-prod']);
    expect(await getProof(db, TABLE, STAGING, DIGEST)).toBeDefined();
  });

  it('starts nothing and proves nothing when staging rolled back', async () => {
    await takeStagingLock();

    const result = await recordOutcome(stagingEnd('ROLLED_BACK'), 'ROLLED_BACK');

    expect(result.promotions).toBeUndefined();
    expect(mocks.sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
    expect(await getProof(db, TABLE, STAGING, DIGEST)).toBeUndefined();
  });

  it("respects the promoted target's own tags: staging takes every tag, prod only v*", async () => {
    await takeStagingLock();

    const result = await recordOutcome(stagingEnd('SUCCEEDED', { imageTag: 'main-3f2a9c1' }), 'SUCCEEDED');

    expect(result.promotions).toEqual({
      started: [],
      notPromoted: [
        { target: 'antenna-prod', reason: 'tag main-3f2a9c1 does not match the tag pattern "v*"' },
      ],
    });
    expect(mocks.sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('keeps the success when the promotion cannot start, and says why', async () => {
    await takeStagingLock();
    mocks.sfn.on(StartExecutionCommand).rejects(awsError('StateMachineDoesNotExist', 'gone'));

    const result = await recordOutcome(stagingEnd('SUCCEEDED'), 'SUCCEEDED');

    expect(result).toMatchObject({ recorded: true, lockReleased: true });
    expect(result.promotionError).toBe('StateMachineDoesNotExist: gone');
    expect((await listHistory(db, TABLE, STAGING))[0]?.outcome).toBe('SUCCEEDED');
  });
});

describe('a promotion request', () => {
  const input = {
    target: 'antenna-prod',
    imageDigest: DIGEST,
    trigger: 'promotion',
    promotedFrom: { target: 'antenna-staging', executionId: STAGING_EXECUTION },
  };

  it('is read with where it came from', () => {
    expect(parseRequest(input, config())).toEqual([
      {
        request: {
          kind: 'promotion',
          target: 'antenna-prod',
          imageTag: undefined,
          imageDigest: DIGEST,
          promotedFrom: { target: 'antenna-staging', executionId: STAGING_EXECUTION },
        },
      },
    ]);
  });

  it('resolves to a release that waits for approval as long as promote.timeoutSeconds says', async () => {
    mocks.ecr.reset();
    mocks.ecr.on(DescribeImagesCommand).resolves({
      imageDetails: [
        {
          registryId: '123456789012',
          repositoryName: 'antenna-backend',
          imageDigest: DIGEST,
          imageTags: ['v10'],
          imagePushedAt: new Date('2026-11-23T09:58:40.000Z'),
        },
      ],
    });

    const resolved = await resolveRelease(input, {
      executionId: EXECUTION,
      startedAt: STARTED,
      stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:ebship-dev-deploy',
    });

    expect('release' in resolved && resolved.release).toMatchObject({
      target: 'antenna-prod',
      trigger: 'promotion',
      imageDigest: DIGEST,
      promotedFrom: { target: 'antenna-staging', executionId: STAGING_EXECUTION },
      approvalTimeoutSeconds: 1800,
    });
  });

  it('is refused when it claims the wrong source, or targets a target that promotes from nothing', () => {
    expect(() =>
      parseRequest({ ...input, promotedFrom: { target: 'dev', executionId: 'x' } }, config()),
    ).toThrow('target "antenna-prod" promotes from "antenna-staging", not "dev"');
    expect(() => parseRequest({ ...input, target: 'antenna-staging' }, config())).toThrow(
      'target "antenna-staging" has no promote.from in ebship.yml',
    );
    expect(() => parseRequest({ ...input, trigger: 'manual' }, config())).toThrow(
      'a promotion takes "trigger": "promotion", "imageDigest" and "promotedFrom"',
    );
  });
});
