import { describe, expect, it } from 'vitest';
import { createClock, installClock } from '../../standin/clock.js';

describe('the scaled clock', () => {
  it('runs simulated time faster than real time by its scale', async () => {
    const clock = createClock(240);
    const before = clock.now();
    await new Promise((r) => setTimeout(r, 50));
    expect(clock.now() - before).toBeGreaterThanOrEqual(50 * 240 * 0.9);
  });

  it('never runs backwards: a later clock starts where the last one got to', async () => {
    const fast = createClock(10_000);
    await new Promise((r) => setTimeout(r, 20));
    const reached = fast.now();
    const next = createClock(1);
    expect(next.now()).toBeGreaterThanOrEqual(reached);
  });

  it('makes Date read the simulated clock while installed, and restores it', () => {
    const clock = createClock(240, Date.parse('2030-01-01T00:00:00Z'));
    const uninstall = installClock(clock);
    try {
      expect(new Date().getUTCFullYear()).toBe(2030);
      expect(new Date('2026-11-23T10:00:00Z').toISOString()).toBe('2026-11-23T10:00:00.000Z');
    } finally {
      uninstall();
    }
    expect(new Date().getUTCFullYear()).toBeLessThan(2030);
  });
});
