import * as z from 'zod/mini';
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
 * The state contract (lib/workflow-state.ts) as zod schemas, for the handlers to validate their whole
 * input. Each object schema lists exactly its interface's keys (`contract<T>()`), so a field added to
 * or removed from an interface without its schema fails typecheck. Unknown extra keys pass: the state
 * grows as steps write their results, and the ASL adds keys of its own (`resolved`, `recordError`, ...).
 *
 * zod/mini, not zod: every Lambda builds these at cold start, and the mini build (functions instead
 * of methods, so esbuild leaves out what is unused) loads and builds in about half the time.
 */

type Shape<T> = { [K in keyof T]-?: z.ZodMiniType<T[K]> };

function contract<T>() {
  return <S extends Shape<T>>(shape: S & Record<Exclude<keyof S, keyof T>, never>) => z.looseObject(shape);
}

const text = z.string().check(z.minLength(1));
const isoTime = z.string().check(z.refine((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO time'));
/** Wait states take SecondsPath as a non-negative integer. */
const seconds = z.int().check(z.nonnegative());
const count = z.int().check(z.nonnegative());
const lines = z.array(z.string());

export const releaseSchema = contract<Release>()({
  target: text,
  application: text,
  environment: text,
  platform: z.enum(['ecs', 'docker']),
  repository: z.string(),
  imageTag: z.optional(z.string()),
  // Empty for a rollback to a version whose Description names no digest.
  imageDigest: z.union([z.string().check(z.regex(DIGEST, 'expected sha256:<64 hex>')), z.literal('')]),
  imageUri: z.string(),
  imagePushedAt: z.optional(isoTime),
  // EB: VersionLabel is 1 to 100 characters (CreateApplicationVersion API reference).
  versionLabel: z.string().check(z.minLength(1), z.maxLength(100)),
  trigger: z.enum(['push', 'manual', 'rollback', 'promotion']),
  existingVersion: z.boolean(),
  hasMigrationCheck: z.boolean(),
  hasReleasePhase: z.optional(z.boolean()),
  hasChecks: z.optional(z.boolean()),
  forced: z.optional(z.boolean()),
  promotedFrom: z.optional(z.object({ target: text, executionId: text })),
  // promote.timeoutSeconds (lib/config/schema.ts): 60 to 10800.
  approvalTimeoutSeconds: z.optional(z.int().check(z.positive())),
  executionId: text,
  startedAt: isoTime,
}) satisfies z.ZodMiniType<Release>;

export const lockSchema = contract<LockResult>()({
  skipped: z.optional(z.looseObject({ reason: z.string() })),
  waiting: z.optional(z.looseObject({ nextPollSeconds: seconds, holder: z.string(), since: z.string() })),
  owner: z.optional(text),
  expiresAt: z.optional(z.string()),
  forced: z.optional(lines),
}) satisfies z.ZodMiniType<LockResult>;

export const secretsSchema = contract<SecretsResult>()({
  checked: lines,
  arns: z.record(z.string(), z.string()),
  warnings: lines,
}) satisfies z.ZodMiniType<SecretsResult>;

export const bundleSchema = contract<BundleResult>()({
  bucket: text,
  key: text,
  sha256: z.string(),
  bytes: count,
  files: lines,
  warnings: lines,
}) satisfies z.ZodMiniType<BundleResult>;

export const versionSchema = contract<VersionResult>()({
  label: text,
  reused: z.boolean(),
  status: z.string(),
  polls: count,
  nextPollSeconds: seconds,
  waitedSeconds: z.optional(seconds),
}) satisfies z.ZodMiniType<VersionResult>;

export const deploySchema = contract<DeployResult>()({
  fromVersion: z.optional(z.string()),
  toVersion: text,
  startedAt: isoTime,
  firstPollSeconds: seconds,
  maxPolls: z.optional(count),
}) satisfies z.ZodMiniType<DeployResult>;

export const healthSchema = contract<HealthProgress>()({
  verdict: z.enum(['wait', 'healthy', 'rollback', 'timeout', 'overridden', 'abort']),
  polls: count,
  nextPollSeconds: seconds,
  convergedAt: z.optional(isoTime),
  healthySince: z.optional(isoTime),
  status: z.optional(z.string()),
  color: z.optional(z.string()),
  healthStatus: z.optional(z.string()),
  causes: lines,
  events: lines,
  unread: z.optional(z.looseObject({ count, max: count })),
  lastReadAt: z.optional(isoTime),
  throttled: z.optional(z.looseObject({ polls: count, seconds: z.number().check(z.gte(0)) })),
  alarmsBefore: z.optional(z.record(z.string(), z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA', 'unknown']))),
  notes: z.optional(lines),
  redSince: z.optional(isoTime),
  // A Task's TimeoutSecondsPath must name a positive integer.
  fallbackSeconds: z.optional(z.int().check(z.positive())),
  instances: z.optional(
    z
      .array(
        z.looseObject({
          id: z.string(),
          versionLabel: z.optional(z.string()),
          deploymentStatus: z.optional(z.string()),
          color: z.optional(z.string()),
        }),
      )
      .check(z.maxLength(100)),
  ),
}) satisfies z.ZodMiniType<HealthProgress>;

export const migrationSchema = contract<MigrationResult>()({
  status: z.enum(['pending', 'passed']),
  commandId: text,
  instanceId: text,
  polls: count,
  nextPollSeconds: seconds,
  output: z.optional(z.string()),
}) satisfies z.ZodMiniType<MigrationResult>;

export const releasePhaseSchema = contract<ReleasePhaseResult>()({
  status: z.enum(['pending', 'passed', 'skipped']),
  commandId: z.optional(text),
  instanceId: z.optional(text),
  polls: count,
  nextPollSeconds: seconds,
  output: z.optional(z.string()),
  note: z.optional(z.string()),
}) satisfies z.ZodMiniType<ReleasePhaseResult>;

const checkRunSchema = contract<CheckRun>()({
  name: text,
  commandId: text,
  instanceIds: z.array(text),
  finished: z.array(text),
}) satisfies z.ZodMiniType<CheckRun>;

export const checksSchema = contract<ChecksResult>()({
  status: z.enum(['pending', 'passed']),
  runs: z.array(checkRunSchema),
  polls: count,
  nextPollSeconds: seconds,
  warnings: lines,
}) satisfies z.ZodMiniType<ChecksResult>;

export const rollbackSchema = contract<RollbackResult>()({
  fromVersion: z.string(),
  toVersion: text,
  startedAt: isoTime,
  firstPollSeconds: seconds,
  maxPolls: z.optional(count),
  redeployed: z.optional(z.boolean()),
}) satisfies z.ZodMiniType<RollbackResult>;

export const caughtErrorSchema = contract<CaughtError>()({
  Error: z.string(),
  Cause: z.optional(z.string()),
}) satisfies z.ZodMiniType<CaughtError>;

export const outcomeStatusSchema = z.enum([
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
  comment: z.optional(z.string()),
}) satisfies z.ZodMiniType<ApprovalResult>;

export const recordedSchema = contract<RecordedOutcome>()({
  recorded: z.boolean(),
  lockReleased: z.optional(z.boolean()),
  endedAt: z.optional(isoTime),
  durationSeconds: z.optional(count),
  promotions: z.optional(
    z.looseObject({
      started: z.array(
        z.looseObject({ target: text, executionArn: text, approval: z.enum(['none', 'manual']) }),
      ),
      notPromoted: z.array(z.looseObject({ target: text, reason: z.string() })),
    }),
  ),
  promotionError: z.optional(z.string()),
}) satisfies z.ZodMiniType<RecordedOutcome>;

export const deployStateSchema = contract<DeployState>()({
  // The raw execution input, kept for the alert: anything at all (a manual request is free text).
  input: z.optional(z.unknown()),
  release: z.optional(releaseSchema),
  ignored: z.optional(z.looseObject({ reason: z.string() })),
  lock: z.optional(lockSchema),
  secrets: z.optional(secretsSchema),
  bundle: z.optional(bundleSchema),
  version: z.optional(versionSchema),
  deploy: z.optional(deploySchema),
  health: z.optional(healthSchema),
  migration: z.optional(migrationSchema),
  releasePhase: z.optional(releasePhaseSchema),
  checks: z.optional(checksSchema),
  failure: z.optional(caughtErrorSchema),
  rollback: z.optional(rollbackSchema),
  rollbackHealth: z.optional(healthSchema),
  error: z.optional(caughtErrorSchema),
  approval: z.optional(approvalSchema),
  outcome: z.optional(z.looseObject({ status: outcomeStatusSchema, recorded: z.optional(z.boolean()) })),
  recorded: z.optional(recordedSchema),
}) satisfies z.ZodMiniType<DeployState>;
