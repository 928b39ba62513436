import type { StateMachine, StateMachineDefinition } from 'aws-local-stepfunctions';
import type { Clock } from '../clock.js';
import { type Faults, faultError } from '../faults.js';
import type { JsonObject } from '../protocol.js';
import type { HistoryRecorder } from './sfn-history.js';
import type { TaskHandler } from './step-functions.js';

/**
 * Step Functions' Lambda tasks: each invocation of a local handler as Lambda would run it (faults,
 * Lambda's error shape, simulated time held while it computes), and the state's Retry with its
 * waits on the simulated clock.
 */

type JSONValue = Parameters<StateMachine['run']>[0];
type StateDef = JsonObject & { Type: string };

/** An error as Step Functions reports it: `name` is the Error, `message` the Cause. */
export class TaskError extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

/**
 * A Lambda function's error as Step Functions sees it: Error is the errorType, Cause is the JSON the
 * Lambda runtime returns, {"errorType","errorMessage","trace"} (Step Functions developer guide,
 * "Handling errors": Lambda.Unknown and the function's own error types).
 */
function lambdaFailure(err: unknown): TaskError {
  const e = err instanceof Error ? err : new Error(String(err));
  const errorType = e.name || 'Error';
  const cause = JSON.stringify({
    errorType,
    errorMessage: e.message,
    trace: (e.stack ?? `${errorType}: ${e.message}`).split('\n'),
  });
  return new TaskError(errorType, cause);
}

/**
 * Simulated time one Lambda invocation takes, whatever the host's CPU: simulated time stands still
 * while a handler runs, then moves on by this much. Step durations then describe the simulated
 * deployment, the same on a loaded machine as on an idle one.
 */
export const LAMBDA_INVOCATION_MS = 1000;

interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: 'FULL' | 'NONE';
}

export function retriersOf(definition: StateMachineDefinition): Map<string, Retrier[]> {
  const states = (definition as unknown as { States: Record<string, StateDef> }).States;
  return new Map(
    Object.entries(states).flatMap(([name, st]) =>
      Array.isArray(st.Retry) ? [[name, st.Retry as unknown as Retrier[]] as const] : [],
    ),
  );
}

/**
 * How long Step Functions waits before retry number `attempt` (0-based) of a retrier (developer
 * guide, "Retrying after an error"): IntervalSeconds x BackoffRate^attempt, at most MaxDelaySeconds,
 * and with JitterStrategy FULL a random time up to that. Undefined: not retried.
 */
export function retryDelaySeconds(
  retriers: Retrier[],
  errorName: string,
  attempts: number[],
  random: () => number = Math.random,
): { retrier: number; seconds: number } | undefined {
  const index = retriers.findIndex((r) =>
    r.ErrorEquals.some(
      (e) =>
        e === errorName ||
        e === 'States.ALL' ||
        (e === 'States.TaskFailed' && errorName !== 'States.Timeout'),
    ),
  );
  const r = retriers[index];
  if (!r) return undefined;
  const done = attempts[index] ?? 0;
  if (done >= (r.MaxAttempts ?? 3)) return undefined;
  const backedOff = (r.IntervalSeconds ?? 1) * (r.BackoffRate ?? 2) ** done;
  const capped = r.MaxDelaySeconds === undefined ? backedOff : Math.min(backedOff, r.MaxDelaySeconds);
  return { retrier: index, seconds: r.JitterStrategy === 'FULL' ? random() * capped : capped };
}

export function wrapHandlers(
  handlers: Record<string, TaskHandler>,
  ctx: {
    clock: Clock;
    faults?: Faults;
    retriers: Map<string, Retrier[]>;
    recorder: HistoryRecorder;
    signal: AbortSignal;
  },
): Record<string, (input: JSONValue) => Promise<JSONValue>> {
  const { clock, faults } = ctx;
  /** One invocation: faults, the handler (simulated time held meanwhile), Lambda's error shape. */
  const invoke = async (name: string, fn: TaskHandler, input: JSONValue): Promise<JSONValue> => {
    const fault = faults?.onCall('lambda', name);
    if (fault && (fault.fault === 'error-before' || fault.fault === 'throttle')) {
      const e = faultError('lambda', fault);
      throw new TaskError(e.code, e.message);
    }
    let out: unknown;
    const release = clock.hold?.();
    try {
      out = await fn(input);
    } catch (err) {
      throw lambdaFailure(err);
    } finally {
      clock.jump?.(LAMBDA_INVOCATION_MS);
      // Time stays still until what follows the invocation has run to its next wait.
      if (release) setImmediate(release);
    }
    if (fault?.fault === 'error-after' || fault?.fault === 'reply-lost') {
      // The handler ran and returned; Lambda (or the invoke) failed after it: the result is lost.
      const e = faultError('lambda', { ...fault, fault: 'error-after' });
      throw new TaskError(e.code, e.message);
    }
    // Lambda returns JSON: undefined becomes null, dates become strings.
    return JSON.parse(JSON.stringify(out ?? null)) as JSONValue;
  };
  return Object.fromEntries(
    Object.entries(handlers).map(([name, fn]) => [
      name,
      async (input: JSONValue) => {
        // The state's Retry runs here, its waits on the simulated clock.
        const retriers = ctx.retriers.get(name) ?? [];
        const attempts = retriers.map(() => 0);
        for (;;) {
          try {
            return await invoke(name, fn, input);
          } catch (err) {
            const e = err instanceof Error ? err : new Error(String(err));
            const delay = ctx.signal.aborted ? undefined : retryDelaySeconds(retriers, e.name, attempts);
            if (!delay) throw err;
            attempts[delay.retrier] = (attempts[delay.retrier] ?? 0) + 1;
            ctx.recorder.taskFailed(name, e.name, e.message);
            await clock.sleep(delay.seconds * 1000, ctx.signal);
            if (ctx.signal.aborted) throw err;
            ctx.recorder.retried(name, input);
          }
        }
      },
    ]),
  );
}
