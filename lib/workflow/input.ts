import type { Context } from 'aws-lambda';
import * as v from 'valibot';
import { InputInvalid } from '../errors.js';
import { logger } from '../logger.js';
import { IN_WORDS, issueLines } from '../text/schema-issues.js';
import type { DeployState, Release } from '../workflow-state.js';
import { deployStateSchema } from './schemas.js';

/** A state whose `K` keys an earlier step wrote. */
export type StateWith<K extends keyof DeployState> = DeployState & {
  [P in K]-?: NonNullable<DeployState[P]>;
};

/**
 * Validates a handler's whole input against the state contract (lib/workflow/schemas.ts), requires
 * the keys earlier steps must have written, and starts this invocation's log keys afresh.
 * Malformed input is InputInvalid naming the fields, before any AWS call: never a TypeError later.
 */
export function parseState<K extends keyof DeployState>(
  event: unknown,
  context: Context | undefined,
  required: readonly K[],
): StateWith<K> {
  beginInvocation(context);
  const parsed = v.safeParse(deployStateSchema, event, IN_WORDS);
  const given = typeof event === 'object' && event !== null ? (event as Record<string, unknown>) : {};
  const missing = required.filter((key) => given[key] === undefined).map(String);
  const malformed = parsed.success
    ? []
    : issueLines(parsed.issues, '(event)').filter((line) => !missing.some((k) => line.startsWith(`${k}: `)));
  if (missing.length > 0 || malformed.length > 0) {
    const problems = [
      ...(missing.length > 0 ? [`has no ${missing.map((k) => `"${k}"`).join(', ')}`] : []),
      ...(malformed.length > 0 ? [`has malformed fields (${malformed.join('; ')})`] : []),
    ];
    throw new InputInvalid(
      `the deployment state ${problems.join(' and ')}; this step must run inside the ebship state machine, after the steps that write them`,
    );
  }
  const state = (parsed.output ?? {}) as StateWith<K>;
  if (state.release) logRelease(state.release);
  return state;
}

/** The whole state, which must carry a release. */
export function stateWithRelease(event: unknown, context?: Context): StateWith<'release'> {
  return parseState(event, context, ['release']);
}

/**
 * Parses the part of an event a handler relies on; a mismatch is InputInvalid naming the fields and
 * what each should be, never a ValiError or TypeError, so the state machine's Catch and the alert
 * say what was wrong.
 */
export function parseEvent<S extends v.GenericSchema>(
  schema: S,
  event: unknown,
  what: string,
): v.InferOutput<S> {
  const parsed = v.safeParse(schema, event, IN_WORDS);
  if (!parsed.success) {
    throw new InputInvalid(
      `${what} is missing or malformed (${issueLines(parsed.issues, '(event)').join('; ')}); this step must run inside the ebship state machine`,
    );
  }
  return parsed.output;
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

/**
 * Starts an invocation's logging. Powertools' resetKeys() drops the keys the previous (warm)
 * invocation appended, so no line of this one names another deploy's target or version.
 */
export function beginInvocation(context?: Context): void {
  logger.resetKeys();
  if (context) logger.addContext(context);
}

/** Puts the release's target, version label and execution on every later line of this invocation. */
export function logRelease(r: Pick<Release, 'target' | 'versionLabel' | 'executionId'>): void {
  logger.appendKeys({ target: r.target, versionLabel: r.versionLabel, executionId: r.executionId });
}

/** Starts an invocation's logging, with the release's keys if there is one. */
export function startLogging(
  context: Context | undefined,
  r?: Pick<Release, 'target' | 'versionLabel' | 'executionId'>,
): void {
  beginInvocation(context);
  if (r) logRelease(r);
}
