import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load.js';
import { createClock } from '../../standin/clock.js';
import { freePort } from '../../standin/ports.js';
import { type PushOutcome, runScenario } from '../../standin/run-scenario.js';
import { loadScenario } from '../../standin/scenarios.js';

/**
 * Alarm gates and the early abort (issue 13), end to end on the stand-in: an ECR push through the
 * real state machine and handlers, the unchanged SDK clients (CloudWatch over AWS JSON 1.0, EB over
 * the query protocol). Asserted is what on-call sees: how it ended, the alert, EB's calls, and when.
 */
const config = loadConfig('ebship.yml');
const port = await freePort();
const run = async (name: string) => {
  const outcome = await runScenario(loadScenario(name), {
    config,
    configPath: 'ebship.yml',
    clock: createClock(240),
    port,
  });
  return outcome.pushes.at(-1) as PushOutcome;
};

/** Simulated seconds from the execution's start to the first time `state` was entered. */
function enteredAt(push: PushOutcome, state: string, nth = 0): number {
  const start = Date.parse(String(push.history[0]?.timestamp));
  const entered = push.history.filter(
    (e) => e.type === 'TaskStateEntered' && (e.stateEnteredEventDetails as { name?: string })?.name === state,
  )[nth];
  if (!entered) throw new Error(`${state} was never entered`);
  return (Date.parse(String(entered.timestamp)) - start) / 1000;
}

describe('alarm gates (health.alarms) on the stand-in', () => {
  // CloudWatch API reference, DescribeAlarms (StateValue, StateReason, StateTransitionedTimestamp)
  // and SetAlarmState: the scenario moves antenna-prod-5xx to ALARM 270 s after the update started.
  it('rolls back when an alarm that was OK goes to ALARM during the bake, naming it and its reason', {
    timeout: 90_000,
  }, async () => {
    const push = await run('alarm-after-deploy');

    expect(push).toMatchObject({ status: 'FAILED', error: 'DeploymentRolledBack' });
    expect(push.finalColor).toBe('Green');
    expect(push.finalVersion).not.toMatch(/^v1\.3\.0-/);
    const message = push.alerts[0]?.message ?? '';
    expect(push.alerts[0]?.subject).toMatch(/ROLLED BACK/);
    expect(message).toMatch(
      /alarm antenna-prod-5xx went to ALARM at .*, after the update started \(OK before it\): Threshold Crossed: 1 out of the last 1 datapoints \[37\.0/,
    );
    // EB's health stayed Green: only the alarm could have rolled this back.
    expect(message).not.toMatch(/health is Red/);
    expect(push.ebOperations.filter((op) => op === 'UpdateEnvironment')).toHaveLength(2);
  });

  it('deploys when an alarm was already firing before the deploy, and reports it without blaming it', {
    timeout: 90_000,
  }, async () => {
    const push = await run('alarm-already-firing');

    expect(push.status).toBe('SUCCEEDED');
    expect(push.finalVersion).toMatch(/^v1\.3\.0-/);
    expect(push.alerts[0]?.subject).toMatch(/Deployed: antenna-prod/);
    expect(push.alerts[0]?.message).toMatch(
      /Warnings:[\s\S]*alarm antenna-prod-p95-latency was already in ALARM before the deploy .*, so this deploy is not blamed for it: Threshold Crossed: 3 out of the last 3/,
    );
  });
});

describe('early abort (health.abortAfterSeconds) on the stand-in', () => {
  // EB developer guide: the command timeout defaults to 600 s; the scenario's crash loop lasts until it.
  it('aborts a crash-looping update and rolls back well before EB would give up at 600 s', {
    timeout: 90_000,
  }, async () => {
    const push = await run('crash-loop');

    expect(push).toMatchObject({ status: 'FAILED', error: 'DeploymentRolledBack' });
    expect(push.ebOperations).toContain('AbortEnvironmentUpdate');
    expect(push.finalVersion).not.toMatch(/^v1\.3\.0-/);
    expect(push.finalColor).toBe('Green');
    const message = push.alerts[0]?.message ?? '';
    expect(message).toMatch(
      /early abort: every instance on v1\.3\.0-\w+ has been Degraded or Severe for \d+s/,
    );
    expect(message).toContain('i-00000000000000001 (Severe)');
    expect(message).toContain('Target.FailedHealthChecks');
    // Simulated seconds from the deploy's UpdateEnvironment to AbortUpdate and to the rollback.
    const deployed = enteredAt(push, 'DeployVersion');
    const aborted = enteredAt(push, 'AbortUpdate') - deployed;
    const rolledBack = enteredAt(push, 'RollBack') - deployed;
    console.log(
      `crash-loop: AbortUpdate ${Math.round(aborted)} s and RollBack ${Math.round(rolledBack)} s after DeployVersion (EB's command timeout: 600 s)`,
    );
    expect(aborted).toBeGreaterThanOrEqual(180);
    expect(rolledBack).toBeLessThan(600);
  });
});
