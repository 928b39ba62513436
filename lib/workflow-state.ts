/**
 * The JSON that flows through the deploy state machine (state-machines/deploy.asl.yml).
 * Each Task writes one key with ResultPath; nothing here may ever hold a secret value:
 * execution history keeps state inputs and outputs for 90 days.
 */

/** `promotion`: started by a success on the target this one promotes from (issue 14). */
export type Trigger = 'push' | 'manual' | 'rollback' | 'promotion';

/** What is being deployed, resolved once from the event or the manual request. */
export interface Release {
  target: string;
  application: string;
  environment: string;
  platform: 'ecs' | 'docker';
  repository: string;
  imageTag?: string;
  /** `sha256:<64 hex>`: the immutable identity of the image. */
  imageDigest: string;
  /** `<registry>/<repository>@sha256:...`: what the bundle pins. */
  imageUri: string;
  /** ISO time ECR recorded for the push; orders digests so an older one never downgrades. */
  imagePushedAt?: string;
  /** EB version label: <= 100 chars, no "/", derived from tag + short digest. */
  versionLabel: string;
  trigger: Trigger;
  /** True when `versionLabel` already exists in EB (rollback by hand): skip secrets and bundle. */
  existingVersion: boolean;
  hasMigrationCheck: boolean;
  /** The target has `release:`; rollbacks never run it (the old image's migrations are applied). Absent: false. */
  hasReleasePhase?: boolean;
  /** The target has `checks:`. Absent: false. */
  hasChecks?: boolean;
  /** A manual deploy sent through a freeze with `--force`: history and the alert say so. */
  forced?: boolean;
  /** A promotion: the target and execution whose success started this one (issue 14). */
  promotedFrom?: { target: string; executionId: string };
  /**
   * Set on a promotion to a target with `promote.approval: manual`, and only then: it waits for
   * `ebship approve` before the lock, this long at most (promote.timeoutSeconds; WaitForApproval's
   * TimeoutSecondsPath).
   */
  approvalTimeoutSeconds?: number;
  executionId: string;
  /** ISO start of the execution. */
  startedAt: string;
}

/** Manual execution input (console, AWS CLI, `ebship deploy` / `ebship rollback`). */
export interface ManualRequest {
  target: string;
  imageTag?: string;
  imageDigest?: string;
  /** `ebship rollback`: redeploy this existing version label (default: the last good one). */
  rollbackTo?: string;
  trigger?: 'manual' | 'rollback';
}

export interface LockResult {
  /**
   * Set when this execution must not deploy: a duplicate push, a digest older than the one deployed,
   * or a push superseded by a newer one while both waited for the environment.
   */
  skipped?: { reason: string };
  /** Set while another execution holds the environment: wait this long, then try again. */
  waiting?: { nextPollSeconds: number; holder: string; since: string };
  owner?: string;
  expiresAt?: string;
  /** What a manual deploy's `--force` overrode ("through a freeze", "past the promotion gate (…)"). */
  forced?: string[];
}

export interface SecretsResult {
  /** Number of secrets checked; the names (never values) of what was checked. */
  checked: string[];
  /** Env var name → secret ARN, as the bundle references them. */
  arns: Record<string, string>;
  warnings: string[];
}

export interface BundleResult {
  bucket: string;
  key: string;
  sha256: string;
  bytes: number;
  files: string[];
  /** Preflight warnings on the bundle (errors stop the deploy). */
  warnings: string[];
}

export interface VersionResult {
  label: string;
  reused: boolean;
  /** EB's status, lower-cased: processing | building | processed | unprocessed | failed. */
  status: string;
  polls: number;
  nextPollSeconds: number;
  /** Seconds spent in WaitForVersion so far (the waits grow: lib/steps/create-app-version.ts). */
  waitedSeconds?: number;
  /** Preflight warnings on the environment (errors stop the deploy before the version exists). */
  warnings?: string[];
}

export interface DeployResult {
  /** The version the environment ran before this deploy. */
  fromVersion?: string;
  toVersion: string;
  /** ISO time of UpdateEnvironment: EB events before it are not ours. */
  startedAt: string;
  firstPollSeconds: number;
  /** Polls the watch may take, read or not: the state machine's bound when CheckHealth itself fails. */
  maxPolls?: number;
}

/**
 * wait: poll again. healthy: the new version held an allowed colour through the bake. rollback: a
 * health verdict against it. timeout: no verdict in time (abort the update, roll back). overridden:
 * someone else deployed another version meanwhile: stop, change nothing. abort: a verdict against
 * the new version while EB is still updating (early abort of a crash loop, or an alarm gate): abort
 * the update, then roll back.
 */
export type HealthVerdictName = 'wait' | 'healthy' | 'rollback' | 'timeout' | 'overridden' | 'abort';

/** A CloudWatch alarm's state (DescribeAlarms StateValue). */
export type AlarmStateName = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/** The health watch, carried from one CheckHealth to the next. */
export interface HealthProgress {
  verdict: HealthVerdictName;
  polls: number;
  nextPollSeconds: number;
  /** ISO time the environment was first Ready with every instance on the expected version. */
  convergedAt?: string;
  /** ISO time the current run of allowed colour began. */
  healthySince?: string;
  status?: string;
  color?: string;
  healthStatus?: string;
  /** Why the verdict is what it is, for people: EB causes, failing instances, error events. */
  causes: string[];
  /** The last EB error/warn events since the deploy started. */
  events: string[];
  /**
   * Polls that could not read health (throttled, 5xx, timed out): no data, never a verdict. `count`
   * is consecutive failures of the CheckHealth step itself, counted by the state machine up to `max`.
   */
  unread?: { count: number; max: number };
  /** ISO time health was last read successfully. */
  lastReadAt?: string;
  /**
   * Polls that found EB's read budget spent (EB's throttle, or the fleet's share of it), and the
   * seconds they cost: not counted against the poll budget, and the timeout is moved by as much.
   */
  throttled?: { polls: number; seconds: number };
  /**
   * Alarm gates (health.alarms): each alarm's state when the update started, worked out at the first
   * alarm read from the state and when CloudWatch last changed it; `unknown` if it changed since.
   */
  alarmsBefore?: Record<string, AlarmStateName | 'unknown'>;
  /** Reported, never blamed: alarms already in ALARM before the deploy, alarms CloudWatch does not know. */
  notes?: string[];
  /** Early abort: ISO time since when every instance on the new version is Degraded or Severe (Updating). */
  redSince?: string;
  /**
   * Event-driven watch (`health.watch: events`), while the verdict is wait: the longest the next
   * wait for an EB event may last before the watch reads anyway (the fallback poll). Absent in the
   * poll-only watch, which waits `nextPollSeconds`.
   */
  fallbackSeconds?: number;
  /** At a verdict that ends the deploy: each instance and the version it ran (a partial deploy's alert). */
  instances?: { id: string; versionLabel?: string; deploymentStatus?: string; color?: string }[];
}

export interface MigrationResult {
  status: 'pending' | 'passed';
  commandId: string;
  instanceId: string;
  polls: number;
  nextPollSeconds: number;
  /** Last lines of the check's output (never secrets: output of `migrate --check`). */
  output?: string;
}

/** The release phase: one command on one instance, before UpdateEnvironment. */
export interface ReleasePhaseResult {
  /** skipped: no healthy instance or app container to run on, and release.onEmptyEnvironment is skip. */
  status: 'pending' | 'passed' | 'skipped';
  commandId?: string;
  instanceId?: string;
  polls: number;
  nextPollSeconds: number;
  /** Masked last lines of the command's output. */
  output?: string;
  /** Why it was skipped, for history and the alert. */
  note?: string;
}

/** One post-deploy check sent to its instances. */
export interface CheckRun {
  name: string;
  commandId: string;
  instanceIds: string[];
  /** Instances whose invocation has ended (passed, or failed for a `warn` check). */
  finished: string[];
}

/** The post-deploy checks, all sent at once, polled together. */
export interface ChecksResult {
  status: 'pending' | 'passed';
  runs: CheckRun[];
  polls: number;
  nextPollSeconds: number;
  /** Masked one-paragraph notes on `warn` checks that failed: in history and the alert. */
  warnings: string[];
}

export interface RollbackResult {
  fromVersion: string;
  toVersion: string;
  startedAt: string;
  firstPollSeconds: number;
  maxPolls?: number;
  /** False when EB had already reverted to the good version by itself: nothing was redeployed. */
  redeployed?: boolean;
}

export type OutcomeStatus =
  | 'SUCCEEDED'
  | 'ROLLED_BACK'
  | 'FAILED_BEFORE_DEPLOY'
  | 'ROLLBACK_FAILED'
  /** Someone else deployed another version during the watch: ebship stopped and changed nothing. */
  | 'OVERRIDDEN'
  /** A promotion waiting for manual approval was rejected, expired or superseded: nothing changed (issue 14). */
  | 'NOT_APPROVED';

/** WaitForApproval's result: the answer `ebship approve` sent with SendTaskSuccess (issue 14). */
export interface ApprovalResult {
  /** The approver's IAM identity (STS GetCallerIdentity Arn). */
  approvedBy: string;
  approvedAt: string;
  comment?: string;
}

/** Error output of a caught state: Lambda's Cause is JSON with errorMessage; local runs give the message. */
export interface CaughtError {
  Error: string;
  Cause?: string;
}

export interface DeployState {
  /** The raw execution input, kept for diagnosis when resolution fails. */
  input?: unknown;
  release?: Release;
  ignored?: { reason: string };
  lock?: LockResult;
  secrets?: SecretsResult;
  bundle?: BundleResult;
  version?: VersionResult;
  deploy?: DeployResult;
  health?: HealthProgress;
  migration?: MigrationResult;
  releasePhase?: ReleasePhaseResult;
  checks?: ChecksResult;
  /** Why a rollback was started. */
  failure?: CaughtError;
  rollback?: RollbackResult;
  rollbackHealth?: HealthProgress;
  /** Error that ended the deploy before EB was changed, or that made the rollback fail. */
  error?: CaughtError;
  /** A promotion that waited for manual approval and got it. */
  approval?: ApprovalResult;
  outcome?: { status: OutcomeStatus; recorded?: boolean };
  /** RecordOutcome's result (lib/steps/record-outcome.ts). */
  recorded?: RecordedOutcome;
}

/** What RecordOutcome did: the history row, the lock, and a success's promotions (issue 14). */
export interface RecordedOutcome {
  recorded: boolean;
  lockReleased?: boolean;
  endedAt?: string;
  durationSeconds?: number;
  /** A success's promotions: started (each in its own execution), or why a target did not take it. */
  promotions?: PromotionResult;
  /** The promotions could not be started (after the SDK's retries): the alert says so. */
  promotionError?: string;
}

export interface PromotionResult {
  started: { target: string; executionArn: string; approval: 'none' | 'manual' }[];
  /** Targets that promote from this one but do not take this release, and why. */
  notPromoted: { target: string; reason: string }[];
}
