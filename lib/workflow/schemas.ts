import * as v from 'valibot';
import { DIGEST } from '../release/image-ref.js';
import type {
  ApprovalResult,
  BundleResult,
  CaughtError,
  CheckRun,
  ChecksResult,
  DeployResult,
  DeployState,
  HealthProgress,
  LockResult,
  MigrationResult,
  RecordedOutcome,
  Release,
  ReleasePhaseResult,
  RollbackResult,
  SecretsResult,
  VersionResult,
} from '../workflow-state.js';

/**
 * The state contract (lib/workflow-state.ts) as valibot schemas, for the handlers to validate their whole
 * input. Each object schema lists exactly its interface's keys (`contract<T>()`), so a field added to
 * or removed from an interface without its schema fails typecheck. Unknown extra keys pass: the state
 * grows as steps write their results, and the ASL adds keys of its own (`resolved`, `recordError`, ...).
 *
 * valibot, not zod: every Lambda builds these at cold start. valibot's schemas are plain functions
 * (esbuild keeps only those used) and cheap to build: this module costs about a quarter of the CPU
 * of its zod/mini version at import, in a third of the bytes (issue 16). ebship.yml keeps full zod,
 * in the CLI and at package time (lib/config/schema.ts); no Lambda bundle carries zod.
 */

type Shape<T> = { [K in keyof T]-?: v.GenericSchema<T[K]> };

function contract<T>() {
  return <S extends Shape<T>>(shape: S & Record<Exclude<keyof S, keyof T>, never>) => v.looseObject(shape);
}

const text = v.pipe(v.string(), v.minLength(1));
const isoTime = v.pipe(
  v.string(),
  v.check((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO time'),
);
/** Wait states take SecondsPath as a non-negative integer. */
const seconds = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
const count = seconds;
const positive = v.pipe(v.number(), v.safeInteger(), v.minValue(1));
const lines = v.array(v.string());

export const releaseSchema = contract<Release>()({
  target: text,
  application: text,
  environment: text,
  platform: v.picklist(['ecs', 'docker']),
  repository: v.string(),
  imageTag: v.optional(v.string()),
  // Empty for a rollback to a version whose Description names no digest.
  imageDigest: v.union([v.pipe(v.string(), v.regex(DIGEST, 'expected sha256:<64 hex>')), v.literal('')]),
  imageUri: v.string(),
  imagePushedAt: v.optional(isoTime),
  // EB: VersionLabel is 1 to 100 characters (CreateApplicationVersion API reference).
  versionLabel: v.pipe(v.string(), v.minLength(1), v.maxLength(100)),
  trigger: v.picklist(['push', 'manual', 'rollback', 'promotion']),
  existingVersion: v.boolean(),
  hasMigrationCheck: v.boolean(),
  hasReleasePhase: v.optional(v.boolean()),
  hasChecks: v.optional(v.boolean()),
  forced: v.optional(v.boolean()),
  promotedFrom: v.optional(v.object({ target: text, executionId: text })),
  // promote.timeoutSeconds (lib/config/schema.ts): 60 to 10800.
  approvalTimeoutSeconds: v.optional(positive),
  executionId: text,
  startedAt: isoTime,
}) satisfies v.GenericSchema<Release>;

export const lockSchema = contract<LockResult>()({
  skipped: v.optional(v.looseObject({ reason: v.string() })),
  waiting: v.optional(v.looseObject({ nextPollSeconds: seconds, holder: v.string(), since: v.string() })),
  owner: v.optional(text),
  expiresAt: v.optional(v.string()),
  forced: v.optional(lines),
}) satisfies v.GenericSchema<LockResult>;

export const secretsSchema = contract<SecretsResult>()({
  checked: lines,
  arns: v.record(v.string(), v.string()),
  warnings: lines,
}) satisfies v.GenericSchema<SecretsResult>;

export const bundleSchema = contract<BundleResult>()({
  bucket: text,
  key: text,
  sha256: v.string(),
  bytes: count,
  files: lines,
  warnings: lines,
}) satisfies v.GenericSchema<BundleResult>;

export const versionSchema = contract<VersionResult>()({
  label: text,
  reused: v.boolean(),
  status: v.string(),
  polls: count,
  nextPollSeconds: seconds,
  waitedSeconds: v.optional(seconds),
  warnings: v.optional(lines),
}) satisfies v.GenericSchema<VersionResult>;

export const deploySchema = contract<DeployResult>()({
  fromVersion: v.optional(v.string()),
  toVersion: text,
  startedAt: isoTime,
  firstPollSeconds: seconds,
  maxPolls: v.optional(count),
}) satisfies v.GenericSchema<DeployResult>;

export const healthSchema = contract<HealthProgress>()({
  verdict: v.picklist(['wait', 'healthy', 'rollback', 'timeout', 'overridden', 'abort']),
  polls: count,
  nextPollSeconds: seconds,
  convergedAt: v.optional(isoTime),
  healthySince: v.optional(isoTime),
  status: v.optional(v.string()),
  color: v.optional(v.string()),
  healthStatus: v.optional(v.string()),
  causes: lines,
  events: lines,
  unread: v.optional(v.looseObject({ count, max: count })),
  lastReadAt: v.optional(isoTime),
  throttled: v.optional(v.looseObject({ polls: count, seconds: v.pipe(v.number(), v.minValue(0)) })),
  alarmsBefore: v.optional(v.record(v.string(), v.picklist(['OK', 'ALARM', 'INSUFFICIENT_DATA', 'unknown']))),
  notes: v.optional(lines),
  redSince: v.optional(isoTime),
  // A Task's TimeoutSecondsPath must name a positive integer.
  fallbackSeconds: v.optional(positive),
  instances: v.optional(
    v.pipe(
      v.array(
        v.looseObject({
          id: v.string(),
          versionLabel: v.optional(v.string()),
          deploymentStatus: v.optional(v.string()),
          color: v.optional(v.string()),
        }),
      ),
      v.maxLength(100),
    ),
  ),
}) satisfies v.GenericSchema<HealthProgress>;

export const migrationSchema = contract<MigrationResult>()({
  status: v.picklist(['pending', 'passed']),
  commandId: text,
  instanceId: text,
  polls: count,
  nextPollSeconds: seconds,
  output: v.optional(v.string()),
}) satisfies v.GenericSchema<MigrationResult>;

export const releasePhaseSchema = contract<ReleasePhaseResult>()({
  status: v.picklist(['pending', 'passed', 'skipped']),
  commandId: v.optional(text),
  instanceId: v.optional(text),
  polls: count,
  nextPollSeconds: seconds,
  output: v.optional(v.string()),
  note: v.optional(v.string()),
}) satisfies v.GenericSchema<ReleasePhaseResult>;

const checkRunSchema = contract<CheckRun>()({
  name: text,
  commandId: text,
  instanceIds: v.array(text),
  finished: v.array(text),
}) satisfies v.GenericSchema<CheckRun>;

export const checksSchema = contract<ChecksResult>()({
  status: v.picklist(['pending', 'passed']),
  runs: v.array(checkRunSchema),
  polls: count,
  nextPollSeconds: seconds,
  warnings: lines,
}) satisfies v.GenericSchema<ChecksResult>;

export const rollbackSchema = contract<RollbackResult>()({
  fromVersion: v.string(),
  toVersion: text,
  startedAt: isoTime,
  firstPollSeconds: seconds,
  maxPolls: v.optional(count),
  redeployed: v.optional(v.boolean()),
}) satisfies v.GenericSchema<RollbackResult>;

export const caughtErrorSchema = contract<CaughtError>()({
  Error: v.string(),
  Cause: v.optional(v.string()),
}) satisfies v.GenericSchema<CaughtError>;

export const outcomeStatusSchema = v.picklist([
  'SUCCEEDED',
  'ROLLED_BACK',
  'FAILED_BEFORE_DEPLOY',
  'ROLLBACK_FAILED',
  'OVERRIDDEN',
  'NOT_APPROVED',
]);

export const approvalSchema = contract<ApprovalResult>()({
  approvedBy: text,
  approvedAt: isoTime,
  comment: v.optional(v.string()),
}) satisfies v.GenericSchema<ApprovalResult>;

export const recordedSchema = contract<RecordedOutcome>()({
  recorded: v.boolean(),
  lockReleased: v.optional(v.boolean()),
  endedAt: v.optional(isoTime),
  durationSeconds: v.optional(count),
  promotions: v.optional(
    v.looseObject({
      started: v.array(
        v.looseObject({ target: text, executionArn: text, approval: v.picklist(['none', 'manual']) }),
      ),
      notPromoted: v.array(v.looseObject({ target: text, reason: v.string() })),
    }),
  ),
  promotionError: v.optional(v.string()),
}) satisfies v.GenericSchema<RecordedOutcome>;

export const deployStateSchema = contract<DeployState>()({
  // The raw execution input, kept for the alert: anything at all (a manual request is free text).
  input: v.optional(v.unknown()),
  release: v.optional(releaseSchema),
  ignored: v.optional(v.looseObject({ reason: v.string() })),
  lock: v.optional(lockSchema),
  secrets: v.optional(secretsSchema),
  bundle: v.optional(bundleSchema),
  version: v.optional(versionSchema),
  deploy: v.optional(deploySchema),
  health: v.optional(healthSchema),
  migration: v.optional(migrationSchema),
  releasePhase: v.optional(releasePhaseSchema),
  checks: v.optional(checksSchema),
  failure: v.optional(caughtErrorSchema),
  rollback: v.optional(rollbackSchema),
  rollbackHealth: v.optional(healthSchema),
  error: v.optional(caughtErrorSchema),
  approval: v.optional(approvalSchema),
  outcome: v.optional(v.looseObject({ status: outcomeStatusSchema, recorded: v.optional(v.boolean()) })),
  recorded: v.optional(recordedSchema),
}) satisfies v.GenericSchema<DeployState>;
