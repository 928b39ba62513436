import { randomBytes } from 'node:crypto';
import type { StateMachine, StateMachineDefinition } from 'aws-local-stepfunctions';
import type { Clock } from '../clock.js';
import { type Faults, faultError } from '../faults.js';
import { type JsonObject, ServiceError } from '../protocol.js';
import type { HistoryRecorder } from './sfn-history.js';
import { CALLBACK_TIMEOUT_KEY, TASK_TOKEN_PLACEHOLDER } from './sfn-rewrite.js';
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

/** One task token: the callback Task attempt it belongs to, and how it ended. */
interface IssuedToken {
  executionArn: string;
  state: string;
  /** open: the Task waits for it; any other status: SendTask* answers TaskTimedOut. */
  status: 'open' | 'succeeded' | 'failed' | 'timed-out' | 'closed';
  result?: { output: JSONValue } | { error: string; cause: string };
  settle?: () => void;
}

const TOKEN_PREFIX = 'AQC';

/**
 * Step Functions' task tokens for the callback pattern (`.waitForTaskToken`): each attempt of a
 * callback Task gets a token (`$$.Task.Token`), and SendTaskSuccess / SendTaskFailure /
 * SendTaskHeartbeat answer as the API model says (botocore stepfunctions 2016-11-23
 * service-2.json): InvalidToken for a malformed token, TaskDoesNotExist for one never issued,
 * TaskTimedOut for one whose task is already closed ("The task token has either expired or the task
 * associated with the token has already been closed"), InvalidOutput for output that is not JSON.
 */
export class TaskTokens {
  private readonly tokens = new Map<string, IssuedToken>();

  issue(executionArn: string, state: string): string {
    const token = `${TOKEN_PREFIX}${randomBytes(96).toString('base64url')}`;
    this.tokens.set(token, { executionArn, state, status: 'open' });
    return token;
  }

  /** The open tokens of an execution (tests look at what a watch waits on). */
  open(executionArn?: string): { token: string; state: string }[] {
    return [...this.tokens.entries()]
      .filter(([, t]) => t.status === 'open' && (!executionArn || t.executionArn === executionArn))
      .map(([token, t]) => ({ token, state: t.state }));
  }

  succeed(token: string, output: string): void {
    const t = this.find(token);
    let parsed: JSONValue;
    try {
      parsed = JSON.parse(output) as JSONValue;
    } catch {
      throw new ServiceError('InvalidOutput', 'Invalid Output: the output is not valid JSON.');
    }
    this.close(t, 'succeeded', { output: parsed });
  }

  fail(token: string, error = '', cause = ''): void {
    this.close(this.find(token), 'failed', { error, cause });
  }

  heartbeat(token: string): void {
    this.find(token);
  }

  /**
   * Waits for the token's callback, at most `ms` of simulated time: its output, or the failure sent
   * with SendTaskFailure, or States.Timeout. The token is closed either way.
   */
  async wait(token: string, ms: number, clock: Clock, signal: AbortSignal): Promise<JSONValue> {
    const t = this.tokens.get(token);
    if (!t) throw new TaskError('States.Runtime', 'unknown task token');
    if (t.status === 'open') {
      const timer = new AbortController();
      const onAbort = () => timer.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      await Promise.race([
        new Promise<void>((resolve) => {
          t.settle = resolve;
        }),
        clock.sleep(Math.max(0, ms), timer.signal),
      ]);
      timer.abort();
      signal.removeEventListener('abort', onAbort);
    }
    if (t.status === 'open') {
      this.close(t, signal.aborted ? 'closed' : 'timed-out');
      if (signal.aborted) throw new TaskError('States.Runtime', 'the execution ended');
      throw new TaskError(
        'States.Timeout',
        'The task did not receive its callback in time (TimeoutSeconds).',
      );
    }
    const result = t.result;
    if (result && 'output' in result) return result.output;
    throw new TaskError(result?.error || 'States.TaskFailed', result?.cause ?? '');
  }

  /** Closes a token whose attempt failed before it could wait. */
  discard(token: string): void {
    const t = this.tokens.get(token);
    if (t?.status === 'open') this.close(t, 'closed');
  }

  /** The execution ended (stopped, timed out, failed): its open tokens close. */
  closeExecution(executionArn: string): void {
    for (const t of this.tokens.values())
      if (t.executionArn === executionArn && t.status === 'open') this.close(t, 'closed');
  }

  private find(token: string): IssuedToken {
    if (!token.startsWith(TOKEN_PREFIX) || token.length > 2048)
      throw new ServiceError('InvalidToken', `Invalid Token: '${token.slice(0, 40)}'`);
    const t = this.tokens.get(token);
    if (!t) throw new ServiceError('TaskDoesNotExist', 'Task Does Not Exist');
    if (t.status !== 'open')
      throw new ServiceError('TaskTimedOut', "Task Timed Out: 'Provided task does not exist anymore'");
    return t;
  }

  private close(t: IssuedToken, status: IssuedToken['status'], result?: IssuedToken['result']): void {
    t.status = status;
    if (result) t.result = result;
    t.settle?.();
  }
}

/** The value with every `$$.Task.Token` placeholder replaced by `token`. */
function withToken(value: unknown, token: string): unknown {
  if (value === TASK_TOKEN_PLACEHOLDER) return token;
  if (Array.isArray(value)) return value.map((v) => withToken(v, token));
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withToken(v, token)]));
  return value;
}

export function wrapHandlers(
  handlers: Record<string, TaskHandler>,
  ctx: {
    clock: Clock;
    faults?: Faults;
    retriers: Map<string, Retrier[]>;
    recorder: HistoryRecorder;
    signal: AbortSignal;
    /** Callback Tasks (`.waitForTaskToken`), their tokens, and the execution they run in. */
    callbacks?: { states: Set<string>; tokens: TaskTokens; executionArn: string };
  },
): Record<string, (input: JSONValue) => Promise<JSONValue>> {
  const { clock, faults } = ctx;
  /**
   * One attempt of a callback Task: a new token, the Lambda invoked with it (its result is not the
   * Task's), then the callback or the timeout, on the simulated clock from the attempt's start.
   */
  const callback = async (name: string, fn: TaskHandler, input: JSONValue): Promise<JSONValue> => {
    const cb = ctx.callbacks;
    if (!cb) return invoke(name, fn, input);
    const { [CALLBACK_TIMEOUT_KEY]: timeout, ...parameters } = (input ?? {}) as JsonObject;
    const token = cb.tokens.issue(cb.executionArn, name);
    const started = clock.now();
    try {
      await invoke(name, fn, withToken(parameters, token) as JSONValue);
    } catch (err) {
      // The attempt failed: its token closes (a retry gets a new one). A callback that reached the
      // token while the invocation still ran does not save the attempt here: the Step Functions
      // documentation does not say which of the two wins, and this is the harsher one for callers
      // (test/workflow/approval.test.ts: the retry must not lose the answer).
      cb.tokens.discard(token);
      throw err;
    }
    const ms = Number(timeout) * 1000 - (clock.now() - started);
    return cb.tokens.wait(token, ms, clock, ctx.signal);
  };
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
            if (ctx.callbacks?.states.has(name)) return await callback(name, fn, input);
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
