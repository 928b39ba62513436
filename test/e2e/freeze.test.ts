import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load.js';
import { createClock } from '../../standin/clock.js';
import { freePort } from '../../standin/ports.js';
import { type PushOutcome, runScenario } from '../../standin/run-scenario.js';
import { loadScenario } from '../../standin/scenarios.js';
import type { World } from '../../standin/world.js';
import { ebship } from './ebship-cli.js';

/**
 * Freezes end to end (issue 14), through the real CLI, state machine, handlers and SDK clients on
 * the stand-in: `ebship freeze` holds a push (the environment does not change), and `ebship
 * unfreeze` deploys it, once, even when Lambda re-ran the step that held it (Step Functions retries
 * a Task whose Lambda failed after running: AWS Lambda developer guide, "Error handling and
 * automatic retries": a function can run more than once for one request).
 */
const port = await freePort();
const config = loadConfig('ebship.yml');

describe('a freeze end to end', () => {
  it('holds a push while frozen, and `ebship unfreeze` deploys it once, after AcquireLock ran twice', {
    timeout: 120_000,
  }, async () => {
    let world: World | undefined;
    const seen: { frozen?: string; heldVersion?: string; unfreeze?: string; released?: string } = {};
    const outcome = await runScenario(loadScenario('healthy'), {
      config,
      configPath: 'ebship.yml',
      clock: createClock(240),
      port,
      onReady: async (w) => {
        world = w;
        const frozen = await ebship(
          ['freeze', 'antenna-prod', '--reason', 'INC-42: payments down'],
          'ebship.yml',
        );
        seen.frozen = frozen.stdout + frozen.stderr;
        // The hold takes effect, then the Lambda's answer is lost: Step Functions runs AcquireLock again.
        w.faults.add({ fault: 'error-after', service: 'lambda', operation: 'AcquireLock' });
      },
      follow: async (executionArn) => {
        const w = world as World;
        await w.sfn.executions.get(executionArn)?.done;
        seen.heldVersion = w.eb.snapshot('antenna-prod')?.versionLabel;
        const unfreeze = await ebship(['unfreeze', 'antenna-prod'], 'ebship.yml');
        seen.unfreeze = unfreeze.stdout + unfreeze.stderr;
        const released = [...w.sfn.executions.values()].find((e) => e.name.includes('-unfrozen-'));
        await released?.done;
        seen.released = released?.status;
      },
    });
    const push = outcome.pushes[0] as PushOutcome;

    expect(seen.frozen).toContain('Froze antenna-prod');
    expect(push.faults.map((f) => f.fault)).toContain('error-after');
    // Held: the execution ends without touching the environment.
    expect(
      push.history.map((e) => (e.stateEnteredEventDetails as { name?: string } | undefined)?.name),
    ).toContain('Skipped');
    expect(seen.heldVersion).toMatch(/^v1\.2\.0-/);
    // Released: the held push deploys, once.
    expect(seen.unfreeze).toContain('v1.3.0');
    expect(seen.released).toBe('SUCCEEDED');
    expect(push.finalVersion).toMatch(/^v1\.3\.0-/);
    expect(push.updatesApplied).toEqual([push.finalVersion]);
    expect(
      [...(world as World).sfn.executions.values()].filter((e) => e.name.includes('-unfrozen-')),
    ).toHaveLength(1);
  });
});
