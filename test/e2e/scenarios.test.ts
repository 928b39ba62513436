import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load.js';
import { createClock } from '../../standin/clock.js';
import { freePort } from '../../standin/ports.js';
import { type PushOutcome, runScenario } from '../../standin/run-scenario.js';
import { loadScenario, scenarioConfigPath, scenarioNames } from '../../standin/scenarios.js';

/**
 * Every stand-in scenario, end to end: an ECR push through the project's own EventBridge rule, the
 * real state machine and handlers, the unchanged SDK clients on the stand-in's wire protocols.
 * Asserted is what a user sees: how the execution ended, what the environment runs, its colour,
 * the alert, and what EB was asked to do.
 */
const config = loadConfig('ebship.yml');
// One endpoint for the whole file: the handlers' SDK clients are created once per process. The OS
// picks the port (one derived from the pid could collide with another file's dynalite).
const port = await freePort();
const run = (name: string, scale?: number) => {
  const scenario = loadScenario(name);
  // A scenario may bring its own ebship.yml (standin/scenarios/*.ebship.yml).
  const configPath = scenarioConfigPath(scenario, 'ebship.yml');
  return runScenario(scenario, {
    config: configPath === 'ebship.yml' ? config : loadConfig(configPath),
    configPath,
    clock: createClock(scale ?? scenario.scale ?? 240),
    port,
  });
};

interface Expectation {
  error?: string;
  finalVersion: 'new' | 'previous';
  finalColor?: string;
  subject: RegExp;
  message?: RegExp;
  /** UpdateEnvironment calls EB received: the deploy and, when rolled back, the rollback. */
  updates: number;
  aborted?: boolean;
}

const expectations: Record<string, Expectation> = {
  healthy: { finalVersion: 'new', finalColor: 'Green', subject: /Deployed: antenna-prod/, updates: 1 },
  // Issue 11: a release that adds a migration. The release phase applies it before the update, so
  // `migrate --check` passes after; without one, the check finds it unapplied and ebship rolls back.
  'migration-with-release-phase': {
    finalVersion: 'new',
    finalColor: 'Green',
    subject: /Deployed: antenna-prod/,
    message: /Migration check: passed[\s\S]*Release phase: passed/,
    updates: 1,
  },
  'migration-without-release-phase': {
    error: 'DeploymentRolledBack',
    finalVersion: 'previous',
    finalColor: 'Green',
    subject: /ROLLED BACK/,
    message: /\[ \] stations\.0003_station_calibration/,
    updates: 2,
  },
  'red-after-deploy': {
    error: 'DeploymentRolledBack',
    finalVersion: 'previous',
    finalColor: 'Green',
    subject: /ROLLED BACK/,
    message: /Red/,
    updates: 2,
  },
  // Issue 12: the environment streams its logs; the alert's tail is read from CloudWatch Logs.
  'red-after-deploy-cloudwatch-logs': {
    error: 'DeploymentRolledBack',
    finalVersion: 'previous',
    subject: /ROLLED BACK/,
    message: /eb-current-app\/stdouterr\.log:\n(.*\n)*.*ImproperlyConfigured/,
    updates: 2,
  },
  'grey-stuck': {
    error: 'DeploymentRolledBack',
    finalVersion: 'previous',
    subject: /ROLLED BACK/,
    message: /health stayed NoData for \d+s after the update finished/,
    updates: 2,
  },
  'partial-deploy': {
    error: 'DeploymentRolledBack',
    finalVersion: 'previous',
    subject: /ROLLED BACK/,
    // Issue 12: a partial deploy names each instance and the version it ran when it was judged.
    message:
      /complete, but with errors[\s\S]*Instances when the deploy was judged\n\s+i-0+1\s+v1\.3\.0-\w+\s+Deployed[^\n]*\n\s+i-0+2\s+v1\.2\.0-\w+\s+Failed/,
    updates: 2,
  },
  'never-converges': {
    error: 'DeploymentRolledBack',
    finalVersion: 'previous',
    subject: /ROLLED BACK/,
    message: /no healthy verdict/,
    // Aborting returns EB to the previous version: the rollback verifies it, it need not redeploy.
    updates: 1,
    aborted: true,
  },
  'deploy-fails-and-reverts': {
    error: 'DeploymentRolledBack',
    finalVersion: 'previous',
    subject: /ROLLED BACK/,
    message: /Failed to deploy application\./,
    // EB reverted by itself: the rollback verifies the good version, it does not redeploy it.
    updates: 1,
  },
  'migrations-pending': {
    error: 'DeploymentRolledBack',
    finalVersion: 'previous',
    subject: /ROLLED BACK/,
    message: /\[ \]/,
    updates: 2,
  },
  'secret-missing': {
    error: 'DeploymentFailed',
    finalVersion: 'previous',
    finalColor: 'Green',
    subject: /environment unchanged/,
    message: /antenna\/prod\/sendgrid-api-key/,
    updates: 0,
  },
  'rollback-also-fails': {
    error: 'RollbackFailed',
    finalVersion: 'previous',
    subject: /ROLLBACK FAILED/,
    message: /manual/i,
    updates: 2,
  },
};

describe('stand-in scenarios end to end', () => {
  it('has an expectation for every scenario file', () => {
    expect(
      scenarioNames()
        .filter((n) => n !== 'rehearsal')
        .sort(),
    ).toEqual(
      [
        ...Object.keys(expectations),
        'throttling-storm',
        'update-reply-lost',
        // lost-push and drift: test/e2e/reconcile.test.ts.
        'lost-push',
        'drift',
        // Alarm gates and early abort (issue 13): test/e2e/gates.test.ts.
        'alarm-after-deploy',
        'alarm-already-firing',
        'crash-loop',
        // Promotion (issue 14): test/e2e/promote.test.ts.
        'promote',
        'promote-after-rollback',
      ].sort(),
    );
  });

  it.each(Object.entries(expectations))('%s', { timeout: 60_000 }, async (name, want) => {
    const outcome = await run(name);
    const push = outcome.pushes.at(-1) as PushOutcome;
    const previous = outcome.pushes.length > 1 ? outcome.pushes.at(-2)?.finalVersion : undefined;

    expect(push.status).toBe(want.error ? 'FAILED' : 'SUCCEEDED');
    expect(push.error).toBe(want.error);
    if (want.finalVersion === 'new')
      expect(push.finalVersion).toMatch(new RegExp(`^${push.tag.replaceAll('.', '\\.')}-`));
    else expect(push.finalVersion).not.toMatch(new RegExp(`^${push.tag.replaceAll('.', '\\.')}-`));
    if (previous) expect(push.finalVersion).toBe(previous);
    if (want.finalColor) expect(push.finalColor).toBe(want.finalColor);
    expect(push.alerts).toHaveLength(1);
    expect(push.alerts[0]?.subject).toMatch(want.subject);
    if (want.message) expect(push.alerts[0]?.message).toMatch(want.message);
    expect(push.ebOperations.filter((op) => op === 'UpdateEnvironment')).toHaveLength(want.updates);
    if (want.updates === 0) expect(push.ebOperations).not.toContain('CreateApplicationVersion');
    expect(push.ebOperations.includes('AbortEnvironmentUpdate')).toBe(want.aborted ?? false);
  });

  // The SDK backs off throttled calls in real time, inside a handler, where simulated time runs at
  // real speed: its waits take as long as on AWS, at any scale.
  it('survives a throttling storm: EB throttles, the SDK and Step Functions retry, and it deploys', {
    timeout: 120_000,
  }, async () => {
    const outcome = await run('throttling-storm');
    const push = outcome.pushes.at(-1) as PushOutcome;

    expect(outcome.throttled).toBeGreaterThan(0);
    expect(push.status).toBe('SUCCEEDED');
    expect(push.finalVersion).toMatch(/^v1\.3\.0-/);
    expect(push.alerts[0]?.subject).toMatch(/Deployed: antenna-prod/);
    expect(push.ebOperations.filter((op) => op === 'UpdateEnvironment')).toHaveLength(1);
  });

  // A fault from the scenario's data: EB applies UpdateEnvironment, then the reply is lost. The
  // deploy must still end on the new version, Green, with a "Deployed" alert.
  it('deploys when the UpdateEnvironment reply is lost after EB applied it', {
    timeout: 60_000,
  }, async () => {
    const outcome = await run('update-reply-lost');
    const push = outcome.pushes.at(-1) as PushOutcome;

    expect(push.faults).toMatchObject([
      { fault: 'reply-lost', service: 'elasticbeanstalk', operation: 'UpdateEnvironment' },
    ]);
    expect(push.status).toBe('SUCCEEDED');
    expect(push.finalVersion).toMatch(/^v1\.3\.0-/);
    expect(push.finalColor).toBe('Green');
    expect(push.alerts.map((a) => a.subject)).toEqual([expect.stringMatching(/Deployed: antenna-prod/)]);
  });
});
