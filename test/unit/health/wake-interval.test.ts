import { describe, expect, it } from 'vitest';
import { withFallback } from '../../../lib/health/wake-interval.js';
import type { HealthProgress } from '../../../lib/workflow-state.js';

const policy = { bakeSeconds: 60, graceSeconds: 120 };
const read = (at: string, extra: Partial<HealthProgress> = {}): HealthProgress => ({
  verdict: 'wait',
  polls: 3,
  nextPollSeconds: 15,
  causes: [],
  events: [],
  lastReadAt: at,
  ...extra,
});
const T0 = '2026-12-01T10:00:00.000Z';
const at = (s: number) => new Date(Date.parse(T0) + s * 1000).toISOString();

describe('the event-driven watch fallback interval', () => {
  it('waits for an event up to health.fallbackSeconds (60 s, jittered down by at most 20 %)', () => {
    expect(withFallback(read(at(0)), undefined, policy, () => 1).fallbackSeconds).toBe(60);
    expect(withFallback(read(at(0)), undefined, policy, () => 0).fallbackSeconds).toBe(48);
    expect(
      withFallback(read(at(0)), undefined, { ...policy, fallbackSeconds: 30 }, () => 1).fallbackSeconds,
    ).toBe(30);
  });

  it('never waits past the end of the bake, so a healthy verdict is not late', () => {
    const baking = read(at(45), { healthySince: at(0), color: 'Green', convergedAt: at(0) });
    expect(withFallback(baking, { lastReadAt: at(30) }, policy, () => 1).fallbackSeconds).toBe(15);
  });

  it('waits for the end of a bake due within one interval exactly: no look before it finds it unfinished', () => {
    const converged = read(at(0), { healthySince: at(0), color: 'Green', convergedAt: at(0) });
    // Jittered down to 48 s, the look would come 12 s before the 60 s bake ends and cost another.
    expect(withFallback(converged, undefined, policy, () => 0).fallbackSeconds).toBe(60);
  });

  it('spaces the looks of a longer bake evenly to its end, none further apart than one interval', () => {
    const longBake = { ...policy, bakeSeconds: 300 };
    // Looks every 60 s from the first one that saw it converged: 60, 120, 180, 240, 300. Jittered
    // 48-60 s steps would need a sixth, a few seconds before the end, that only finds it unfinished.
    const looks: number[] = [];
    let now = 0;
    let last: string | undefined;
    while (now < 300) {
      const progress = read(at(now), { healthySince: at(0), color: 'Green', convergedAt: at(0) });
      const seconds = withFallback(progress, last ? { lastReadAt: last } : undefined, longBake, () => 0)
        .fallbackSeconds as number;
      expect(seconds).toBeLessThanOrEqual(60);
      last = at(now);
      now += seconds;
      looks.push(now);
    }
    expect(looks).toEqual([60, 120, 180, 240, 300]);
    // A bake that does not divide into whole intervals: equal steps, each under one interval.
    const odd = read(at(0), { healthySince: at(0), color: 'Green', convergedAt: at(0) });
    expect(withFallback(odd, undefined, { ...policy, bakeSeconds: 130 }, () => 1).fallbackSeconds).toBe(44);
  });

  it('never waits past the grace period for Grey after convergence', () => {
    const grey = read(at(100), { convergedAt: at(0), color: 'Grey' });
    expect(withFallback(grey, { lastReadAt: at(50) }, policy, () => 1).fallbackSeconds).toBe(20);
  });

  it('looks when the early abort is due, not up to a fallback interval later (a crash loop sends no event then)', () => {
    const gated = { ...policy, abortAfterSeconds: 180 };
    // Red on the new version since 0 s, EB still Updating: the abort is due at 180 s.
    const red = (now: number) => read(at(now), { status: 'Updating', redSince: at(0) });
    expect(withFallback(red(150), { lastReadAt: at(100) }, gated, () => 1).fallbackSeconds).toBe(30);
    expect(withFallback(red(150), { lastReadAt: at(100) }, gated, () => 0).fallbackSeconds).toBe(30);
    // Further off than one interval: the usual jittered fallback.
    expect(withFallback(red(60), { lastReadAt: at(0) }, gated, () => 0).fallbackSeconds).toBe(48);
    // No early abort configured (or the rollback's watch, which is never aborted): no such deadline.
    expect(withFallback(red(150), { lastReadAt: at(100) }, policy, () => 1).fallbackSeconds).toBe(60);
  });

  it('after a read that failed, polls at the poll interval: the unread-poll budget keeps its meaning', () => {
    const unread = read(at(0), { nextPollSeconds: 13 });
    expect(withFallback(unread, { lastReadAt: at(0) }, policy).fallbackSeconds).toBe(13);
  });

  it('is absent in the poll-only watch and once the verdict ends the watch', () => {
    expect(withFallback(read(at(0)), undefined, { ...policy, watch: 'poll' })).not.toHaveProperty(
      'fallbackSeconds',
    );
    const done = read(at(0), { verdict: 'rollback', fallbackSeconds: 60 });
    expect(withFallback(done, undefined, policy)).not.toHaveProperty('fallbackSeconds');
  });
});
