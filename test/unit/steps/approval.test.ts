/**
 * requestApproval (issue 14): the APPROVAL item, its one alert, and a newer promotion superseding an
 * older one that still waits. Real DynamoDB semantics through dynalite; SNS and Step Functions
 * mocked (SendTaskFailure's errors from the Step Functions API reference: TaskTimedOut when the task
 * is already closed).
 */
import { SendTaskFailureCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { PublishCommand } from '@aws-sdk/client-sns';
import { beforeEach, describe, expect, it } from 'vitest';
import { notApprovedReason } from '../../../lib/alerts/approval.js';
import { requestApproval } from '../../../lib/steps/approval.js';
import { getApproval, recordAnswer } from '../../../lib/store/approval.js';
import type { Release } from '../../../lib/workflow-state.js';
import {
  awsError,
  db,
  ENV,
  EXECUTION,
  mocks,
  release,
  STARTED,
  TABLE,
  useFreshTable,
} from '../functions/fixtures.js';

useFreshTable();

const NOW = new Date(STARTED);
const STAGING = {
  target: 'antenna-staging',
  executionId: 'arn:aws:states:us-east-1:123456789012:execution:ebship-deploy:staging-7f5b2640fe6f',
};
const TOKEN = 'AQCtoken-of-the-first-attempt-0000000000000000000000';
const NEWER = EXECUTION.replace(/push$/, 'promotion-2');

function promoted(overrides: Partial<Release> = {}): Release {
  return release({
    trigger: 'promotion',
    promotedFrom: STAGING,
    approvalTimeoutSeconds: 1800,
    ...overrides,
  });
}

const published = () => mocks.sns.commandCalls(PublishCommand).map((c) => c.args[0].input);

beforeEach(() => {
  mocks.sns.reset();
  mocks.sfn.reset();
  mocks.sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
  mocks.sfn.on(SendTaskFailureCommand).resolves({});
  mocks.sfn.on(SendTaskSuccessCommand).resolves({});
});

const APPROVED = {
  kind: 'approved' as const,
  by: 'arn:aws:iam::123456789012:user/release-manager',
  at: '2026-11-23T10:01:00.000Z',
  output: JSON.stringify({ approvedBy: 'arn:aws:iam::123456789012:user/release-manager' }),
};

describe('requestApproval', () => {
  it('stores the token with what waits and when it expires, and alerts once: what, from where, until when, how to answer; never the token', async () => {
    const result = await requestApproval({ taskToken: TOKEN, release: promoted() }, NOW);

    expect(result).toMatchObject({ requested: true, alerted: true, expiresAt: '2026-11-23T10:30:00.000Z' });
    const item = await getApproval(db, TABLE, ENV, NOW);
    expect(item).toMatchObject({
      taskToken: TOKEN,
      executionId: EXECUTION,
      target: 'antenna-prod',
      promotedFrom: STAGING,
      requestedAt: STARTED,
      expiresAt: Date.parse('2026-11-23T10:30:00.000Z') / 1000,
      alertStatus: 'sent',
    });
    const [alert] = published();
    expect(alert?.Subject).toMatch(/^\[ebship\] APPROVAL NEEDED: antenna-prod v10-7f5b2640fe6f$/);
    const text = JSON.parse(alert?.Message ?? '{}').default as string;
    expect(text).toContain('ebship approve antenna-prod');
    expect(text).toContain('ebship reject antenna-prod --reason');
    expect(text).toContain(`antenna-staging (execution ${STAGING.executionId})`);
    expect(text).toMatch(/Expires: +2026-11-23T10:30:00\.000Z/);
    expect(JSON.stringify(alert)).not.toContain(TOKEN);
  });

  it('run again for the same execution (a Lambda retry after a lost reply): the new token replaces the old, and no second alert', async () => {
    await requestApproval({ taskToken: TOKEN, release: promoted() }, NOW);
    const again = await requestApproval(
      { taskToken: 'AQCtoken-of-the-retry', release: promoted() },
      new Date(NOW.getTime() + 5_000),
    );

    expect(again).toMatchObject({ requested: true, alerted: false });
    expect(published()).toHaveLength(1);
    const item = await getApproval(db, TABLE, ENV, NOW);
    expect(item?.taskToken).toBe('AQCtoken-of-the-retry');
    // The request time and expiry are the first attempt's.
    expect(item?.requestedAt).toBe(STARTED);
  });

  it('run again after `ebship approve` answered the failed attempt: the answer goes to the new token, nobody is asked again', async () => {
    await requestApproval({ taskToken: TOKEN, release: promoted() }, NOW);
    // The CLI recorded the answer, and sent it to the first attempt, which then failed.
    await recordAnswer(db, TABLE, ENV, EXECUTION, APPROVED);
    const again = await requestApproval(
      { taskToken: 'AQCtoken-of-the-retry', release: promoted() },
      new Date(NOW.getTime() + 5_000),
    );

    expect(again).toMatchObject({ requested: true, alerted: false });
    expect(published()).toHaveLength(1);
    expect(mocks.sfn.commandCalls(SendTaskSuccessCommand).map((c) => c.args[0].input)).toEqual([
      { taskToken: 'AQCtoken-of-the-retry', output: APPROVED.output },
    ]);
    const item = await getApproval(db, TABLE, ENV, NOW, { includeAnswered: true });
    expect(item?.answer).toMatchObject({ kind: 'approved', delivered: true });
    // Answered: it waits no more, so `ebship status` shows nothing pending.
    expect(await getApproval(db, TABLE, ENV, NOW)).toBeUndefined();
  });

  it('a rejection recorded before the retry is forwarded as the same SendTaskFailure; a token already closed is fine', async () => {
    await requestApproval({ taskToken: TOKEN, release: promoted() }, NOW);
    const cause = JSON.stringify({ by: APPROVED.by, reason: 'not signed off' });
    await recordAnswer(db, TABLE, ENV, EXECUTION, {
      kind: 'rejected',
      by: APPROVED.by,
      at: APPROVED.at,
      error: 'ApprovalRejected',
      cause,
    });
    mocks.sfn.on(SendTaskFailureCommand).rejects(awsError('TaskTimedOut', 'Task Timed Out'));
    const again = await requestApproval(
      { taskToken: 'AQCtoken-of-the-retry', release: promoted() },
      new Date(NOW.getTime() + 5_000),
    );

    expect(again).toMatchObject({ requested: true, alerted: false });
    expect(mocks.sfn.commandCalls(SendTaskFailureCommand).map((c) => c.args[0].input)).toEqual([
      { taskToken: 'AQCtoken-of-the-retry', error: 'ApprovalRejected', cause },
    ]);
    expect(published()).toHaveLength(1);
  });

  it('a newer promotion replaces an answered one without answering it again or calling it superseded', async () => {
    await requestApproval({ taskToken: TOKEN, release: promoted() }, NOW);
    await recordAnswer(db, TABLE, ENV, EXECUTION, APPROVED);
    const newer = await requestApproval(
      {
        taskToken: 'AQCtoken-of-the-newer',
        release: promoted({ executionId: NEWER, startedAt: '2026-11-23T10:05:00.000Z' }),
      },
      new Date(NOW.getTime() + 300_000),
    );

    expect(newer).toMatchObject({ requested: true, alerted: true, superseded: [] });
    expect(mocks.sfn.commandCalls(SendTaskFailureCommand)).toHaveLength(0);
    expect((await getApproval(db, TABLE, ENV, NOW))?.executionId).toBe(NEWER);
  });

  it('a newer promotion supersedes an older one that still waits: the older is answered ApprovalSuperseded, naming the newer', async () => {
    await requestApproval({ taskToken: TOKEN, release: promoted() }, NOW);
    const later = new Date(NOW.getTime() + 600_000);
    const newer = promoted({
      executionId: NEWER,
      startedAt: later.toISOString(),
      versionLabel: 'v11-0b0b0b0b0b0b',
    });

    const result = await requestApproval({ taskToken: 'AQCtoken-of-the-newer', release: newer }, later);

    expect(result).toMatchObject({ requested: true, alerted: true, superseded: [EXECUTION] });
    const failures = mocks.sfn.commandCalls(SendTaskFailureCommand).map((c) => c.args[0].input);
    expect(failures).toEqual([
      {
        taskToken: TOKEN,
        error: 'ApprovalSuperseded',
        cause: JSON.stringify({ by: NEWER, versionLabel: 'v11-0b0b0b0b0b0b' }),
      },
    ]);
    expect((await getApproval(db, TABLE, ENV, later))?.executionId).toBe(NEWER);
    // How the older one's history and alert word it.
    expect(
      notApprovedReason({
        release: promoted(),
        error: { Error: 'ApprovalSuperseded', Cause: failures[0]?.cause },
      }),
    ).toBe(`superseded by v11-0b0b0b0b0b0b (execution ${NEWER})`);
  });

  it('an older promotion arriving after a newer one waits ends itself superseded, and the newer keeps waiting', async () => {
    const later = new Date(NOW.getTime() + 600_000);
    await requestApproval(
      {
        taskToken: 'AQCtoken-of-the-newer',
        release: promoted({ executionId: NEWER, startedAt: later.toISOString() }),
      },
      later,
    );
    mocks.sns.resetHistory();

    const result = await requestApproval({ taskToken: TOKEN, release: promoted() }, later);

    expect(result).toMatchObject({ requested: false, alerted: false });
    expect(mocks.sfn.commandCalls(SendTaskFailureCommand).map((c) => c.args[0].input.taskToken)).toEqual([
      TOKEN,
    ]);
    expect((await getApproval(db, TABLE, ENV, later))?.executionId).toBe(NEWER);
    expect(published()).toHaveLength(0);
  });

  it('an older wait that already ended (TaskTimedOut) is simply replaced', async () => {
    await requestApproval({ taskToken: TOKEN, release: promoted() }, NOW);
    mocks.sfn
      .on(SendTaskFailureCommand)
      .rejects(awsError('TaskTimedOut', "Task Timed Out: 'Provided task does not exist anymore'"));
    const later = new Date(NOW.getTime() + 60_000);

    const result = await requestApproval(
      {
        taskToken: 'AQCtoken-of-the-newer',
        release: promoted({ executionId: NEWER, startedAt: later.toISOString() }),
      },
      later,
    );

    expect(result.requested).toBe(true);
    expect((await getApproval(db, TABLE, ENV, later))?.taskToken).toBe('AQCtoken-of-the-newer');
  });

  it('a failed publish gives the alert claim back, so the retry sends it', async () => {
    mocks.sns
      .on(PublishCommand)
      .rejectsOnce(awsError('InternalError', 'SNS is down', 500))
      .resolves({ MessageId: 'm-2' });

    await expect(requestApproval({ taskToken: TOKEN, release: promoted() }, NOW)).rejects.toThrow(
      /SNS is down/,
    );
    const retry = await requestApproval({ taskToken: 'AQCtoken-of-the-retry', release: promoted() }, NOW);

    expect(retry.alerted).toBe(true);
    expect(published()).toHaveLength(2);
  });
});

describe('notApprovedReason', () => {
  it('words a rejection, a timeout and an unknown error for history', () => {
    expect(
      notApprovedReason({
        release: promoted(),
        error: {
          Error: 'ApprovalRejected',
          Cause: JSON.stringify({ by: 'arn:aws:iam::1:user/bob', reason: 'not today' }),
        },
      }),
    ).toBe('rejected by arn:aws:iam::1:user/bob: not today');
    expect(
      notApprovedReason({ release: promoted(), error: { Error: 'States.Timeout', Cause: 'timed out' } }),
    ).toBe('no answer within 1800 s');
  });
});
