import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { ListCommandsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load.js';
import { createClock } from '../../standin/clock.js';
import { freePort } from '../../standin/ports.js';
import { type PushOutcome, runScenario } from '../../standin/run-scenario.js';
import { type Scenario, scenarioSchema } from '../../standin/scenarios.js';

/**
 * Issue 11's release phase under the ways SSM really fails, through the stand-in's wire faults
 * (standin/faults.ts) with the real SDK clients, their retries and the real state machine:
 * - SendCommand has no idempotency token (botocore ssm service-2.json: SendCommandRequest has no
 *   ClientToken), so a lost reply that the SDK or Step Functions retries would run `migrate` twice;
 * - GetCommandInvocation throttled or failing with a 5xx says nothing about the release;
 * - GetCommandInvocation answers InvocationDoesNotExist right after SendCommand (SSM API reference,
 *   GetCommandInvocation: the invocation is not there yet), which is no failure.
 */

const config = loadConfig('ebship.yml');
// One endpoint for the whole file: the handlers' SDK clients are created once per process.
// Picked by the OS (a port derived from the pid could be taken, or fall in the ephemeral range).
const port = await freePort();

interface ReleaseRun {
  push: PushOutcome;
  /** The release documents' commands SSM received, whatever the replies. */
  releaseCommands: number;
}

async function deployWithRelease(faults: unknown[]): Promise<ReleaseRun> {
  const scenario: Scenario = {
    ...scenarioSchema.parse({
      description: 'release phase under SSM faults',
      pushes: [{ tag: 'v1.3.0', expect: 'SUCCEEDED' }],
      database: {
        applied: ['stations.0001_initial'],
        images: {
          'v1.2.0': ['stations.0001_initial'],
          'v1.3.0': ['stations.0001_initial', 'stations.0002_station_location'],
        },
      },
      environment: { onUpdate: [{ durationSeconds: 240, result: 'deployed' }] },
      faults,
    }),
    name: 'release-faults',
  };
  let releaseCommands = -1;
  const outcome = await runScenario(scenario, {
    config,
    configPath: 'ebship.yml',
    clock: createClock(240),
    port,
    follow: async (executionArn) => {
      const sfn = new SFNClient({});
      for (;;) {
        const { status } = await sfn.send(new DescribeExecutionCommand({ executionArn }));
        if (status !== 'RUNNING') break;
        await new Promise((r) => setTimeout(r, 25));
      }
      const { Commands } = await new SSMClient({}).send(new ListCommandsCommand({}));
      releaseCommands = (Commands ?? []).filter((c) => /-release-/.test(c.DocumentName ?? '')).length;
    },
  });
  const push = outcome.pushes[0];
  if (!push) throw new Error('no push ran');
  return { push, releaseCommands };
}

const context = (run: ReleaseRun) =>
  `faults fired: ${JSON.stringify(run.push.faults.map((f) => `${f.fault} ${f.service} ${f.operation}`))}; status ${run.push.status} ${run.push.error ?? ''} ${run.push.cause ?? ''}`;

describe('the release phase under SSM faults (stand-in, real SDK clients)', () => {
  it('a lost SendCommand reply after SSM took the command: migrate runs once and the deploy goes on', async () => {
    const run = await deployWithRelease([{ fault: 'reply-lost', service: 'ssm', operation: 'SendCommand' }]);

    expect(
      run.push.faults.map((f) => f.fault),
      context(run),
    ).toContain('reply-lost');
    expect(run.releaseCommands, context(run)).toBe(1);
    expect(run.push.status, context(run)).toBe('SUCCEEDED');
  });

  it('a 5xx after SSM took the command (the SDK would resend it): migrate runs once', async () => {
    const run = await deployWithRelease([{ fault: 'error-after', service: 'ssm', operation: 'SendCommand' }]);

    expect(run.releaseCommands, context(run)).toBe(1);
    expect(run.push.status, context(run)).toBe('SUCCEEDED');
  });

  it('StartRelease run again after it sent (a Lambda error after the handler; Step Functions retries): migrate runs once', async () => {
    const run = await deployWithRelease([
      { fault: 'error-after', service: 'lambda', operation: 'StartRelease', times: 2 },
    ]);

    expect(
      run.push.faults.filter((f) => f.operation === 'StartRelease'),
      context(run),
    ).toHaveLength(2);
    expect(run.releaseCommands, context(run)).toBe(1);
    expect(run.push.status, context(run)).toBe('SUCCEEDED');
  });

  it('GetCommandInvocation throttled, then failing with 5xx, right after SendCommand: no verdict, the release passes', async () => {
    const run = await deployWithRelease([
      { fault: 'throttle', service: 'ssm', operation: 'GetCommandInvocation', times: 6 },
      { fault: 'error-before', service: 'ssm', operation: 'GetCommandInvocation', skip: 6, times: 4 },
    ]);

    expect(run.push.faults.length, context(run)).toBeGreaterThanOrEqual(10);
    expect(run.releaseCommands, context(run)).toBe(1);
    expect(run.push.status, context(run)).toBe('SUCCEEDED');
  });
});
