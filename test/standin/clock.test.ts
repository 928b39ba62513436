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
    const RealDate = Date;
    const realNow = Date.now();
    // Ten years ahead of the real clock, whatever year the tests run in.
    const future = realNow + 10 * 365 * 86_400_000;
    const clock = createClock(240, future);
    const uninstall = installClock(clock);
    try {
      expect(Math.abs(Date.now() - future)).toBeLessThan(86_400_000);
      expect(new Date().getUTCFullYear()).toBe(new RealDate(future).getUTCFullYear());
      expect(new Date('2026-11-23T10:00:00Z').toISOString()).toBe('2026-11-23T10:00:00.000Z');
    } finally {
      uninstall();
    }
    expect(globalThis.Date).toBe(RealDate);
    expect(Math.abs(Date.now() - realNow)).toBeLessThan(86_400_000);
  });

  it('wakes a sleeper at exactly its simulated instant, however late its timer fires', async () => {
    const clock = createClock(1000);
    const start = clock.now();
    const sleeping = clock.sleep(30_000);
    // A busy host: the event loop is blocked well past the sleeper's real deadline (30 ms).
    const until = performance.now() + 80;
    while (performance.now() < until) {
      // spin
    }
    // 80 ms at x1000 would be 80 s: time stopped at the sleeper's instant (30 s, and the few
    // simulated ms it took to call sleep) and waits there for it.
    const atDeadline = clock.now();
    expect(atDeadline - start).toBeGreaterThanOrEqual(30_000);
    expect(atDeadline - start).toBeLessThan(35_000);
    await sleeping;
    expect(clock.now()).toBe(atDeadline);
  });

  it('runs at real speed while held, and jumps', async () => {
    const clock = createClock(1000);
    const start = clock.now();
    const release = clock.hold?.();
    await new Promise((r) => setTimeout(r, 50));
    const held = clock.now() - start;
    release?.();
    clock.jump?.(5_000);
    // 50 ms held is ~50 simulated ms, not 50 s at x1000.
    expect(held).toBeGreaterThanOrEqual(45);
    expect(held).toBeLessThan(5_000);
    expect(clock.now() - start).toBeGreaterThanOrEqual(5_045);
  });
});
