import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { InputInvalid } from '../errors.js';
import { logger } from '../logger.js';
import type { DeployState, Release } from '../workflow-state.js';

/** Validates the parts of the state a handler relies on; the state machine is the only caller. */
const release = z.object({
  target: z.string().min(1),
  application: z.string().min(1),
  environment: z.string().min(1),
  platform: z.enum(['ecs', 'docker']),
  repository: z.string(),
  imageTag: z.string().optional(),
  imageDigest: z.string(),
  imageUri: z.string(),
  imagePushedAt: z.string().optional(),
  versionLabel: z.string().min(1).max(100),
  trigger: z.enum(['push', 'manual', 'rollback']),
  existingVersion: z.boolean(),
  hasMigrationCheck: z.boolean(),
  executionId: z.string().min(1),
  startedAt: z.string().min(1),
});

const stateSchema = z.object({ release }).passthrough();

/** Parses a state that must carry a release, and puts target, version and execution on every log line. */
export function stateWithRelease(event: unknown, context?: Context): DeployState & { release: Release } {
  const parsed = stateSchema.safeParse(event);
  if (!parsed.success) {
    throw new InputInvalid(
      `state is missing its release (${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}); this step must run inside the ebship state machine`,
    );
  }
  const state = event as DeployState & { release: Release };
  startLogging(context, state.release);
  return state;
}

/**
 * Parses the part of an event a handler relies on; a mismatch is InputInvalid naming the fields,
 * never a ZodError or TypeError, so the state machine's Catch and the alert say what was wrong.
 */
export function parseEvent<T>(schema: z.ZodType<T>, event: unknown, what: string): T {
  const parsed = schema.safeParse(event);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => i.path.join('.') || '(event)').join(', ');
    throw new InputInvalid(
      `${what} is missing or malformed (${fields}); this step must run inside the ebship state machine`,
    );
  }
  return parsed.data;
}

/** Requires a key of the state that an earlier step wrote. */
export function need<K extends keyof DeployState>(state: DeployState, key: K): NonNullable<DeployState[K]> {
  const value = state[key];
  if (value === undefined || value === null)
    throw new InputInvalid(
      `state has no "${String(key)}"; the state machine definition and handlers disagree`,
    );
  return value as NonNullable<DeployState[K]>;
}

export function startLogging(
  context: Context | undefined,
  r?: Pick<Release, 'target' | 'versionLabel' | 'executionId'>,
): void {
  if (context) logger.addContext(context);
  if (r) logger.appendKeys({ target: r.target, versionLabel: r.versionLabel, executionId: r.executionId });
}
