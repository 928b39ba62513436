import {
  DescribeApplicationVersionsCommand,
  DescribeEnvironmentsCommand,
  ElasticBeanstalkClient,
  UpdateEnvironmentCommand,
} from '@aws-sdk/client-elastic-beanstalk';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ExitCode } from '../../cli/exit-codes.js';
import { putLastGood } from '../../lib/store/deployments.js';
import {
  cli,
  DIGEST,
  execArn,
  type LocalTable,
  OLD_DIGEST,
  pointSdkAt,
  STATE_MACHINE_ARN,
  startTable,
} from './harness.js';
import { HistoryBuilder } from './history-events.js';
import { serveExecution, stateMachineDeployed } from './sfn-fake.js';

const sfn = mockClient(SFNClient);
const eb = mockClient(ElasticBeanstalkClient);
let table: LocalTable;
const KEY = { pk: 'ENV#antenna/antenna-prod', sk: 'LAST_GOOD' };
const LAST_GOOD = 'v1.4.1-0b1c2d3e4f5a';
const FAILED = 'v1.4.2-3f2a9c1b7d4e';

beforeAll(async () => {
  table = await startTable();
});
afterAll(async () => {
  await table.close();
});

beforeEach(async () => {
  sfn.reset();
  eb.reset();
  pointSdkAt(table);
  stateMachineDeployed(sfn);
  await putLastGood(
    table.db,
    'ebship-dev',
    { application: 'antenna', environment: 'antenna-prod' },
    {
      versionLabel: LAST_GOOD,
      imageDigest: OLD_DIGEST,
      deployedAt: '2025-06-01T10:00:00.000Z',
      executionId: execArn('earlier'),
    },
  );
  await table.db.send(new DeleteCommand({ TableName: 'ebship-dev', Key: { ...KEY, sk: 'LOCK' } }));
  eb.on(DescribeEnvironmentsCommand).resolves({
    Environments: [{ EnvironmentName: 'antenna-prod', VersionLabel: FAILED, Status: 'Ready', Health: 'Red' }],
  });
  eb.on(DescribeApplicationVersionsCommand).resolves({ ApplicationVersions: [] });
  eb.on(DescribeApplicationVersionsCommand, { VersionLabels: ['v1.3.9-cccccccccccc'] }).resolves({
    ApplicationVersions: [{ VersionLabel: 'v1.3.9-cccccccccccc', Status: 'Processed' }],
  });
  sfn
    .on(StartExecutionCommand)
    .callsFake((input: { name: string }) => ({ executionArn: execArn(input.name) }));
});
afterEach(() => {
  vi.unstubAllEnvs();
});

function started(): { name: string; input: Record<string, unknown> } {
  const call = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
  return { name: call?.name ?? '', input: JSON.parse(call?.input ?? '{}') };
}

describe('ebship rollback', () => {
  it('starts a verified rollback to the last good version through the state machine', async () => {
    // Act
    const r = await cli(['rollback', 'antenna-prod']);

    // Assert
    expect(r.code).toBe(ExitCode.Ok);
    expect(started().input).toEqual({ target: 'antenna-prod', trigger: 'rollback' });
    expect(started().name).toMatch(/^antenna-prod-rollback-v1-4-1-0b1c2d3e4f5a-\d{8}T\d{6}-[0-9a-f]{6}$/);
    expect(sfn).toReceiveCommandWith(StartExecutionCommand, { stateMachineArn: STATE_MACHINE_ARN });
    expect(r.stdout).toContain(
      `rolling antenna/antenna-prod back from ${FAILED} to ${LAST_GOOD} (last good)`,
    );
    // Never a bare UpdateEnvironment: the state machine does it, with its lock and health watch.
    expect(eb).not.toReceiveCommand(UpdateEnvironmentCommand);
  });

  it('gives two rollbacks started in the same second different execution names', async () => {
    // Step Functions names are unique per state machine: a repeat would be ExecutionAlreadyExists.
    vi.useFakeTimers({ now: new Date('2025-06-02T09:00:00.250Z'), toFake: ['Date'] });
    try {
      await cli(['rollback', 'antenna-prod']);
      await cli(['rollback', 'antenna-prod']);
    } finally {
      vi.useRealTimers();
    }

    const names = sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input.name);
    expect(names).toHaveLength(2);
    expect(names[0]).toContain('-20250602T090000-');
    expect(names[1]).toContain('-20250602T090000-');
    expect(names[0]).not.toBe(names[1]);
  });

  it('rolls back to the version given with --to once EB confirms it exists', async () => {
    // Act
    const r = await cli(['rollback', 'antenna-prod', '--to', 'v1.3.9-cccccccccccc', '--json']);

    // Assert
    expect(r.code).toBe(ExitCode.Ok);
    expect(started().input).toEqual({
      target: 'antenna-prod',
      trigger: 'rollback',
      rollbackTo: 'v1.3.9-cccccccccccc',
    });
    expect(r.json()).toMatchObject({
      started: { input: { rollbackTo: 'v1.3.9-cccccccccccc' } },
      exitCode: 0,
    });
    expect(eb).toReceiveCommandWith(DescribeApplicationVersionsCommand, {
      ApplicationName: 'antenna',
      VersionLabels: ['v1.3.9-cccccccccccc'],
    });
  });

  it('follows the rollback and exits 0 when it deployed', async () => {
    // Arrange
    const b = new HistoryBuilder();
    const state = {
      input: { target: 'antenna-prod', trigger: 'rollback' },
      outcome: { status: 'SUCCEEDED' },
    };
    b.started(state.input).succeed('Deployed', state);
    sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => {
      serveExecution(sfn, { arn: execArn(input.name), name: input.name, events: b.events });
      return { executionArn: execArn(input.name) };
    });

    // Act
    const r = await cli(['rollback', 'antenna-prod', '--follow']);

    // Assert
    expect(r.code).toBe(ExitCode.Ok);
    expect(r.stdout).toContain('Deployed (SUCCEEDED)');
  });

  it.each([
    [
      ['rollback', 'antenna-prod', '--to', 'v9-missing'],
      'version "v9-missing" does not exist in EB application antenna',
    ],
    [['rollback', 'antenna-prod', '--to', 'a/b'], '"a/b" is not an EB version label'],
    [
      ['rollback', 'antenna-prod', '--to', FAILED],
      `antenna-prod already runs ${FAILED}; nothing to roll back to`,
    ],
    [['rollback', 'nope'], 'unknown target "nope"'],
  ])('refuses %j (exit 2)', async (argv, message) => {
    // Arrange
    eb.on(DescribeApplicationVersionsCommand, { VersionLabels: [FAILED] }).resolves({
      ApplicationVersions: [{ VersionLabel: FAILED, Status: 'Processed' }],
    });

    // Act
    const r = await cli(argv);

    // Assert
    expect(r.code).toBe(ExitCode.Usage);
    expect(r.stderr).toContain(message);
    expect(sfn).not.toReceiveCommand(StartExecutionCommand);
  });

  it('asks for --to when no good version is recorded (exit 2)', async () => {
    // Arrange
    await table.db.send(new DeleteCommand({ TableName: 'ebship-dev', Key: KEY }));

    // Act
    const r = await cli(['rollback', 'antenna-prod']);

    // Assert
    expect(r.code).toBe(ExitCode.Usage);
    expect(r.stderr).toContain('no last good version of antenna-prod is recorded');
    expect(r.stderr).toContain('Pass --to <label>; see earlier versions with: ebship history antenna-prod');
  });

  it('does not start while another execution deploys the environment (exit 7)', async () => {
    // Arrange
    const other = 'antenna-prod-manual-3f2a9c1b7d4e-20250602T090000';
    await table.db.send(
      new PutCommand({
        TableName: 'ebship-dev',
        Item: {
          ...KEY,
          sk: 'LOCK',
          owner: execArn(other),
          versionLabel: FAILED,
          imageDigest: DIGEST,
          acquiredAt: '2025-06-02T09:00:00.000Z',
          leaseUntil: '2999-01-01T00:00:00.000Z',
        },
      }),
    );
    sfn
      .on(DescribeExecutionCommand, { executionArn: execArn(other) })
      .resolves({ name: other, status: 'RUNNING' });

    // Act
    const r = await cli(['rollback', 'antenna-prod']);

    // Assert
    expect(r.code).toBe(ExitCode.Busy);
    expect(r.stderr).toContain(`ebship follow ${other}`);
    expect(sfn).not.toReceiveCommand(StartExecutionCommand);
  });
});
