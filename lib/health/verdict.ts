import type { HealthPolicy } from '../config/schema.js';
import type { HealthProgress } from '../workflow-state.js';

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
}

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
  previous: Pick<HealthProgress, 'polls' | 'convergedAt' | 'healthySince'> | undefined,
  jitter = 0.5,
): HealthProgress {
  const now = Date.parse(snapshot.now);
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

  if (snapshot.status !== 'Ready') return verdict('wait', [`environment is ${snapshot.status}`]);

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
