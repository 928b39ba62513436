import type { HealthPolicy } from '../config/schema.js';
import type { AlarmStateName, HealthProgress } from '../workflow-state.js';

/** One look at an environment, read through the EB API (lib/aws/eb.ts, healthSnapshot). */
export interface HealthSnapshot {
  /** ISO time of the look. */
  now: string;
  /** Launching | Updating | Ready | Terminating | Terminated | Aborting | ... */
  status: string;
  /** Green | Yellow | Red | Grey: the basic colour. */
  color?: string;
  /** Enhanced health: Ok | Info | Warning | Degraded | Severe | Pending | Unknown | Suspended | NoData. */
  healthStatus?: string;
  /** The version label the environment reports. */
  versionLabel?: string;
  causes: string[];
  instances: InstanceSnapshot[];
  /** EB events since the update started, oldest first. */
  events: { date: string; severity: string; message: string }[];
  /** The alarm gates' read on this poll (health.alarms); absent when none are watched. */
  alarms?: AlarmsRead;
}

/** One CloudWatch metric alarm as DescribeAlarms reports it (lib/aws/alarms.ts). */
export interface AlarmReading {
  name: string;
  state: AlarmStateName;
  /** StateReason: CloudWatch's own words for the state. */
  reason: string;
  /** ISO time the state value last changed (StateTransitionedTimestamp, else StateUpdatedTimestamp). */
  since?: string;
}

/** This poll's read of the alarms, or why it failed: a failed read is no data, never a verdict. */
export type AlarmsRead =
  | { ok: true; alarms: AlarmReading[]; missing: string[] }
  | { ok: false; error: string };

export interface InstanceSnapshot {
  id: string;
  healthStatus?: string;
  color?: string;
  /** Deployment.VersionLabel */
  versionLabel?: string;
  /** Deployment.Status: In Progress | Deployed | Failed */
  deploymentStatus?: string;
  causes: string[];
}

export interface WatchContext {
  expectedVersion: string;
  /**
   * The version the environment ran before the update, when known. Ready on it means EB did not
   * apply the update (roll back); Ready on a third version means someone else deployed it.
   */
  fromVersion?: string;
  /** ISO time the update was requested. */
  startedAt: string;
  policy: HealthPolicy;
  /** Hard cap on polls, whatever the clock says. */
  maxPolls: number;
}

/**
 * EB event texts that mean the update failed, as the EB CLI keys on them
 * (the EB CLI's ebcli/operations/commonops.py keys on them). After these, EB may return to Ready, even Green, on the OLD version.
 */
const REVERTED = 'The environment was reverted to the previous configuration setting.';
const COMPLETED = 'Environment update completed successfully.';
const FAILURE_EVENTS = [
  'Failed to deploy application.',
  'The environment was reverted to the previous configuration setting.',
  'Update environment operation is complete, but with errors.',
];

// Enhanced health statuses to colours (EB developer guide, "Health colors and statuses").
const STATUS_COLOR: Record<string, Color> = {
  Ok: 'Green',
  Info: 'Green',
  Warning: 'Yellow',
  Degraded: 'Red',
  Severe: 'Red',
  Pending: 'Grey',
  Unknown: 'Grey',
  Suspended: 'Grey',
  NoData: 'Grey',
};
type Color = 'Green' | 'Yellow' | 'Red' | 'Grey';

/** The colour a snapshot amounts to: enhanced status when present, else EB's basic colour. */
export function colorOf(s: { healthStatus?: string; color?: string }): Color {
  const fromStatus = s.healthStatus ? STATUS_COLOR[s.healthStatus] : undefined;
  if (fromStatus) return fromStatus;
  return s.color === 'Green' || s.color === 'Yellow' || s.color === 'Red' ? s.color : 'Grey';
}

/**
 * Decides, from one snapshot and the watch so far, whether to keep waiting, call the deploy healthy,
 * roll back, or give up (timeout: the caller aborts the update, then rolls back).
 *
 * - Status other than Ready (Updating with Grey or Pending health) is normal: wait.
 * - A verdict is only taken once the environment is Ready and every instance reports the expected
 *   version as Deployed; Ready on another version means EB reverted: roll back.
 * - Healthy = an allowed colour held for bakeSeconds after convergence.
 * - Red after convergence, or Grey longer than graceSeconds after it, rolls back.
 * - No verdict within timeoutSeconds of the update (or maxPolls) is a timeout.
 */
export function healthVerdict(
  snapshot: HealthSnapshot,
  ctx: WatchContext,
  previous:
    | Pick<HealthProgress, 'polls' | 'convergedAt' | 'healthySince' | 'alarmsBefore' | 'notes' | 'redSince'>
    | undefined,
  jitter = 0.5,
): HealthProgress {
  const now = Date.parse(snapshot.now);
  const gate = alarmGate(snapshot.alarms, ctx.startedAt, previous);
  const crash = crashLoop(snapshot, ctx, previous?.redSince);
  const polls = (previous?.polls ?? 0) + 1;
  const color = colorOf(snapshot);
  const events = snapshot.events
    .filter(
      (e) =>
        e.severity === 'ERROR' ||
        e.severity === 'FATAL' ||
        e.severity === 'WARN' ||
        isFailureEvent(e.message),
    )
    .slice(-5)
    .map((e) => `${e.date} ${e.severity} ${e.message}`);
  const base = {
    polls,
    status: snapshot.status,
    color,
    healthStatus: snapshot.healthStatus,
    events,
    ...(gate.before ? { alarmsBefore: gate.before } : {}),
    ...(gate.notes.length > 0 ? { notes: gate.notes } : {}),
    ...(crash.redSince ? { redSince: crash.redSince } : {}),
  };
  const verdict = (
    v: HealthProgress['verdict'],
    causes: string[],
    extra: Partial<HealthProgress> = {},
  ): HealthProgress => ({
    ...base,
    verdict: v,
    causes,
    nextPollSeconds: nextPoll(ctx.policy, jitter, extra.healthySince, now),
    ...extra,
  });

  // EB's revert is a failure of the update only if it left the environment off the expected version
  // (checked below, once Ready). After an abort, or when EB undid a failed deploy, a rollback watch
  // sees it revert TO the version it expects.
  const failure = snapshot.events.find((e) => isFailureEvent(e.message) && !e.message.includes(REVERTED));
  if (failure) return verdict('rollback', [`EB reported "${failure.message}"`, ...snapshot.causes]);
  const reverted = snapshot.events.find((e) => e.message.includes(REVERTED));

  if (snapshot.status === 'Terminating' || snapshot.status === 'Terminated') {
    return verdict('rollback', [`environment is ${snapshot.status}`]);
  }

  const elapsed = (now - Date.parse(ctx.startedAt)) / 1000;
  if (elapsed > ctx.policy.timeoutSeconds || polls >= ctx.maxPolls) {
    return verdict('timeout', [
      `no healthy verdict ${Math.round(elapsed)}s after the update (limit ${ctx.policy.timeoutSeconds}s, ${polls} polls): ` +
        `status ${snapshot.status}, health ${color}${snapshot.healthStatus ? ` (${snapshot.healthStatus})` : ''}, ` +
        describeInstances(snapshot, ctx.expectedVersion),
      ...snapshot.causes,
    ]);
  }

  if (snapshot.status !== 'Ready') {
    // EB is still updating: a verdict against the new version aborts the update first (AbortUpdate,
    // then RollBack), as UpdateEnvironment is refused until the environment is Ready again.
    if (gate.blamed.length > 0) return verdict('abort', [...gate.blamed, ...snapshot.causes]);
    if (crash.abort) return verdict('abort', [...crash.abort, ...snapshot.causes]);
    return verdict('wait', [
      `environment is ${snapshot.status}`,
      ...(crash.watching ? [crash.watching] : []),
    ]);
  }

  if (
    snapshot.versionLabel &&
    snapshot.versionLabel !== ctx.expectedVersion &&
    ctx.fromVersion &&
    snapshot.versionLabel !== ctx.fromVersion
  ) {
    // Neither ours nor the one we replaced: a person (the EB console, eb deploy) or another tool
    // deployed it. Rolling back over them would undo their work: end the watch and say so.
    return verdict('overridden', [
      `${snapshot.versionLabel} was deployed to the environment by someone other than this execution ` +
        `(expected ${ctx.expectedVersion}); ebship stopped watching and changed nothing`,
    ]);
  }
  if (gate.blamed.length > 0) return verdict('rollback', [...gate.blamed, ...snapshot.causes]);
  if (snapshot.versionLabel !== ctx.expectedVersion) {
    return verdict('rollback', [
      ...(reverted ? [`EB reported "${reverted.message}"`] : []),
      `environment is Ready on version ${snapshot.versionLabel ?? '(none)'}, not ${ctx.expectedVersion}: EB did not apply the update`,
      ...snapshot.causes,
    ]);
  }
  const failed = snapshot.instances.filter((i) => i.deploymentStatus === 'Failed');
  if (failed.length > 0) {
    return verdict('rollback', [
      `deployment failed on ${failed.map((i) => i.id).join(', ')}`,
      ...failed.flatMap((i) => i.causes),
      ...snapshot.causes,
    ]);
  }
  const behind = snapshot.instances.filter(
    (i) => i.versionLabel !== ctx.expectedVersion || i.deploymentStatus !== 'Deployed',
  );
  if (behind.length > 0) return verdict('wait', [describeInstances(snapshot, ctx.expectedVersion)]);

  const convergedAt = previous?.convergedAt ?? snapshot.now;
  // A poll sees one moment; EB logs every health transition. One to Degraded/Severe after the
  // update completed counts even if health recovered before this poll: from EB's own completion
  // event when it logged one (the first Ready poll can come seconds after it), else from the poll
  // that first saw the update converged. Transitions during the update (instances restarting) don't.
  const completed = snapshot.events.filter((e) => e.message.includes(COMPLETED)).at(-1)?.date;
  const since = Math.min(
    Date.parse(convergedAt),
    completed ? Date.parse(completed) : Number.POSITIVE_INFINITY,
  );
  const transitions = snapshot.events
    .map((e) => ({ ...e, to: transitionTo(e.message) }))
    .filter((e) => e.to && Date.parse(e.date) > since);
  const wentRed = transitions.find((e) => e.to && colorOf({ healthStatus: e.to }) === 'Red');
  if (wentRed && color !== 'Red') {
    return verdict(
      'rollback',
      [
        `health went ${wentRed.to} at ${wentRed.date}, between two polls, after the update: EB logged "${wentRed.message}"`,
        ...snapshot.causes,
      ],
      { convergedAt },
    );
  }
  if (color === 'Red') {
    return verdict(
      'rollback',
      [
        `health is Red${snapshot.healthStatus ? ` (${snapshot.healthStatus})` : ''} after the update`,
        ...snapshot.causes,
      ],
      {
        convergedAt,
      },
    );
  }
  if (color === 'Grey') {
    const greyFor = (now - Date.parse(convergedAt)) / 1000;
    if (greyFor > ctx.policy.graceSeconds) {
      return verdict(
        'rollback',
        [
          `health stayed ${snapshot.healthStatus ?? 'Grey'} for ${Math.round(greyFor)}s after the update finished (grace ${ctx.policy.graceSeconds}s)`,
          ...snapshot.causes,
        ],
        { convergedAt },
      );
    }
    return verdict(
      'wait',
      [`health is ${snapshot.healthStatus ?? 'Grey'}, within the ${ctx.policy.graceSeconds}s grace period`],
      { convergedAt },
    );
  }
  if (!ctx.policy.allowedColors.includes(color as 'Green' | 'Yellow')) {
    return verdict(
      'wait',
      [
        `health is ${color}, which this target does not accept (allowed: ${ctx.policy.allowedColors.join(', ')})`,
        ...snapshot.causes,
      ],
      {
        convergedAt,
      },
    );
  }
  // The bake restarts after any moment in a colour the target does not accept, seen or logged.
  const lastUnaccepted = transitions
    .filter((e) => e.to && !ctx.policy.allowedColors.includes(colorOf({ healthStatus: e.to }) as 'Green'))
    .at(-1);
  const previousSince = previous?.healthySince;
  const healthySince =
    previousSince && lastUnaccepted && Date.parse(lastUnaccepted.date) >= Date.parse(previousSince)
      ? snapshot.now
      : (previousSince ?? snapshot.now);
  const heldFor = (now - Date.parse(healthySince)) / 1000;
  if (heldFor >= ctx.policy.bakeSeconds && gate.unread) {
    // The bake only ends on a poll that read the alarms too: a failed DescribeAlarms is no data.
    return verdict(
      'wait',
      [
        `${color} for ${Math.round(heldFor)}s, but the alarms could not be read (${gate.unread}): no data, the bake ends on a poll that reads them`,
      ],
      { convergedAt, healthySince },
    );
  }
  if (heldFor >= ctx.policy.bakeSeconds) {
    return verdict('healthy', [`${color} for ${Math.round(heldFor)}s on ${ctx.expectedVersion}`], {
      convergedAt,
      healthySince,
    });
  }
  return verdict(
    'wait',
    [`${color} for ${Math.round(heldFor)}s of the ${ctx.policy.bakeSeconds}s bake time`],
    { convergedAt, healthySince },
  );
}

/**
 * Alarm gates: which alarms in ALARM this deploy is blamed for, and which are only reported.
 *
 * The state before the update is worked out at the first read that succeeds (the first health read:
 * StartHealthWatch is a Pass state and makes no calls) from each alarm's state and the time
 * CloudWatch last changed it: unchanged since the update started means it was already so before.
 * An alarm in ALARM is blamed when it went there after the update started, or was not in ALARM
 * before (without a change time). INSUFFICIENT_DATA is not a failure: an alarm on a quiet metric
 * sits there. A failed read is no data (`unread`), never a verdict.
 */
function alarmGate(
  read: AlarmsRead | undefined,
  startedAt: string,
  previous: Pick<HealthProgress, 'alarmsBefore' | 'notes'> | undefined,
): {
  before?: Record<string, AlarmStateName | 'unknown'>;
  blamed: string[];
  notes: string[];
  unread?: string;
} {
  const kept = { before: previous?.alarmsBefore, notes: previous?.notes ?? [] };
  if (!read) return { ...kept, blamed: [] };
  if (!read.ok) return { ...kept, blamed: [], unread: read.error };
  const start = Date.parse(startedAt);
  const changedSinceStart = (a: AlarmReading) => a.since !== undefined && Date.parse(a.since) > start;
  const before: Record<string, AlarmStateName | 'unknown'> = { ...previous?.alarmsBefore };
  for (const a of read.alarms) before[a.name] ??= changedSinceStart(a) ? 'unknown' : a.state;

  const blamed: string[] = [];
  const notes = [...kept.notes];
  const note = (name: string, text: string) => {
    // One note per alarm, the first: StateReason quotes datapoints that change at every evaluation.
    if (!notes.some((n) => n.startsWith(`alarm ${name} `))) notes.push(text);
  };
  for (const a of read.alarms) {
    if (a.state !== 'ALARM') continue;
    if (changedSinceStart(a) || before[a.name] !== 'ALARM') {
      const was =
        before[a.name] === 'ALARM' ? 'in ALARM before it, then recovered' : `${before[a.name]} before it`;
      blamed.push(
        `alarm ${a.name} went to ALARM${a.since ? ` at ${a.since}` : ''}, after the update started (${was}): ${a.reason}`,
      );
    } else {
      note(
        a.name,
        `alarm ${a.name} was already in ALARM before the deploy${a.since ? ` (since ${a.since})` : ''}, so this deploy is not blamed for it: ${a.reason}`,
      );
    }
  }
  for (const name of read.missing) {
    note(name, `alarm ${name} is not a CloudWatch metric alarm in this region, so it was not watched`);
  }
  return { before, blamed, notes };
}

const CRASHING = new Set(['Degraded', 'Severe']);

/**
 * Early abort of a crash-looping release: while EB is Updating, every instance already on the new
 * version is Degraded or Severe, and has been for health.abortAfterSeconds. Instances on the old
 * version, and those EB reports Pending or Info while it deploys to them, never count: one of them
 * on the new version and not red stops (and resets) the clock.
 */
function crashLoop(
  snapshot: HealthSnapshot,
  ctx: WatchContext,
  previousRedSince: string | undefined,
): { redSince?: string; abort?: string[]; watching?: string } {
  const after = ctx.policy.abortAfterSeconds;
  if (after <= 0 || snapshot.status !== 'Updating') return {};
  const onNew = snapshot.instances.filter((i) => i.versionLabel === ctx.expectedVersion);
  if (onNew.length === 0 || !onNew.every((i) => CRASHING.has(i.healthStatus ?? ''))) return {};
  const redSince = previousRedSince ?? snapshot.now;
  const redFor = Math.round((Date.parse(snapshot.now) - Date.parse(redSince)) / 1000);
  const ids = onNew.map((i) => `${i.id} (${i.healthStatus})`).join(', ');
  if (redFor < after) {
    return {
      redSince,
      watching: `${onNew.length} instance(s) on ${ctx.expectedVersion} are red while EB updates: ${ids} for ${redFor}s of the ${after}s early abort`,
    };
  }
  return {
    redSince,
    abort: [
      `early abort: every instance on ${ctx.expectedVersion} has been Degraded or Severe for ${redFor}s while EB was still Updating (health.abortAfterSeconds ${after}): ${ids}. EB itself would wait for its command timeout (600 s by default) before giving up`,
      // Instance causes come as "<id>: <cause>" (lib/aws/eb.ts, instancesHealth).
      ...onNew.flatMap((i) => (i.causes.length > 0 ? i.causes : [`${i.id}: no cause reported`])),
    ],
  };
}

/**
 * The enhanced health status an EB event says the environment moved to: "Environment health has
 * transitioned from Ok to Severe. ..." (enhanced) or "Environment health has been set to RED" (basic).
 */
export function transitionTo(message: string): string | undefined {
  const enhanced = /Environment health has transitioned from \w+ to (\w+)/.exec(message);
  if (enhanced) return enhanced[1];
  const basic = /Environment health has been set to (RED|YELLOW|GREEN|GREY)/i.exec(message);
  if (!basic?.[1]) return undefined;
  return { RED: 'Severe', YELLOW: 'Warning', GREEN: 'Ok', GREY: 'NoData' }[basic[1].toUpperCase()];
}

export function isFailureEvent(message: string): boolean {
  return FAILURE_EVENTS.some((text) => message.includes(text));
}

/** Poll interval with +-20% jitter, so environments deploying at once do not poll in step and get throttled. */
function nextPoll(
  policy: HealthPolicy,
  jitter: number,
  healthySince: string | undefined,
  now: number,
): number {
  const jittered = Math.round(policy.pollSeconds * (0.8 + 0.4 * jitter));
  if (!healthySince) return Math.max(1, jittered);
  const remaining = policy.bakeSeconds - (now - Date.parse(healthySince)) / 1000;
  return Math.max(1, Math.min(jittered, Math.ceil(remaining)));
}

function describeInstances(s: HealthSnapshot, expected: string): string {
  if (s.instances.length === 0) return 'no instance health reported';
  const on = s.instances.filter(
    (i) => i.versionLabel === expected && i.deploymentStatus === 'Deployed',
  ).length;
  return `${on} of ${s.instances.length} instances deployed on ${expected}`;
}
