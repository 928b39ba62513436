import type { HistoryEvent } from '@aws-sdk/client-sfn';
import type { DeployState, HealthProgress, Release } from '../../lib/workflow-state.js';
import { DIGEST, OLD_DIGEST } from './harness.js';

/**
 * Builds Step Functions execution histories the way AWS writes them (TaskStateEntered,
 * LambdaFunctionScheduled/Started/Succeeded, TaskStateExited, ...), one simulated second apart
 * unless told otherwise, for the paths of state-machines/deploy.asl.yml.
 */
export class HistoryBuilder {
  readonly events: HistoryEvent[] = [];
  private t: number;

  constructor(start = Date.parse('2025-06-02T09:00:00Z')) {
    this.t = start;
  }

  private push(type: string, details: Partial<HistoryEvent> = {}, advance = 1): this {
    this.t += advance * 1000;
    const id = this.events.length + 1;
    this.events.push({
      id,
      previousEventId: id - 1,
      timestamp: new Date(this.t),
      type,
      ...details,
    } as HistoryEvent);
    return this;
  }

  started(input: unknown): this {
    return this.push(
      'ExecutionStarted',
      { executionStartedEventDetails: { input: JSON.stringify(input) } },
      0,
    );
  }

  entered(type: string, name: string, state: unknown): this {
    return this.push(`${type}StateEntered`, {
      stateEnteredEventDetails: { name, input: JSON.stringify(state) },
    });
  }

  exited(type: string, name: string, state: unknown, seconds = 1): this {
    return this.push(
      `${type}StateExited`,
      { stateExitedEventDetails: { name, output: JSON.stringify(state) } },
      seconds,
    );
  }

  task(name: string, before: unknown, after: unknown, seconds = 1): this {
    this.entered('Task', name, before);
    this.push('LambdaFunctionScheduled', {}, 0).push('LambdaFunctionStarted', {}, 0);
    this.push('LambdaFunctionSucceeded', {}, seconds);
    return this.exited('Task', name, after, 0);
  }

  /** A Task whose error is caught: the state exits without output. */
  caught(name: string, before: unknown, error: string, message: string): this {
    this.entered('Task', name, before);
    this.push('LambdaFunctionScheduled', {}, 0).push('LambdaFunctionStarted', {}, 0);
    this.push('LambdaFunctionFailed', {
      lambdaFunctionFailedEventDetails: {
        error,
        cause: JSON.stringify({ errorType: error, errorMessage: message, trace: [] }),
      },
    });
    return this.push('TaskStateExited', { stateExitedEventDetails: { name } }, 0);
  }

  pass(name: string, state: unknown): this {
    return this.entered('Pass', name, state).exited('Pass', name, state, 0);
  }

  choice(name: string, state: unknown): this {
    return this.entered('Choice', name, state).exited('Choice', name, state, 0);
  }

  wait(name: string, state: unknown, seconds: number): this {
    return this.entered('Wait', name, state).exited('Wait', name, state, seconds);
  }

  succeed(name: string, state: unknown): this {
    this.entered('Succeed', name, state).exited('Succeed', name, state, 0);
    return this.push(
      'ExecutionSucceeded',
      { executionSucceededEventDetails: { output: JSON.stringify(state) } },
      0,
    );
  }

  fail(name: string, state: unknown, error: string, cause: string): this {
    this.entered('Fail', name, state);
    return this.push('ExecutionFailed', { executionFailedEventDetails: { error, cause } }, 0);
  }
}

export const EXECUTION_NAME = 'antenna-prod-manual-3f2a9c1b7d4e-20250602T090000';

export const release: Release = {
  target: 'antenna-prod',
  application: 'antenna',
  environment: 'antenna-prod',
  platform: 'ecs',
  repository: 'antenna-backend',
  imageTag: 'v1.4.2',
  imageDigest: DIGEST,
  imageUri: `123456789012.dkr.ecr.us-east-1.amazonaws.com/antenna-backend@${DIGEST}`,
  versionLabel: 'v1.4.2-3f2a9c1b7d4e',
  trigger: 'manual',
  existingVersion: false,
  hasMigrationCheck: false,
  executionId: `arn:aws:states:us-east-1:123456789012:execution:ebship-dev-deploy:${EXECUTION_NAME}`,
  startedAt: '2025-06-02T09:00:00.000Z',
};

const health = (h: Partial<HealthProgress>): HealthProgress => ({
  verdict: 'wait',
  polls: 1,
  nextPollSeconds: 15,
  causes: [],
  events: [],
  ...h,
});

const INPUT = { target: 'antenna-prod', imageTag: 'v1.4.2', imageDigest: DIGEST, trigger: 'manual' };

/** Up to the health watch: resolve, lock, secrets, bundle, version, deploy. */
export function untilHealthWatch(b = new HistoryBuilder()): { b: HistoryBuilder; state: DeployState } {
  let state: DeployState & Record<string, unknown> = { input: INPUT };
  b.started(INPUT).pass('Start', state);
  const resolved = { ...state, resolved: { release } };
  b.task('ResolveRelease', state, resolved).choice('IsIgnored', resolved);
  state = { input: INPUT, release };
  b.pass('UseRelease', state);
  const locked = { ...state, lock: { owner: release.executionId } };
  b.task('AcquireLock', state, locked).choice('IsSkipped', locked);
  state = { ...locked, secrets: { checked: ['DATABASE_URL'], arns: {}, warnings: [] } };
  b.task('ValidateSecrets', locked, state);
  const bundled = {
    ...state,
    bundle: { bucket: 'b', key: 'k', sha256: 'x', bytes: 1614, files: ['a', 'b'], warnings: [] },
  };
  b.task('BuildBundle', state, bundled);
  state = {
    ...bundled,
    version: {
      label: release.versionLabel,
      reused: false,
      status: 'processed',
      polls: 1,
      nextPollSeconds: 5,
    },
  };
  b.task('CreateAppVersion', bundled, state).choice('IsVersionProcessed', state);
  const deployed = {
    ...state,
    deploy: {
      fromVersion: 'v1.4.1-0b1c2d3e4f5a',
      toVersion: release.versionLabel,
      startedAt: '2025-06-02T09:00:20.000Z',
      firstPollSeconds: 30,
    },
  };
  b.task('DeployVersion', state, deployed, 3);
  const watching = { ...deployed, health: health({ polls: 0, nextPollSeconds: 30 }) };
  b.pass('StartHealthWatch', watching);
  return { b, state: watching };
}

export function healthyRun(): HistoryBuilder {
  const { b, state } = untilHealthWatch();
  b.wait('WaitForHealth', state, 30);
  const grey = {
    ...state,
    health: health({ color: 'Grey', status: 'Updating', polls: 1, nextPollSeconds: 15 }),
  };
  b.task('CheckHealth', state, grey).choice('HealthVerdict', grey).wait('WaitForHealth', grey, 15);
  const green = {
    ...state,
    health: health({ color: 'Green', healthStatus: 'Ok', status: 'Ready', verdict: 'healthy', polls: 2 }),
  };
  b.task('CheckHealth', grey, green).choice('HealthVerdict', green).choice('HasMigrationCheck', green);
  const done = { ...green, outcome: { status: 'SUCCEEDED' } };
  b.pass('MarkSucceeded', done);
  b.task('RecordOutcome', done, { ...done, recorded: true });
  b.task('NotifyOnCall', done, { ...done, recorded: true, notified: { messageId: 'm' } });
  b.choice('Outcome', done);
  return b.succeed('Deployed', done);
}

export function redRun(): HistoryBuilder {
  const { b, state } = untilHealthWatch();
  b.wait('WaitForHealth', state, 30);
  const red = {
    ...state,
    health: health({
      color: 'Red',
      healthStatus: 'Severe',
      status: 'Ready',
      verdict: 'rollback',
      polls: 1,
      causes: ['100.0 % of the requests are failing with HTTP 5xx.'],
    }),
  };
  b.task('CheckHealth', state, red).choice('HealthVerdict', red);
  const rollingBack = {
    ...red,
    rollback: {
      fromVersion: release.versionLabel,
      toVersion: 'v1.4.1-0b1c2d3e4f5a',
      startedAt: '2025-06-02T09:01:10.000Z',
      firstPollSeconds: 30,
    },
  };
  b.task('RollBack', red, rollingBack);
  const watching = { ...rollingBack, rollbackHealth: health({ polls: 0, nextPollSeconds: 30 }) };
  b.pass('StartRollbackWatch', watching).wait('WaitForRollbackHealth', watching, 30);
  const back = {
    ...watching,
    rollbackHealth: health({
      color: 'Green',
      status: 'Ready',
      healthStatus: 'Ok',
      verdict: 'healthy',
      polls: 1,
    }),
  };
  b.task('CheckRollbackHealth', watching, back).choice('RollbackVerdict', back);
  const done = { ...back, outcome: { status: 'ROLLED_BACK' } };
  b.pass('MarkRolledBack', done).task('RecordOutcome', done, done).task('NotifyOnCall', done, done);
  b.choice('Outcome', done);
  return b.fail(
    'RolledBack',
    done,
    'DeploymentRolledBack',
    'The new version failed its checks and ebship restored the last good version. The alert says why.',
  );
}

export { OLD_DIGEST };
