import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HealthPolicy } from '../../../lib/config/schema.js';
import {
  type AlarmReading,
  type HealthSnapshot,
  healthVerdict,
  type InstanceSnapshot,
  type WatchContext,
} from '../../../lib/health/verdict.js';
import type { HealthProgress } from '../../../lib/workflow-state.js';

// Alarm gates and the early abort (issue 13), decided by the pure verdict from plain snapshots.

const T0 = Date.parse('2026-11-23T10:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

const policy: HealthPolicy = {
  path: '/',
  allowedColors: ['Green'],
  bakeSeconds: 60,
  graceSeconds: 120,
  timeoutSeconds: 1200,
  pollSeconds: 15,
  alarms: ['api-5xx', 'p95-latency'],
  abortAfterSeconds: 180,
};
const ctx: WatchContext = {
  expectedVersion: 'v2',
  fromVersion: 'v1',
  startedAt: at(0),
  policy,
  maxPolls: 200,
};

const instance = (over: Partial<InstanceSnapshot> = {}): InstanceSnapshot => ({
  id: 'i-1',
  healthStatus: 'Ok',
  color: 'Green',
  versionLabel: 'v2',
  deploymentStatus: 'Deployed',
  causes: [],
  ...over,
});

function ready(seconds: number, over: Partial<HealthSnapshot> = {}): HealthSnapshot {
  return {
    now: at(seconds),
    status: 'Ready',
    color: 'Green',
    healthStatus: 'Ok',
    versionLabel: 'v2',
    causes: [],
    instances: [instance()],
    events: [],
    ...over,
  };
}

/** EB still Updating, its instances as the early abort's extra read sees them. */
function updating(seconds: number, instances: InstanceSnapshot[]): HealthSnapshot {
  return ready(seconds, { status: 'Updating', color: 'Red', healthStatus: 'Severe', instances });
}

const crashing = (id: string) =>
  instance({
    id,
    healthStatus: 'Severe',
    color: 'Red',
    deploymentStatus: 'In Progress',
    causes: [`${id}: Process default has been unhealthy for 3 minutes (Target.FailedHealthChecks).`],
  });

const alarm = (over: Partial<AlarmReading> & Pick<AlarmReading, 'name'>): AlarmReading => ({
  state: 'OK',
  reason: 'Threshold Crossed: 1 datapoint [0.0] was not greater than the threshold (5.0).',
  since: at(-3600),
  ...over,
});
const alarms = (...list: AlarmReading[]): HealthSnapshot['alarms'] => ({
  ok: true,
  alarms: list,
  missing: [],
});

/** Runs polls through the verdict, each fed the last one's progress, like the state machine. */
function watch(snapshots: HealthSnapshot[], context = ctx): HealthProgress[] {
  const out: HealthProgress[] = [];
  for (const s of snapshots) out.push(healthVerdict(s, context, out.at(-1)));
  return out;
}

describe('early abort: a crash-looping release while EB is still Updating', () => {
  it('aborts once every instance on the new version has been Severe for abortAfterSeconds, naming them and why', () => {
    const polls = watch([15, 30, 90, 150, 195].map((t) => updating(t, [crashing('i-1'), crashing('i-2')])));
    expect(polls.slice(0, 4).map((p) => p.verdict)).toEqual(['wait', 'wait', 'wait', 'wait']);
    const last = polls.at(-1);
    expect(last?.verdict).toBe('abort');
    expect(last?.causes[0]).toContain('Severe for 180s while EB was still Updating');
    expect(last?.causes[0]).toContain('i-1 (Severe), i-2 (Severe)');
    expect(last?.causes[1]).toContain('i-1: Process default has been unhealthy');
  });

  it('counts from the first poll that saw them red, not from the update', () => {
    const polls = watch([
      updating(15, [instance({ healthStatus: 'Pending', deploymentStatus: 'In Progress' })]),
      updating(100, [crashing('i-1')]),
      updating(270, [crashing('i-1')]),
      updating(285, [crashing('i-1')]),
    ]);
    expect(polls.map((p) => p.verdict)).toEqual(['wait', 'wait', 'wait', 'abort']);
    expect(polls[1]?.redSince).toBe(at(100));
  });

  it('resets the clock when an instance on the new version is seen not red (a restart that came up)', () => {
    const polls = watch([
      updating(15, [crashing('i-1')]),
      updating(150, [instance({ healthStatus: 'Info', deploymentStatus: 'In Progress' })]),
      updating(200, [crashing('i-1')]),
      updating(300, [crashing('i-1')]),
    ]);
    expect(polls.map((p) => p.verdict)).toEqual(['wait', 'wait', 'wait', 'wait']);
    expect(polls[3]?.redSince).toBe(at(200));
  });

  it('does not abort while one instance on the new version is healthy: a bad host is not a bad release', () => {
    const polls = watch(
      [15, 200, 400].map((t) =>
        updating(t, [crashing('i-1'), instance({ id: 'i-2', deploymentStatus: 'In Progress' })]),
      ),
    );
    expect(polls.map((p) => p.verdict)).toEqual(['wait', 'wait', 'wait']);
  });

  it('never counts instances still on the old version, however red (EB has not deployed to them yet)', () => {
    const old = { ...crashing('i-1'), versionLabel: 'v1', deploymentStatus: 'Deployed' };
    const polls = watch([15, 200, 400].map((t) => updating(t, [old])));
    expect(polls.map((p) => p.verdict)).toEqual(['wait', 'wait', 'wait']);
    expect(polls.every((p) => p.redSince === undefined)).toBe(true);
  });

  it('is off with abortAfterSeconds 0, and never applies once the environment is Ready', () => {
    const off = { ...ctx, policy: { ...policy, abortAfterSeconds: 0 } };
    expect(
      watch(
        [15, 200, 400].map((t) => updating(t, [crashing('i-1')])),
        off,
      ).map((p) => p.verdict),
    ).toEqual(['wait', 'wait', 'wait']);
    // Ready and Red: the ordinary rollback, not an abort.
    const v = healthVerdict(
      ready(400, { color: 'Red', healthStatus: 'Severe', instances: [instance({ healthStatus: 'Severe' })] }),
      ctx,
      { polls: 5, redSince: at(15) },
    );
    expect(v.verdict).toBe('rollback');
  });

  // Red most of the time, so long red streaks (the interesting case) are common.
  const status = fc.oneof(
    { arbitrary: fc.constantFrom('Degraded', 'Severe'), weight: 6 },
    { arbitrary: fc.constantFrom('Ok', 'Info', 'Pending', 'Unknown', 'NoData', 'Warning'), weight: 1 },
  );
  const inst = fc.record({
    id: fc.constantFrom('i-1', 'i-2', 'i-3'),
    healthStatus: status,
    versionLabel: fc.constantFrom('v1', 'v2'),
    deploymentStatus: fc.constantFrom('In Progress', 'Deployed'),
  });
  const polls = fc.array(fc.tuple(fc.integer({ min: 1, max: 60 }), fc.array(inst, { maxLength: 4 })), {
    minLength: 1,
    maxLength: 40,
  });
  const run = (
    steps: [number, { id: string; healthStatus: string; versionLabel: string; deploymentStatus: string }[]][],
  ) => {
    let t = 0;
    let progress: HealthProgress | undefined;
    const seen: { snapshot: HealthSnapshot; progress: HealthProgress }[] = [];
    for (const [gap, list] of steps) {
      t += gap;
      const snapshot = updating(
        t,
        list.map((i) => instance({ ...i, causes: [] })),
      );
      progress = healthVerdict(snapshot, ctx, progress);
      seen.push({ snapshot, progress });
      if (progress.verdict !== 'wait') break;
    }
    return seen;
  };

  it('never aborts when no instance is on the new version, or one on it is not Degraded/Severe (fast-check)', () => {
    fc.assert(
      fc.property(polls, (steps) =>
        run(steps).every(({ snapshot, progress }) => {
          if (progress.verdict !== 'abort') return true;
          const onNew = snapshot.instances.filter((i) => i.versionLabel === 'v2');
          return (
            onNew.length > 0 &&
            onNew.every((i) => i.healthStatus === 'Degraded' || i.healthStatus === 'Severe')
          );
        }),
      ),
      { numRuns: 300 },
    );
  });

  it('never aborts before abortAfterSeconds of consecutive red polls (fast-check)', () => {
    fc.assert(
      fc.property(polls, (steps) => {
        const seen = run(steps);
        const aborted = seen.findIndex((s) => s.progress.verdict === 'abort');
        if (aborted < 0) return true;
        // Walk back over the consecutive all-red polls: the first of them started the clock.
        let first = aborted;
        while (first > 0 && seen[first - 1]?.progress.redSince) first -= 1;
        const redFor =
          (Date.parse(seen[aborted]?.snapshot.now ?? '') - Date.parse(seen[first]?.snapshot.now ?? '')) /
          1000;
        return redFor >= policy.abortAfterSeconds;
      }),
      { numRuns: 300 },
    );
  });
});

describe('alarm gates', () => {
  it('rolls back when an alarm that was OK before the deploy goes to ALARM during the bake, with its name and reason', () => {
    const polls = watch([
      ready(15, { alarms: alarms(alarm({ name: 'api-5xx' }), alarm({ name: 'p95-latency' })) }),
      ready(45, {
        alarms: alarms(
          alarm({
            name: 'api-5xx',
            state: 'ALARM',
            since: at(40),
            reason: 'Threshold Crossed: 2 datapoints [12.0, 9.0] were greater than the threshold (5.0).',
          }),
          alarm({ name: 'p95-latency' }),
        ),
      }),
    ]);
    expect(polls[0]?.alarmsBefore).toEqual({ 'api-5xx': 'OK', 'p95-latency': 'OK' });
    expect(polls[1]?.verdict).toBe('rollback');
    expect(polls[1]?.causes[0]).toBe(
      `alarm api-5xx went to ALARM at ${at(40)}, after the update started (OK before it): Threshold Crossed: 2 datapoints [12.0, 9.0] were greater than the threshold (5.0).`,
    );
  });

  it('aborts the update (then rolls back) when the alarm fires while EB is still Updating', () => {
    const v = healthVerdict(
      ready(30, {
        status: 'Updating',
        color: 'Grey',
        healthStatus: 'Pending',
        instances: [],
        alarms: alarms(alarm({ name: 'api-5xx', state: 'ALARM', since: at(25) })),
      }),
      ctx,
      undefined,
    );
    expect(v.verdict).toBe('abort');
    expect(v.causes[0]).toContain('alarm api-5xx went to ALARM');
  });

  it('reports an alarm already in ALARM before the deploy, never blames it, and the deploy succeeds', () => {
    const firing = alarm({ name: 'p95-latency', state: 'ALARM', since: at(-600), reason: 'p95 above 2 s' });
    const polls = watch(
      [15, 45, 80].map((t) => ready(t, { alarms: alarms(alarm({ name: 'api-5xx' }), firing) })),
    );
    expect(polls.map((p) => p.verdict)).toEqual(['wait', 'wait', 'healthy']);
    expect(polls[2]?.notes).toEqual([
      `alarm p95-latency was already in ALARM before the deploy (since ${at(-600)}), so this deploy is not blamed for it: p95 above 2 s`,
    ]);
    expect(polls[0]?.alarmsBefore).toEqual({ 'api-5xx': 'OK', 'p95-latency': 'ALARM' });
  });

  it('blames an alarm that was firing before, recovered, then fired again after the update started', () => {
    const polls = watch([
      ready(15, { alarms: alarms(alarm({ name: 'p95-latency', state: 'ALARM', since: at(-600) })) }),
      ready(45, { alarms: alarms(alarm({ name: 'p95-latency', state: 'ALARM', since: at(40) })) }),
    ]);
    expect(polls.map((p) => p.verdict)).toEqual(['wait', 'rollback']);
    expect(polls[1]?.causes[0]).toContain('in ALARM before it, then recovered');
  });

  it('takes an alarm that changed after the update but before the first read as unknown before: ALARM is blamed', () => {
    const v = healthVerdict(
      ready(15, { alarms: alarms(alarm({ name: 'api-5xx', state: 'ALARM', since: at(10) })) }),
      ctx,
      undefined,
    );
    expect(v.alarmsBefore).toEqual({ 'api-5xx': 'unknown' });
    expect(v.verdict).toBe('rollback');
  });

  it('does not fail on INSUFFICIENT_DATA: an alarm on a quiet metric sits there', () => {
    const quiet = alarm({ name: 'api-5xx', state: 'INSUFFICIENT_DATA', since: at(30) });
    const polls = watch([15, 45, 80].map((t) => ready(t, { alarms: alarms(quiet) })));
    expect(polls.map((p) => p.verdict)).toEqual(['wait', 'wait', 'healthy']);
  });

  it('treats a failed DescribeAlarms as no data: never a rollback, and the bake ends only on a poll that read them', () => {
    const unread: HealthSnapshot['alarms'] = { ok: false, error: 'ThrottlingException: Rate exceeded' };
    const polls = watch([
      ready(15, { alarms: unread }),
      ready(80, { alarms: unread }),
      ready(95, { alarms: alarms(alarm({ name: 'api-5xx' })) }),
    ]);
    expect(polls.map((p) => p.verdict)).toEqual(['wait', 'wait', 'healthy']);
    expect(polls[1]?.causes[0]).toContain(
      'the alarms could not be read (ThrottlingException: Rate exceeded)',
    );
  });

  it('notes a configured alarm CloudWatch does not know instead of failing', () => {
    const v = healthVerdict(
      ready(15, { alarms: { ok: true, alarms: [], missing: ['api-5xx'] } }),
      ctx,
      undefined,
    );
    expect(v.verdict).toBe('wait');
    expect(v.notes).toEqual([
      'alarm api-5xx is not a CloudWatch metric alarm in this region, so it was not watched',
    ]);
  });

  it('never rolls back over someone else who deployed a third version, even with an alarm firing', () => {
    const v = healthVerdict(
      ready(45, {
        versionLabel: 'v9',
        alarms: alarms(alarm({ name: 'api-5xx', state: 'ALARM', since: at(40) })),
      }),
      ctx,
      { polls: 2 },
    );
    expect(v.verdict).toBe('overridden');
  });
});
