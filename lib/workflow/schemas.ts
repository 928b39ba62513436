import * as z from 'zod';
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
 */

type Shape<T> = { [K in keyof T]-?: z.ZodType<T[K]> };

function contract<T>() {
  return <S extends Shape<T>>(shape: S & Record<Exclude<keyof S, keyof T>, never>) => z.looseObject(shape);
}

const text = z.string().min(1);
const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO time');
/** Wait states take SecondsPath as a non-negative integer. */
const seconds = z.number().int().nonnegative();
const count = z.number().int().nonnegative();
const lines = z.array(z.string());

export const releaseSchema = contract<Release>()({
  target: text,
  application: text,
  environment: text,
  platform: z.enum(['ecs', 'docker']),
  repository: z.string(),
  imageTag: z.string().optional(),
  // Empty for a rollback to a version whose Description names no digest.
  imageDigest: z.union([z.string().regex(DIGEST, 'expected sha256:<64 hex>'), z.literal('')]),
  imageUri: z.string(),
  imagePushedAt: isoTime.optional(),
  // EB: VersionLabel is 1 to 100 characters (CreateApplicationVersion API reference).
  versionLabel: z.string().min(1).max(100),
  trigger: z.enum(['push', 'manual', 'rollback', 'promotion']),
  existingVersion: z.boolean(),
  hasMigrationCheck: z.boolean(),
  hasReleasePhase: z.boolean().optional(),
  hasChecks: z.boolean().optional(),
  forced: z.boolean().optional(),
  promotedFrom: z.object({ target: text, executionId: text }).optional(),
  needsApproval: z.boolean().optional(),
  // promote.timeoutSeconds (lib/config/schema.ts): 60 to 10800.
  approvalTimeoutSeconds: z.number().int().positive().optional(),
  executionId: text,
  startedAt: isoTime,
}) satisfies z.ZodType<Release>;

export const lockSchema = contract<LockResult>()({
  skipped: z.looseObject({ reason: z.string() }).optional(),
  waiting: z.looseObject({ nextPollSeconds: seconds, holder: z.string(), since: z.string() }).optional(),
  owner: text.optional(),
  expiresAt: z.string().optional(),
  forced: lines.optional(),
}) satisfies z.ZodType<LockResult>;

export const secretsSchema = contract<SecretsResult>()({
  checked: lines,
  arns: z.record(z.string(), z.string()),
  warnings: lines,
}) satisfies z.ZodType<SecretsResult>;

export const bundleSchema = contract<BundleResult>()({
  bucket: text,
  key: text,
  sha256: z.string(),
  bytes: count,
  files: lines,
  warnings: lines,
}) satisfies z.ZodType<BundleResult>;

export const versionSchema = contract<VersionResult>()({
  label: text,
  reused: z.boolean(),
  status: z.string(),
  polls: count,
  nextPollSeconds: seconds,
  waitedSeconds: seconds.optional(),
}) satisfies z.ZodType<VersionResult>;

export const deploySchema = contract<DeployResult>()({
  fromVersion: z.string().optional(),
  toVersion: text,
  startedAt: isoTime,
  firstPollSeconds: seconds,
  maxPolls: count.optional(),
}) satisfies z.ZodType<DeployResult>;

export const healthSchema = contract<HealthProgress>()({
  verdict: z.enum(['wait', 'healthy', 'rollback', 'timeout', 'overridden', 'abort']),
  polls: count,
  nextPollSeconds: seconds,
  convergedAt: isoTime.optional(),
  healthySince: isoTime.optional(),
  status: z.string().optional(),
  color: z.string().optional(),
  healthStatus: z.string().optional(),
  causes: lines,
  events: lines,
  unread: z.looseObject({ count, max: count }).optional(),
  lastReadAt: isoTime.optional(),
  throttled: z.looseObject({ polls: count, seconds: z.number().min(0) }).optional(),
  alarmsBefore: z.record(z.string(), z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA', 'unknown'])).optional(),
  notes: lines.optional(),
  redSince: isoTime.optional(),
  // A Task's TimeoutSecondsPath must name a positive integer.
  fallbackSeconds: z.number().int().positive().optional(),
  instances: z
    .array(
      z.looseObject({
        id: z.string(),
        versionLabel: z.string().optional(),
        deploymentStatus: z.string().optional(),
        color: z.string().optional(),
      }),
    )
    .max(100)
    .optional(),
}) satisfies z.ZodType<HealthProgress>;

export const migrationSchema = contract<MigrationResult>()({
  status: z.enum(['pending', 'passed']),
  commandId: text,
  instanceId: text,
  polls: count,
  nextPollSeconds: seconds,
  output: z.string().optional(),
}) satisfies z.ZodType<MigrationResult>;

export const releasePhaseSchema = contract<ReleasePhaseResult>()({
  status: z.enum(['pending', 'passed', 'skipped']),
  commandId: text.optional(),
  instanceId: text.optional(),
  polls: count,
  nextPollSeconds: seconds,
  output: z.string().optional(),
  note: z.string().optional(),
}) satisfies z.ZodType<ReleasePhaseResult>;

const checkRunSchema = contract<CheckRun>()({
  name: text,
  commandId: text,
  instanceIds: z.array(text),
  finished: z.array(text),
}) satisfies z.ZodType<CheckRun>;

export const checksSchema = contract<ChecksResult>()({
  status: z.enum(['pending', 'passed']),
  runs: z.array(checkRunSchema),
  polls: count,
  nextPollSeconds: seconds,
  warnings: lines,
}) satisfies z.ZodType<ChecksResult>;

export const rollbackSchema = contract<RollbackResult>()({
  fromVersion: z.string(),
  toVersion: text,
  startedAt: isoTime,
  firstPollSeconds: seconds,
  maxPolls: count.optional(),
  redeployed: z.boolean().optional(),
}) satisfies z.ZodType<RollbackResult>;

export const caughtErrorSchema = contract<CaughtError>()({
  Error: z.string(),
  Cause: z.string().optional(),
}) satisfies z.ZodType<CaughtError>;

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
  comment: z.string().optional(),
}) satisfies z.ZodType<ApprovalResult>;
export const recordedSchema = contract<RecordedOutcome>()({
  recorded: z.boolean(),
  lockReleased: z.boolean().optional(),
  endedAt: isoTime.optional(),
  durationSeconds: count.optional(),
  promotions: z
    .looseObject({
      started: z.array(
        z.looseObject({ target: text, executionArn: text, approval: z.enum(['none', 'manual']) }),
      ),
      notPromoted: z.array(z.looseObject({ target: text, reason: z.string() })),
    })
    .optional(),
  promotionError: z.string().optional(),
}) satisfies z.ZodType<RecordedOutcome>;

export const deployStateSchema = contract<DeployState>()({
  // The raw execution input, kept for the alert: anything at all (a manual request is free text).
  input: z.unknown().optional(),
  release: releaseSchema.optional(),
  ignored: z.looseObject({ reason: z.string() }).optional(),
  lock: lockSchema.optional(),
  secrets: secretsSchema.optional(),
  bundle: bundleSchema.optional(),
  version: versionSchema.optional(),
  deploy: deploySchema.optional(),
  health: healthSchema.optional(),
  migration: migrationSchema.optional(),
  releasePhase: releasePhaseSchema.optional(),
  checks: checksSchema.optional(),
  failure: caughtErrorSchema.optional(),
  rollback: rollbackSchema.optional(),
  rollbackHealth: healthSchema.optional(),
  error: caughtErrorSchema.optional(),
  approval: approvalSchema.optional(),
  outcome: z.looseObject({ status: outcomeStatusSchema, recorded: z.boolean().optional() }).optional(),
  recorded: recordedSchema.optional(),
}) satisfies z.ZodType<DeployState>;
