import { describe, expect, it } from 'vitest';
import { createClock } from '../../standin/clock.js';
import { loadScheduledRules, nextFire, parseSchedule, Scheduler } from '../../standin/scheduler.js';
import { World } from '../../standin/world.js';

/**
 * Scheduled rules on the stand-in's clock. Expressions as the EventBridge user guide defines them
 * ("Using cron and rate expressions to schedule rules"): rate(value unit), singular for 1; cron with
 * six fields (minutes hours day-of-month month day-of-week year), UTC, one of the day fields "?".
 */
const T = Date.parse('2026-12-01T10:02:30.000Z');

describe('schedule expressions', () => {
  it('fires a rate every interval from when the rule was created', () => {
    const every5 = parseSchedule('rate(5 minutes)');

    expect(nextFire(every5, T, T)).toBe(T + 300_000);
    expect(nextFire(every5, T + 300_000, T)).toBe(T + 600_000);
    expect(nextFire(parseSchedule('rate(1 hour)'), T, T)).toBe(T + 3_600_000);
  });

  it('refuses what EventBridge refuses: a plural unit for 1, a singular one for more, zero', () => {
    for (const bad of [
      'rate(1 minutes)',
      'rate(5 minute)',
      'rate(0 minutes)',
      'rate(5 weeks)',
      'cron(0 12 * * *)',
      'cron(0 12 * * * *)',
    ])
      expect(() => parseSchedule(bad), bad).toThrow();
  });

  it('fires a cron at the next matching UTC minute', () => {
    expect(new Date(nextFire(parseSchedule('cron(0/15 * * * ? *)'), T)).toISOString()).toBe(
      '2026-12-01T10:15:00.000Z',
    );
    expect(new Date(nextFire(parseSchedule('cron(0 8 ? * MON-FRI *)'), T)).toISOString()).toBe(
      '2026-12-02T08:00:00.000Z',
    );
    expect(new Date(nextFire(parseSchedule('cron(30 9 1 JAN ? *)'), T)).toISOString()).toBe(
      '2027-01-01T09:30:00.000Z',
    );
  });
});

describe('the scheduler', () => {
  it('reads the reconciler’s rule from infra/events.yml with its function', () => {
    const rules = loadScheduledRules({
      'ReconcileLambdaFunction.Arn': 'arn:aws:lambda:us-east-1:123456789012:function:r',
    });

    expect(rules).toEqual([
      {
        name: 'ReconcileRule',
        expression: 'rate(5 minutes)',
        targetArn: 'arn:aws:lambda:us-east-1:123456789012:function:r',
      },
    ]);
  });

  it('invokes the target with a Scheduled Event on the simulated clock, every interval, until stopped', async () => {
    const clock = createClock(600);
    const world = new World(clock);
    const events: Record<string, unknown>[] = [];
    world.functions.set('arn:fn', async (e) => {
      events.push(e as Record<string, unknown>);
    });
    const scheduler = new Scheduler(world, [
      { name: 'EveryMinute', expression: 'rate(1 minute)', targetArn: 'arn:fn' },
    ]);

    await clock.sleep(3.5 * 60_000);
    scheduler.stop();
    const stoppedAt = clock.now();
    await Promise.all(world.invocations);
    const atStop = events.length;
    await clock.sleep(2 * 60_000);

    // A busy host may start the sleep late (simulated time runs 600x): count from the first fire.
    const fired = scheduler.fired.map((f) => f.at.getTime());
    const first = fired[0] ?? 0;
    expect(atStop).toBeGreaterThanOrEqual(3);
    expect(fired.map((t) => t - first)).toEqual(fired.map((_, i) => i * 60_000));
    expect(first + (fired.length - 1) * 60_000).toBeLessThanOrEqual(stoppedAt);
    expect(first + fired.length * 60_000).toBeGreaterThan(stoppedAt);
    expect(events).toHaveLength(atStop);
    expect(events[0]).toMatchObject({
      source: 'aws.events',
      'detail-type': 'Scheduled Event',
      resources: ['arn:aws:events:us-east-1:123456789012:rule/EveryMinute'],
      detail: {},
    });
  });
});
