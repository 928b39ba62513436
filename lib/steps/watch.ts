import { SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import * as v from 'valibot';
import { dynamo } from '../aws/clients/dynamo.js';
import { sfn } from '../aws/clients/sfn.js';
import { InputInvalid, WatchEnded } from '../errors.js';
import { logger } from '../logger.js';
import { runtimeEnv } from '../runtime.js';
import type { EnvKey } from '../store/deployments.js';
import {
  deleteWatch,
  getWatch,
  noteMissedEvent,
  restoreToken,
  storeToken,
  takeToken,
} from '../store/watch.js';

/**
 * The event-driven health watch (issue 13, docs/architecture.md "The event-driven health watch").
 * Between two reads of the environment the execution waits in a `waitForTaskToken` Task whose
 * Lambda, registerWatch, stores the task token on the environment's WATCH item. EB's EventBridge
 * events for the environment reach ebEvents, which takes the token and calls SendTaskSuccess: the
 * execution reads EB at once. An event never decides anything; it only brings the next read
 * forward. If none comes, the Task's timeout (the fallback interval) reads anyway.
 */

export interface Registered {
  /** False when this token was already woken (a registration Step Functions ran again). */
  registered: boolean;
  /** An EB event came while the execution was reading: this wait was woken at once. */
  wokeAtOnce: boolean;
}

export async function registerWatch(input: {
  taskToken: string;
  phase: 'deploy' | 'rollback';
  key: EnvKey;
  executionId: string;
  expectedVersion: string;
  /** The verdict of the look just taken: only `wait` waits. */
  verdict: string;
}): Promise<Registered> {
  if (input.verdict !== 'wait') {
    // The look after the last wait ended the watch: its Catch routes the verdict (no Choice per look).
    throw new WatchEnded(`the ${input.phase} watch took its verdict (${input.verdict}): nothing to wait for`);
  }
  const table = runtimeEnv().tableName;
  const stored = await storeToken(dynamo, table, input.key, {
    taskToken: input.taskToken,
    executionId: input.executionId,
    phase: input.phase,
    expectedVersion: input.expectedVersion,
  });
  if (stored.woken) return { registered: false, wokeAtOnce: false };
  if (!stored.missedAt) return { registered: true, wokeAtOnce: false };
  // An event arrived after the token was taken for the last wake and before this one was stored:
  // the read that just happened may not have seen its effect, so read again now.
  const woke = await wake(input.key, input.taskToken, undefined, {
    wokenBy: 'an EB event that came during the last read',
    at: stored.missedAt,
  });
  return { registered: true, wokeAtOnce: woke === 'woken' };
}

/**
 * The watch took its verdict (healthy, rollback, abort, timeout, overridden): its WATCH item goes,
 * so it does not linger until an event finds it or its TTL. Only this execution's item (a newer
 * registration is never deleted), and idempotent: a Lambda retry, or a poll-only watch that never
 * stored one, finds nothing to delete. A failure here is logged, not thrown: the verdict stands,
 * an event that finds the item is told the task is closed (stale), and the TTL is the backstop.
 */
export async function endWatch(key: EnvKey, executionId: string): Promise<boolean> {
  try {
    return await deleteWatch(dynamo, runtimeEnv().tableName, key, { executionId });
  } catch (err) {
    logger.warn('could not delete the WATCH item at the verdict; its TTL will', {
      environment: key.environment,
      error: (err as Error).name,
    });
    return false;
  }
}

/**
 * "Health status change" and "Elastic Beanstalk resource status change", as EB sends them to
 * EventBridge (EB developer guide, "Using Elastic Beanstalk with Amazon EventBridge": detail has
 * Status, EventDate, ApplicationName, EnvironmentName, Message, Severity; `resources` holds the
 * environment's ARN). Only what locates the environment is required.
 */
const ebEvent = v.object({
  id: v.pipe(v.string(), v.minLength(1)),
  source: v.literal('aws.elasticbeanstalk'),
  'detail-type': v.string(),
  time: v.optional(v.string()),
  resources: v.optional(v.array(v.string()), () => []),
  detail: v.looseObject({
    ApplicationName: v.optional(v.pipe(v.string(), v.minLength(1))),
    EnvironmentName: v.optional(v.pipe(v.string(), v.minLength(1))),
    Status: v.optional(v.string()),
    Message: v.optional(v.string()),
    EventDate: v.optional(v.union([v.number(), v.string()])),
  }),
});

export type WakeAction =
  /** No execution watches the environment (or its watch expired). */
  | 'none'
  /** SendTaskSuccess: the waiting execution reads EB now. */
  | 'woken'
  /** An execution is reading EB right now: its next wait wakes at once. */
  | 'noted'
  /** Another copy of the event, or a newer one, took the token first: nothing to do. */
  | 'duplicate'
  /** Step Functions no longer knows the token (the wait ended, the execution stopped): item deleted. */
  | 'stale';

export interface WakeResult {
  environment?: string;
  action: WakeAction;
}

/** ebEvents: wakes the execution watching the event's environment, if any. */
export async function wakeOnEbEvent(event: unknown): Promise<WakeResult> {
  const parsed = v.safeParse(ebEvent, event);
  if (!parsed.success) {
    throw new InputInvalid(
      "not an Elastic Beanstalk EventBridge event; this function is the target of ebship's EbEventsRule",
    );
  }
  const e = parsed.output;
  const key = envKeyOf(e);
  if (!key) return { action: 'none' };
  const table = runtimeEnv().tableName;
  const eventDate = e.detail.EventDate;
  const at = new Date(
    typeof eventDate === 'number' ? eventDate : Date.parse(eventDate ?? e.time ?? '') || Date.now(),
  ).toISOString();
  const output = {
    wokenBy: e['detail-type'],
    ...(e.detail.Status ? { status: e.detail.Status } : {}),
    ...(e.detail.Message ? { message: e.detail.Message.slice(0, 200) } : {}),
    at,
  };
  // A registration can land between the look and the write: look again (it takes two at most).
  for (let attempt = 0; attempt < 3; attempt++) {
    const watch = await getWatch(dynamo, table, key);
    if (!watch) return { environment: key.environment, action: 'none' };
    if (watch.seenEventIds?.has(e.id)) return { environment: key.environment, action: 'duplicate' };
    if (watch.taskToken) {
      return { environment: key.environment, action: await wake(key, watch.taskToken, e.id, output) };
    }
    if (await noteMissedEvent(dynamo, table, key, e.id, at))
      return { environment: key.environment, action: 'noted' };
  }
  return { environment: key.environment, action: 'duplicate' };
}

/**
 * Errors of SendTaskSuccess that say the wait is over (Step Functions API reference,
 * SendTaskSuccess): the token is malformed, unknown, or its task already closed (woken, timed out,
 * or its execution ended).
 */
const CLOSED = new Set(['TaskDoesNotExist', 'TaskTimedOut', 'InvalidToken']);

/** One wake per token: take it from the item (conditional), then SendTaskSuccess. */
async function wake(
  key: EnvKey,
  taskToken: string,
  eventId: string | undefined,
  output: Record<string, unknown>,
): Promise<WakeAction> {
  const table = runtimeEnv().tableName;
  if (!(await takeToken(dynamo, table, key, taskToken, eventId))) return 'duplicate';
  try {
    await sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
    logger.info('health watch woken by an EB event', { environment: key.environment, ...output });
    return 'woken';
  } catch (err) {
    const name = err instanceof Error ? err.name : '';
    if (CLOSED.has(name)) {
      await deleteWatch(dynamo, table, key, { wokenToken: taskToken });
      logger.info('the watch had ended: its WATCH item is deleted', { environment: key.environment, name });
      return 'stale';
    }
    // No answer: the wake may or may not have arrived. Put the token back for the next event (or
    // this event's retry); a wake that did arrive makes that one find the task closed.
    await restoreToken(dynamo, table, key, taskToken, eventId);
    throw err;
  }
}

/** The environment an event is about: detail names, else the ARN in `resources`. */
function envKeyOf(e: v.InferOutput<typeof ebEvent>): EnvKey | undefined {
  const { ApplicationName: application, EnvironmentName: environment } = e.detail;
  if (application && environment) return { application, environment };
  for (const arn of e.resources) {
    const m = /:environment\/([^/]+)\/([^/]+)$/.exec(arn);
    if (m?.[1] && m[2]) return { application: m[1], environment: m[2] };
  }
  return undefined;
}
