import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load.js';
import { createClock } from '../../standin/clock.js';
import { freePort } from '../../standin/ports.js';
import { runScenario } from '../../standin/run-scenario.js';
import { loadScenario } from '../../standin/scenarios.js';
import type { TaskHandler, TaskHandlerResolver } from '../../standin/services/step-functions.js';

/**
 * Step durations describe the simulated deployment, not the host: the same scenario run on an idle
 * machine and under a CPU hog (busy processes on every core, and every handler burning CPU first)
 * gives the same step durations. Simulated time stands still while a handler computes, and each
 * invocation costs one simulated second.
 */
const config = loadConfig('ebship.yml');
const port = await freePort();
const hogs: ChildProcess[] = [];
afterAll(() => {
  for (const h of hogs) h.kill();
});

// The real handlers (functions/registry.ts), loaded once the stand-in has set the environment.
const registry = async (): Promise<TaskHandlerResolver> => {
  const mod = (await import('../../functions/registry.js')) as {
    localTaskHandlers: (d: unknown) => Record<string, TaskHandler>;
  };
  return (d) => mod.localTaskHandlers(d);
};

function burn(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

async function stepDurations(cpuHog: boolean): Promise<Map<string, number>> {
  let resolver: TaskHandlerResolver | undefined;
  const outcome = await runScenario(loadScenario('healthy'), {
    config,
    configPath: 'ebship.yml',
    clock: createClock(240),
    port,
    taskHandlers: (definition) => {
      if (!resolver) throw new Error('handlers not loaded');
      const handlers = resolver(definition);
      if (!cpuHog) return handlers;
      return Object.fromEntries(
        Object.entries(handlers).map(([name, fn]) => [
          name,
          async (input: unknown) => {
            burn(40);
            return fn(input);
          },
        ]),
      );
    },
    onReady: async () => {
      resolver = await registry();
    },
  });
  const push = outcome.pushes[0];
  expect(push?.status).toBe('SUCCEEDED');
  // The first time each Task state ran: entered → exited, in simulated seconds.
  const durations = new Map<string, number>();
  const entered = new Map<string, number>();
  for (const e of push?.history ?? []) {
    const details = (e.stateEnteredEventDetails ?? e.stateExitedEventDetails) as
      | { name?: string }
      | undefined;
    const name = details?.name;
    if (!name) continue;
    if (e.type === 'TaskStateEntered') entered.set(name, e.timestamp.getTime());
    if (e.type === 'TaskStateExited' && !durations.has(name) && entered.has(name)) {
      durations.set(name, (e.timestamp.getTime() - (entered.get(name) ?? 0)) / 1000);
    }
  }
  return durations;
}

describe('printed step durations', () => {
  it('are the same on an idle machine and under a CPU hog', { timeout: 120_000 }, async () => {
    const idle = await stepDurations(false);
    for (let i = 0; i < 2; i++) hogs.push(spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }));
    const loaded = await stepDurations(true);
    for (const h of hogs.splice(0)) h.kill();

    expect([...loaded.keys()]).toEqual([...idle.keys()]);
    expect(idle.size).toBeGreaterThan(5);
    for (const [step, seconds] of idle) {
      // The event-driven watch's waits (waitForTaskToken) last until EB's event or the fallback
      // poll, like a Wait state: they measure EB, not a handler's compute.
      if (step.endsWith('HealthEvent')) continue;
      // One simulated second per invocation, whatever the CPU did; the hog's 40 ms per handler at
      // x240 would have added 9.6 s.
      expect(seconds, step).toBeGreaterThanOrEqual(1);
      expect(Math.abs((loaded.get(step) ?? 0) - seconds), step).toBeLessThan(1);
    }
  });
});
