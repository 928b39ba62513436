import { ECRClient } from '@aws-sdk/client-ecr';
import { ElasticBeanstalkClient } from '@aws-sdk/client-elastic-beanstalk';
import { DescribeExecutionCommand, SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../cli/exit-codes.js';
import { cli, execArn } from './harness.js';
import { EXECUTION_NAME, HistoryBuilder, healthyRun, redRun, untilHealthWatch } from './history-events.js';
import { serveExecution, stateMachineDeployed } from './sfn-fake.js';

const sfn = mockClient(SFNClient);
const eb = mockClient(ElasticBeanstalkClient);
const ecr = mockClient(ECRClient);
const ARN = execArn(EXECUTION_NAME);

beforeEach(() => {
  sfn.reset();
  eb.reset();
  ecr.reset();
  stateMachineDeployed(sfn);
});

describe('ebship follow', () => {
  it('prints each state as it starts and ends, the waits and the health, and exits 0 when deployed', async () => {
    // Arrange
    serveExecution(sfn, {
      arn: ARN,
      name: EXECUTION_NAME,
      events: healthyRun().events,
      perCall: 7,
      pageSize: 5,
    });

    // Act
    const r = await cli(['follow', EXECUTION_NAME]);

    // Assert
    expect(r.code).toBe(ExitCode.Ok);
    expect(r.stdout).toMatch(/start\s+ResolveRelease/);
    expect(r.stdout).toMatch(
      /done\s+ResolveRelease\s+v1\.4\.2-3f2a9c1b7d4e for antenna\/antenna-prod \(manual\)/,
    );
    expect(r.stdout).toMatch(/done\s+DeployVersion\s+v1\.4\.1-0b1c2d3e4f5a -> v1\.4\.2-3f2a9c1b7d4e/);
    expect(r.stdout).toMatch(/wait\s+WaitForHealth\s+waiting 30s/);
    expect(r.stdout).toMatch(/done\s+CheckHealth\s+Grey, Updating, verdict wait/);
    expect(r.stdout).toMatch(/done\s+CheckHealth\s+Green \(Ok\), Ready, verdict healthy/);
    // Pass and Choice states are plumbing, not progress.
    expect(r.stdout).not.toContain('IsIgnored');
    expect(r.stdout).not.toContain('UseRelease');
    expect(r.stdout).toContain('Deployed (SUCCEEDED)');
    expect(r.stdout).toContain(
      'antenna-prod now runs v1.4.2-3f2a9c1b7d4e on antenna-prod (was v1.4.1-0b1c2d3e4f5a).',
    );
    // Each event once, even though the history was read page by page across polls.
    expect(r.stdout.match(/done\s+ValidateSecrets/g)).toHaveLength(1);
  });

  it('exits 3 when the deploy was rolled back, with the Fail error and the reason', async () => {
    // Arrange
    serveExecution(sfn, { arn: ARN, name: EXECUTION_NAME, events: redRun().events, perCall: 10 });

    // Act
    const r = await cli(['follow', EXECUTION_NAME]);

    // Assert
    expect(r.code).toBe(ExitCode.RolledBack);
    expect(r.stdout).toMatch(/done\s+CheckHealth\s+Red \(Severe\), Ready, verdict rollback/);
    expect(r.stdout).toContain('100.0 % of the requests are failing with HTTP 5xx.');
    expect(r.stdout).toMatch(/done\s+RollBack\s+rolling back v1\.4\.2-3f2a9c1b7d4e -> v1\.4\.1-0b1c2d3e4f5a/);
    expect(r.stdout).toMatch(/done\s+CheckRollbackHealth\s+Green \(Ok\), Ready, verdict healthy/);
    expect(r.stdout).toContain(
      'Rolled back: the new version failed its checks (FAILED, DeploymentRolledBack)',
    );
    expect(r.stdout).toContain(
      '[ebship] ROLLED BACK: antenna-prod v1.4.2-3f2a9c1b7d4e, back on v1.4.1-0b1c2d3e4f5a',
    );
  });

  it('reports the outcome as JSON with the health verdicts and the exit code', async () => {
    // Arrange
    serveExecution(sfn, { arn: ARN, name: EXECUTION_NAME, events: redRun().events });

    // Act
    const r = await cli(['follow', ARN, '--json']);

    // Assert
    const out = r.json<{
      outcome: string;
      exitCode: number;
      error: string;
      execution: { name: string; status: string };
      health: { color: string; verdict: string; causes: string[] };
      rollbackHealth: { color: string; verdict: string };
      states: { name: string; status: string }[];
    }>();
    expect(r.code).toBe(ExitCode.RolledBack);
    expect(out.outcome).toBe('rolled-back');
    expect(out.exitCode).toBe(3);
    expect(out.error).toBe('DeploymentRolledBack');
    expect(out.execution).toMatchObject({ name: EXECUTION_NAME, status: 'FAILED' });
    expect(out.health).toMatchObject({ color: 'Red', verdict: 'rollback' });
    expect(out.rollbackHealth).toMatchObject({ color: 'Green', verdict: 'healthy' });
    expect(out.states.map((s) => s.name)).toContain('RollBack');
    expect(out.states.every((s) => s.status === 'succeeded')).toBe(true);
  });

  it.each([
    [
      'DeploymentFailed',
      'DeployFailed',
      'FAILED_BEFORE_DEPLOY',
      ExitCode.FailedBeforeDeploy,
      'failed-before-deploy',
    ],
    ['RollbackFailed', 'RollbackFailed', 'ROLLBACK_FAILED', ExitCode.RollbackFailed, 'rollback-failed'],
    // Issue 14: a promotion rejected, unanswered or superseded changed nothing.
    ['NotApproved', 'NotApproved', 'NOT_APPROVED', ExitCode.FailedBeforeDeploy, 'not-approved'],
    ['States.Runtime', 'RollbackFailed', 'ROLLBACK_FAILED', ExitCode.ExecutionFailed, 'failed'],
  ])('exits distinctly when the execution fails with %s', async (error, failState, status, code, outcome) => {
    // Arrange
    const b = new HistoryBuilder();
    const state = { input: { target: 'antenna-prod' }, outcome: { status } };
    b.started(state.input).fail(failState, state, error, 'see the alert');
    serveExecution(sfn, { arn: ARN, name: EXECUTION_NAME, events: b.events });

    // Act
    const r = await cli(['follow', EXECUTION_NAME, '--json']);

    // Assert
    expect(r.code).toBe(code);
    expect(r.json()).toMatchObject({ outcome, exitCode: code, error });
  });

  it('shows a caught error in the state that raised it and exits 4 when nothing was deployed', async () => {
    // Arrange
    const b = new HistoryBuilder();
    const input = { target: 'antenna-prod', imageTag: 'v1.4.2' };
    b.started(input).pass('Start', { input });
    b.caught(
      'ResolveRelease',
      { input },
      'ImageNotFound',
      'tag "v1.4.2" is not in ECR repository antenna-backend',
    );
    const state = { input, error: { Error: 'ImageNotFound' }, outcome: { status: 'FAILED_BEFORE_DEPLOY' } };
    b.pass('MarkFailedBeforeDeploy', state).fail('DeployFailed', state, 'DeploymentFailed', 'stopped');
    serveExecution(sfn, { arn: ARN, name: EXECUTION_NAME, events: b.events });

    // Act
    const r = await cli(['follow', EXECUTION_NAME]);

    // Assert
    expect(r.code).toBe(ExitCode.FailedBeforeDeploy);
    expect(r.stdout).toMatch(
      /error\s+ResolveRelease\s+ImageNotFound: tag "v1\.4\.2" is not in ECR repository antenna-backend/,
    );
    expect(r.stdout).toMatch(/fail\s+ResolveRelease/);
    expect(r.stdout).toContain('Deploy failed before the environment was changed');
  });

  it('exits 0 with a note when the execution ignored the image', async () => {
    // Arrange
    const b = new HistoryBuilder();
    const input = { source: 'aws.ecr' };
    const state = { input, resolved: { ignored: { reason: 'untagged push to antenna-backend is ignored' } } };
    b.started(input)
      .pass('Start', { input })
      .task('ResolveRelease', { input }, state)
      .succeed('Ignored', state);
    serveExecution(sfn, { arn: ARN, name: EXECUTION_NAME, events: b.events });

    // Act
    const r = await cli(['follow', EXECUTION_NAME]);

    // Assert
    expect(r.code).toBe(ExitCode.Ok);
    expect(r.stdout).toContain('Nothing deployed: the execution ignored this image');
    expect(r.stdout).toContain('note: untagged push to antenna-backend is ignored');
  });

  it('exits 6 when the execution was aborted', async () => {
    // Arrange
    const { b } = untilHealthWatch();
    b.events.push({
      id: b.events.length + 1,
      type: 'ExecutionAborted',
      timestamp: new Date('2025-06-02T09:05:00Z'),
    });
    serveExecution(sfn, { arn: ARN, name: EXECUTION_NAME, events: b.events });

    // Act
    const r = await cli(['follow', EXECUTION_NAME]);

    // Assert
    expect(r.code).toBe(ExitCode.ExecutionFailed);
    expect(r.stdout).toContain('Execution aborted (ABORTED)');
  });

  it('detaches on Ctrl-C, says how to re-attach and never stops the execution', async () => {
    // Arrange: the execution is still in its health watch.
    serveExecution(sfn, {
      arn: ARN,
      name: EXECUTION_NAME,
      events: untilHealthWatch().b.events,
      finalStatus: 'RUNNING',
    });
    const interrupt = new AbortController();
    let polls = 0;

    // Act
    const r = await cli(['follow', EXECUTION_NAME, '--stage', 'dev'], {
      signal: interrupt.signal,
      onSleep: () => {
        polls += 1;
        if (polls === 3) interrupt.abort();
      },
    });

    // Assert
    expect(r.code).toBe(ExitCode.Detached);
    expect(r.stderr).toContain(
      `Detached; the execution keeps running. Re-attach with: ebship follow ${EXECUTION_NAME}`,
    );
    expect(sfn).not.toReceiveCommand(StopExecutionCommand);
  });

  it('says so when the execution does not exist (exit 2)', async () => {
    // Arrange
    sfn
      .on(DescribeExecutionCommand)
      .rejects(Object.assign(new Error('Execution Does Not Exist'), { name: 'ExecutionDoesNotExist' }));

    // Act
    const r = await cli(['follow', 'antenna-prod-manual-nope']);

    // Assert
    expect(r.code).toBe(ExitCode.Usage);
    expect(r.stderr).toContain(`no execution ${execArn('antenna-prod-manual-nope')} in us-east-1`);
  });

  it('refuses something that is neither a name nor an ARN (exit 2)', async () => {
    // Act
    const r = await cli(['follow', 'not a name!']);

    // Assert
    expect(r.code).toBe(ExitCode.Usage);
    expect(r.stderr).toContain('is neither an execution name nor a Step Functions execution ARN');
  });

  it('redraws a live line on a terminal instead of printing each start', async () => {
    // Arrange
    serveExecution(sfn, { arn: ARN, name: EXECUTION_NAME, events: healthyRun().events, perCall: 5 });

    // Act
    const r = await cli(['follow', EXECUTION_NAME], { tty: true, env: { NO_COLOR: '1' } });

    // Assert
    expect(r.code).toBe(ExitCode.Ok);
    expect(r.stdout).toContain('\r\u001b[2K');
    expect(r.stdout).not.toMatch(/start\s+ResolveRelease/);
    expect(r.stdout).toMatch(/done\s+ResolveRelease/);
  });
});
