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
