import { DescribeEnvironmentsCommand, ElasticBeanstalkClient } from '@aws-sdk/client-elastic-beanstalk';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../cli/exit-codes.js';
import {
  getApproval,
  markDelivered,
  putApproval,
  recordAnswer,
  renewToken,
} from '../../lib/store/approval.js';
import { cli, DIGEST, execArn, type LocalTable, pointSdkAt, startTable } from './harness.js';

/**
 * `ebship approve` / `ebship reject` (issue 14) against the real table (dynalite): the APPROVAL item
 * the waiting execution stored, answered with SendTaskSuccess / SendTaskFailure (Step Functions API
 * reference: TaskTimedOut when "the task token has either expired or the task associated with the
 * token has already been closed"), as the caller STS GetCallerIdentity names.
 */
const sfn = mockClient(SFNClient);
const sts = mockClient(STSClient);
const eb = mockClient(ElasticBeanstalkClient);
let table: LocalTable;
const ENV = { application: 'antenna', environment: 'antenna-prod' };
const TOKEN = `AQC${'secret-token-material-'.repeat(8)}`;
const WHO = 'arn:aws:sts::123456789012:assumed-role/release-managers/alice';
const EXECUTION = execArn('antenna-prod-3f2a9c1b7d4e-promotion');
const STAGING = { target: 'antenna-staging', executionId: execArn('antenna-staging-3f2a9c1b7d4e-push') };

async function waiting(expiresInSeconds = 1800): Promise<void> {
  const now = Date.now();
  await putApproval(
    table.db,
    'ebship-dev',
    ENV,
    {
      taskToken: TOKEN,
      executionId: EXECUTION,
      startedAt: new Date(now - 60_000).toISOString(),
      target: 'antenna-prod',
      versionLabel: 'v1.4.2-3f2a9c1b7d4e',
      imageDigest: DIGEST,
      imageTag: 'v1.4.2',
      promotedFrom: STAGING,
      requestedAt: new Date(now - 30_000).toISOString(),
      expiresAt: Math.floor(now / 1000) + expiresInSeconds,
      timeoutSeconds: 1800,
    },
    undefined,
  );
}

beforeAll(async () => {
  table = await startTable();
});
afterAll(async () => {
  await table.close();
});
beforeEach(async () => {
  sfn.reset();
  sts.reset();
  eb.reset();
  pointSdkAt(table);
  sts.on(GetCallerIdentityCommand).resolves({ Arn: WHO, Account: '123456789012', UserId: 'AROA:alice' });
  sfn.on(SendTaskSuccessCommand).resolves({});
  sfn.on(SendTaskFailureCommand).resolves({});
  eb.on(DescribeEnvironmentsCommand).resolves({
    Environments: [{ EnvironmentName: 'antenna-prod', VersionLabel: 'v1', Status: 'Ready', Health: 'Green' }],
  });
  await table.db.send(
    new DeleteCommand({ TableName: 'ebship-dev', Key: { pk: 'ENV#antenna/antenna-prod', sk: 'APPROVAL' } }),
  );
});

describe('ebship approve', () => {
  it('answers the waiting execution with SendTaskSuccess as the caller, prints what was approved, never the token', async () => {
    await waiting();

    const r = await cli(['approve', 'antenna-prod', '--comment', 'QA signed off']);

    expect(r.code).toBe(ExitCode.Ok);
    const [call] = sfn.commandCalls(SendTaskSuccessCommand);
    expect(call?.args[0].input.taskToken).toBe(TOKEN);
    expect(JSON.parse(call?.args[0].input.output ?? '{}')).toEqual({
      approvedBy: WHO,
      approvedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      comment: 'QA signed off',
    });
    expect(r.stdout).toMatch(
      /^Approved v1\.4\.2-3f2a9c1b7d4e for antenna-prod as arn:aws:sts::123456789012:assumed-role\/release-managers\/alice/,
    );
    expect(r.stdout).toContain(`digest    ${DIGEST} (tag v1.4.2)`);
    expect(r.stdout).toContain('from      antenna-staging (execution antenna-staging-3f2a9c1b7d4e-push)');
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
    // Answered: no longer pending.
    expect(await getApproval(table.db, 'ebship-dev', ENV)).toBeUndefined();
  });

  it('--json describes the approval without the token', async () => {
    await waiting();

    const r = await cli(['approve', 'antenna-prod', '--json']);

    expect(r.json()).toMatchObject({
      target: 'antenna-prod',
      approved: {
        versionLabel: 'v1.4.2-3f2a9c1b7d4e',
        imageDigest: DIGEST,
        promotedFrom: STAGING,
        approvedBy: WHO,
      },
    });
    expect(r.stdout).not.toContain(TOKEN);
  });

  it('with nothing pending, says so and points at `ebship status`', async () => {
    const r = await cli(['approve', 'antenna-prod']);

    expect(r.code).toBe(ExitCode.Usage);
    expect(r.stderr).toContain('nothing waits for approval on antenna-prod');
    expect(r.stderr).toContain('ebship status antenna-prod');
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
  });

  it('past its expiry, says when it expired and sends nothing', async () => {
    await waiting(-120);

    const r = await cli(['approve', 'antenna-prod']);

    expect(r.code).toBe(ExitCode.Usage);
    expect(r.stderr).toMatch(/can no longer be answered: it expired at \d{4}-\d\d-\d\dT[\d:.]+Z/);
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
  });

  it('a token Step Functions closed (TaskTimedOut) is reported as ended, without the token or the SDK message', async () => {
    await waiting();
    sfn
      .on(SendTaskSuccessCommand)
      .rejects(Object.assign(new Error(`Task Timed Out: '${TOKEN}'`), { name: 'TaskTimedOut' }));

    const r = await cli(['approve', 'antenna-prod']);

    expect(r.code).toBe(ExitCode.Usage);
    expect(r.stderr).toMatch(
      /can no longer be answered: it was due to expire at .*\(Step Functions: TaskTimedOut\)/,
    );
    expect(r.stderr + r.stdout).not.toContain(TOKEN);
    expect(await getApproval(table.db, 'ebship-dev', ENV)).toBeUndefined();
  });
});

describe('an answer given once', () => {
  const timedOut = () => Object.assign(new Error(`Task Timed Out: '${TOKEN}'`), { name: 'TaskTimedOut' });

  it('a second approve says who approved it and when, and sends nothing', async () => {
    await waiting();
    expect((await cli(['approve', 'antenna-prod'])).code).toBe(ExitCode.Ok);
    sfn.resetHistory();

    const r = await cli(['approve', 'antenna-prod']);

    expect(r.code).toBe(ExitCode.Usage);
    expect(r.stderr).toMatch(
      /the promotion of v1\.4\.2-3f2a9c1b7d4e to antenna-prod was already approved by arn:aws:sts::123456789012:assumed-role\/release-managers\/alice at \d{4}-/,
    );
    expect(r.stderr).toContain('ebship follow antenna-prod-3f2a9c1b7d4e-promotion');
    expect(sfn.calls()).toHaveLength(0);
  });

  it('reject after an approval was recorded is refused and sends nothing: the approval stands', async () => {
    await waiting();
    await recordAnswer(table.db, 'ebship-dev', ENV, EXECUTION, {
      kind: 'approved',
      by: 'arn:aws:iam::123456789012:user/bob',
      at: '2026-12-02T01:00:00.000Z',
      output: '{}',
    });

    const r = await cli(['reject', 'antenna-prod', '--reason', 'too late']);

    expect(r.code).toBe(ExitCode.Usage);
    expect(r.stderr).toContain(
      'already approved by arn:aws:iam::123456789012:user/bob at 2026-12-02T01:00:00.000Z',
    );
    expect(r.stderr).toContain('its answer is being delivered');
    expect(sfn.calls()).toHaveLength(0);
  });

  it('an approve cut short after recording its answer is sent again by the next one, with the first answer', async () => {
    await waiting();
    sfn
      .on(SendTaskSuccessCommand)
      .rejectsOnce(Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }));
    expect((await cli(['approve', 'antenna-prod', '--comment', 'first'])).code).not.toBe(ExitCode.Ok);

    const r = await cli(['approve', 'antenna-prod', '--comment', 'second']);

    expect(r.code).toBe(ExitCode.Ok);
    const outputs = sfn.commandCalls(SendTaskSuccessCommand).map((c) => c.args[0].input.output);
    expect(outputs).toHaveLength(2);
    expect(outputs[1]).toBe(outputs[0]);
    expect(JSON.parse(outputs[1] ?? '{}')).toMatchObject({ comment: 'first' });
  });

  it('refused because the attempt it answered failed: a retry that forwarded the answer already counts as approved', async () => {
    await waiting();
    sfn.on(SendTaskSuccessCommand).callsFake(async () => {
      // Step Functions retried the Task; its Lambda found the recorded answer and forwarded it.
      await renewToken(table.db, 'ebship-dev', ENV, EXECUTION, 'AQC-token-of-the-retry');
      await markDelivered(table.db, 'ebship-dev', ENV, EXECUTION);
      throw timedOut();
    });

    const r = await cli(['approve', 'antenna-prod']);

    expect(r.code).toBe(ExitCode.Ok);
    expect(r.stdout).toMatch(/^Approved v1\.4\.2-3f2a9c1b7d4e for antenna-prod/);
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(1);
    expect(
      await getApproval(table.db, 'ebship-dev', ENV, new Date(), { includeAnswered: true }),
    ).toMatchObject({
      answer: { kind: 'approved', delivered: true },
    });
  });

  it('refused, then the new token of the retry appears without the answer: the answer goes to the new token', async () => {
    await waiting();
    sfn
      .on(SendTaskSuccessCommand, { taskToken: TOKEN })
      .callsFake(async () => {
        await renewToken(table.db, 'ebship-dev', ENV, EXECUTION, 'AQC-token-of-the-retry');
        throw timedOut();
      })
      .on(SendTaskSuccessCommand, { taskToken: 'AQC-token-of-the-retry' })
      .resolves({});

    const r = await cli(['approve', 'antenna-prod']);

    expect(r.code).toBe(ExitCode.Ok);
    expect(sfn.commandCalls(SendTaskSuccessCommand).map((c) => c.args[0].input.taskToken)).toEqual([
      TOKEN,
      'AQC-token-of-the-retry',
    ]);
  });
});

describe('ebship reject', () => {
  it('needs --reason, and sends nothing without it', async () => {
    await waiting();

    const r = await cli(['reject', 'antenna-prod']);

    expect(r.code).toBe(ExitCode.Usage);
    expect(r.stderr).toContain('ebship reject needs --reason');
    expect(sfn.commandCalls(SendTaskFailureCommand)).toHaveLength(0);
  });

  it('answers with SendTaskFailure ApprovalRejected, the caller and the reason as its cause', async () => {
    await waiting();

    const r = await cli(['reject', 'antenna-prod', '--reason', 'migration not reviewed']);

    expect(r.code).toBe(ExitCode.Ok);
    expect(sfn.commandCalls(SendTaskFailureCommand).map((c) => c.args[0].input)).toEqual([
      {
        taskToken: TOKEN,
        error: 'ApprovalRejected',
        cause: JSON.stringify({ by: WHO, reason: 'migration not reviewed' }),
      },
    ]);
    expect(r.stdout).toMatch(
      /Rejected v1\.4\.2-3f2a9c1b7d4e for antenna-prod as .*alice: migration not reviewed/,
    );
    expect(r.stdout).not.toContain(TOKEN);
  });
});

describe('ebship status', () => {
  it('shows a pending approval and how to answer it, never its token', async () => {
    await waiting();

    const r = await cli(['status', 'antenna-prod']);
    const json = await cli(['status', 'antenna-prod', '--json']);

    expect(r.stdout).toMatch(
      /approval +v1\.4\.2-3f2a9c1b7d4e +waits \(passed on antenna-staging\) since .*, expires /,
    );
    expect(r.stdout).toContain('ebship approve antenna-prod');
    expect(
      json.json<{ targets: { awaitingApproval?: unknown }[] }>().targets[0]?.awaitingApproval,
    ).toMatchObject({
      versionLabel: 'v1.4.2-3f2a9c1b7d4e',
      executionId: EXECUTION,
      promotedFrom: STAGING,
    });
    expect(r.stdout + json.stdout).not.toContain(TOKEN);
  });
});
