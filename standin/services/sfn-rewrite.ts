import type { StateMachine, StateMachineDefinition } from 'aws-local-stepfunctions';
import type { Clock } from '../clock.js';
import type { JsonObject } from '../protocol.js';

/**
 * The runnable copy of a definition: what aws-local-stepfunctions would do in real time, moved to
 * the simulated clock. Wait states become Tasks whose handler sleeps on the clock; Retry is done by
 * the task wrappers (sfn-tasks.ts); TimeoutSeconds is kept by the stand-in.
 */

type JSONValue = Parameters<StateMachine['run']>[0];
export type StateDef = JsonObject & { Type: string };

/**
 * The library sleeps Wait states in real time. Each Wait state becomes a Task of the same name
 * whose local handler waits the same simulated time on the scaled clock (Seconds, SecondsPath,
 * Timestamp, TimestampPath); the history still reports Wait events.
 */
export function scaleWaits(
  definition: StateMachineDefinition,
  clock: Clock,
): {
  runnable: StateMachineDefinition;
  originalTypes: Map<string, string>;
  waitHandlers: Record<string, (input: JSONValue) => Promise<JSONValue>>;
} {
  const states = (definition as unknown as { States: Record<string, StateDef> }).States;
  const originalTypes = new Map<string, string>();
  const waitHandlers: Record<string, (input: JSONValue) => Promise<JSONValue>> = {};
  const rewritten: Record<string, StateDef> = {};
  for (const [name, state] of Object.entries(states)) {
    originalTypes.set(name, state.Type);
    if (state.Type !== 'Wait') {
      rewritten[name] = state;
      continue;
    }
    const { Seconds, SecondsPath, Timestamp, TimestampPath, Type: _t, ...rest } = state;
    rewritten[name] = {
      ...rest,
      Type: 'Task',
      Resource: `arn:aws:lambda:us-east-1:000000000000:function:wait-${name}`,
    };
    waitHandlers[name] = async (input: JSONValue) => {
      let ms = 0;
      if (typeof Seconds === 'number') ms = Seconds * 1000;
      else if (typeof SecondsPath === 'string') ms = Number(pathValue(input, SecondsPath)) * 1000;
      else {
        const ts =
          typeof Timestamp === 'string' ? Timestamp : String(pathValue(input, String(TimestampPath)));
        ms = Date.parse(ts) - clock.now();
      }
      if (!Number.isFinite(ms) || ms < 0) ms = 0;
      await clock.sleep(ms);
      return input;
    };
  }
  return {
    runnable: { ...definition, States: rewritten } as unknown as StateMachineDefinition,
    originalTypes,
    waitHandlers,
  };
}

/** Reads a simple reference path (`$.a.b`) from the (already InputPath-filtered) input. */
function pathValue(input: JSONValue, path: string): unknown {
  let node: unknown = input;
  for (const part of path
    .replace(/^\$\.?/, '')
    .split('.')
    .filter(Boolean)) {
    node = typeof node === 'object' && node !== null ? (node as JsonObject)[part] : undefined;
  }
  return node;
}

/**
 * The runnable copy: Retry is done by the task wrappers (so its waits run on the simulated clock),
 * and TimeoutSeconds by the stand-in itself.
 */
export function withoutRetries(definition: StateMachineDefinition): StateMachineDefinition {
  const states = (definition as unknown as { States: Record<string, StateDef> }).States;
  const runnable: Record<string, StateDef> = {};
  for (const [name, state] of Object.entries(states)) {
    const { Retry: _retry, ...rest } = state;
    runnable[name] = state.Type === 'Task' ? (rest as StateDef) : state;
  }
  const { TimeoutSeconds: _timeout, ...top } = definition as unknown as JsonObject;
  return { ...top, States: runnable } as unknown as StateMachineDefinition;
}

/** The key the runnable copy adds to a callback Task's Parameters: its timeout, for the task wrapper. */
export const CALLBACK_TIMEOUT_KEY = '__standinTimeoutSeconds';
/**
 * `$$.Task.Token` as the library resolves it: one placeholder for every callback Task, which the task
 * wrapper replaces with a token of its own for each attempt (sfn-tasks.ts, TaskTokens).
 */
export const TASK_TOKEN_PLACEHOLDER = '__standin-task-token__';
/**
 * The library's own Task timeout runs in real time (default 60 s): callback Tasks get one it never
 * reaches (under setTimeout's 2^31 ms limit), and their real timeout runs on the simulated clock.
 */
const NO_REAL_TIMEOUT_SECONDS = 2_000_000;

/** The Task states that wait for a task token (`...waitForTaskToken` resources). */
export function callbackStates(definition: StateMachineDefinition): Set<string> {
  const states = (definition as unknown as { States: Record<string, StateDef> }).States;
  return new Set(
    Object.entries(states)
      .filter(([, s]) => s.Type === 'Task' && String(s.Resource ?? '').endsWith('.waitForTaskToken'))
      .map(([name]) => name),
  );
}

/**
 * The runnable copy of callback Tasks: TimeoutSeconds / TimeoutSecondsPath move into Parameters
 * (resolved there against the state input, as Step Functions resolves TimeoutSecondsPath: the
 * library would resolve it against the Parameters' output, and in real time), for the task wrapper
 * to run on the simulated clock.
 */
export function withCallbackTimeouts(definition: StateMachineDefinition): StateMachineDefinition {
  const states = (definition as unknown as { States: Record<string, StateDef> }).States;
  const callbacks = callbackStates(definition);
  const runnable: Record<string, StateDef> = {};
  for (const [name, state] of Object.entries(states)) {
    if (!callbacks.has(name)) {
      runnable[name] = state;
      continue;
    }
    const {
      TimeoutSeconds,
      TimeoutSecondsPath,
      HeartbeatSeconds: _h,
      HeartbeatSecondsPath: _hp,
      ...rest
    } = state;
    const parameters = (state.Parameters ?? {}) as JsonObject;
    runnable[name] = {
      ...rest,
      TimeoutSeconds: NO_REAL_TIMEOUT_SECONDS,
      Parameters: {
        ...parameters,
        ...(typeof TimeoutSecondsPath === 'string'
          ? { [`${CALLBACK_TIMEOUT_KEY}.$`]: TimeoutSecondsPath }
          : // Step Functions' default Task timeout is 99999999 s (ASL: TimeoutSeconds).
            { [CALLBACK_TIMEOUT_KEY]: typeof TimeoutSeconds === 'number' ? TimeoutSeconds : 99_999_999 }),
      },
    };
  }
  return { ...(definition as unknown as JsonObject), States: runnable } as unknown as StateMachineDefinition;
}
