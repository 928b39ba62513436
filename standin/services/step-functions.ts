import '../../lib/polyfills.js';
import { randomUUID } from 'node:crypto';
import { type RunOptions, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { Clock } from '../clock.js';
import { type Faults, faultError } from '../faults.js';
import { type JsonObject, pageOf, ServiceError, str } from '../protocol.js';

/**
 * Step Functions (JSON 1.0, `AWSStepFunctions.*`) running the real ASL with aws-local-stepfunctions.
 * Each Task state calls a local handler (the real Lambda handler, in process); Wait states and
 * Retry intervals run on the scaled clock. GetExecutionHistory answers with Step Functions' own
 * HistoryEvent shapes, built from the library's event log.
 */

export type TaskHandler = (input: unknown) => Promise<unknown>;
/** Maps each Task state's name to the handler that runs it (functions/registry.ts for ebship). */
export type TaskHandlerResolver = (definition: StateMachineDefinition) => Record<string, TaskHandler>;
type JSONValue = Parameters<StateMachine['run']>[0];

interface Machine {
  arn: string;
  name: string;
  definition: string;
  roleArn: string;
  type: 'STANDARD' | 'EXPRESS';
  createdAt: Date;
  /** Compiled once: the library validates the definition on construction, which is slow. */
  compiled?: { sm: StateMachine; prepared: ReturnType<typeof scaleWaits> };
}

export interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: Date;
  type: string;
  [details: string]: unknown;
}

export interface Execution {
  arn: string;
  name: string;
  stateMachineArn: string;
  input: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  startDate: Date;
  stopDate?: Date;
  output?: string;
  error?: string;
  cause?: string;
  history: HistoryEvent[];
  /** Settles when the execution ends (tests and the rehearsal wait on it). */
  done: Promise<void>;
  abort: () => void;
  redriveCount: number;
  redriveDate?: Date;
  /** The state that was running when the execution ended, with its input (what a redrive resumes). */
  unfinishedState?: { state: string; input: JSONValue };
}

// Step Functions execution names: 1-80 characters, none of whitespace, brackets, wildcards or these.
const INVALID_NAME = /[\s<>{}[\]?*"#%\\^|~`$&,;:/]/;
const hasControlCharacter = (name: string) =>
  [...name].some((c) => c.charCodeAt(0) < 0x20 || (c.charCodeAt(0) >= 0x7f && c.charCodeAt(0) <= 0x9f));

export class StepFunctions {
  readonly machines = new Map<string, Machine>();
  readonly executions = new Map<string, Execution>();
  /** Called when an execution starts (the rehearsal follows its progress). */
  onExecutionStarted?: (e: Execution) => void;
  /** Called when an execution starts (RUNNING) and when it ends (the World sends EventBridge events). */
  onStatusChange?: (e: Execution) => void;

  constructor(
    private readonly clock: Clock,
    private readonly resolveHandlers: TaskHandlerResolver,
    private readonly region = 'us-east-1',
    private readonly account = '123456789012',
    private readonly faults?: Faults,
  ) {}

  createStateMachine(
    name: string,
    definition: string,
    roleArn = `arn:aws:iam::${this.account}:role/ebship-states`,
  ): string {
    const arn = `arn:aws:states:${this.region}:${this.account}:stateMachine:${name}`;
    const existing = this.machines.get(arn);
    if (existing && existing.definition !== definition) {
      throw new ServiceError('StateMachineAlreadyExists', `State Machine Already Exists: '${arn}'`);
    }
    const machine: Machine = {
      arn,
      name,
      definition,
      roleArn,
      type: 'STANDARD',
      createdAt: new Date(this.clock.now()),
    };
    try {
      // Validating takes long enough to show on the scaled clock: do it once, here, like AWS does.
      this.compile(machine);
    } catch (err) {
      throw new ServiceError(
        'InvalidDefinition',
        `Invalid State Machine Definition: '${(err as Error).message}'`,
      );
    }
    this.machines.set(arn, machine);
    return arn;
  }

  handle(operation: string, input: JsonObject): unknown {
    switch (operation) {
      case 'CreateStateMachine': {
        const name = str(input, 'name') ?? '';
        const definition = str(input, 'definition') ?? '';
        try {
          JSON.parse(definition);
        } catch (err) {
          throw new ServiceError(
            'InvalidDefinition',
            `Invalid State Machine Definition: '${(err as Error).message}'`,
          );
        }
        const arn = this.createStateMachine(name, definition, str(input, 'roleArn'));
        return { stateMachineArn: arn, creationDate: this.machine(arn).createdAt };
      }
      case 'DescribeStateMachine': {
        const m = this.machine(str(input, 'stateMachineArn') ?? '');
        return {
          stateMachineArn: m.arn,
          name: m.name,
          status: 'ACTIVE',
          definition: m.definition,
          roleArn: m.roleArn,
          type: m.type,
          creationDate: m.createdAt,
        };
      }
      case 'ListStateMachines': {
        const { page, next } = pageOf(
          [...this.machines.values()],
          str(input, 'nextToken'),
          Number(input.maxResults ?? 100) || 100,
        );
        return {
          stateMachines: page.map((m) => ({
            stateMachineArn: m.arn,
            name: m.name,
            type: m.type,
            creationDate: m.createdAt,
          })),
          nextToken: next,
        };
      }
      case 'StartExecution':
        return this.startExecution(
          str(input, 'stateMachineArn') ?? '',
          str(input, 'input') ?? '{}',
          str(input, 'name'),
        );
      case 'DescribeExecution':
        return this.describeExecution(this.execution(input));
      case 'GetExecutionHistory':
        return this.getExecutionHistory(input);
      case 'ListExecutions': {
        const arn = str(input, 'stateMachineArn') ?? '';
        this.machine(arn);
        const filter = str(input, 'statusFilter');
        const all = [...this.executions.values()]
          .filter((e) => e.stateMachineArn === arn && (!filter || e.status === filter))
          .sort((a, b) => b.startDate.getTime() - a.startDate.getTime());
        const { page, next } = pageOf(all, str(input, 'nextToken'), Number(input.maxResults ?? 100) || 100);
        return {
          executions: page.map((e) => ({
            executionArn: e.arn,
            stateMachineArn: e.stateMachineArn,
            name: e.name,
            status: e.status,
            startDate: e.startDate,
            stopDate: e.stopDate,
          })),
          nextToken: next,
        };
      }
      case 'RedriveExecution':
        return this.redrive(input);
      case 'StopExecution': {
        const e = this.execution(input);
        if (e.status === 'RUNNING') {
          e.abort();
          this.finish(e, 'ABORTED', { error: str(input, 'error'), cause: str(input, 'cause') });
        }
        return { stopDate: e.stopDate };
      }
      default:
        throw new ServiceError('UnknownOperationException', `Unknown operation ${operation}`);
    }
  }

  /** Starts an execution, with StartExecution's idempotency and name rules. */
  startExecution(
    stateMachineArn: string,
    input: string,
    name: string = randomUUID(),
  ): { executionArn: string; startDate: Date } {
    const machine = this.machine(stateMachineArn);
    if (name.length < 1 || name.length > 80 || INVALID_NAME.test(name) || hasControlCharacter(name)) {
      throw new ServiceError('InvalidName', `Invalid Name: '${name}'`);
    }
    let parsed: JSONValue;
    try {
      parsed = JSON.parse(input) as JSONValue;
    } catch {
      throw new ServiceError('InvalidExecutionInput', `Invalid execution input: '${input}'`);
    }
    const arn = `arn:aws:states:${this.region}:${this.account}:execution:${machine.name}:${name}`;
    const existing = this.executions.get(arn);
    if (existing) {
      // Standard workflows: same name and input while running returns the original execution.
      if (existing.status === 'RUNNING' && existing.input === input) {
        return { executionArn: existing.arn, startDate: existing.startDate };
      }
      throw new ServiceError('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
    }
    const execution = this.run(machine, arn, name, input, parsed);
    return { executionArn: execution.arn, startDate: execution.startDate };
  }

  private run(machine: Machine, arn: string, name: string, input: string, parsed: JSONValue): Execution {
    const execution: Execution = {
      arn,
      name,
      stateMachineArn: machine.arn,
      input,
      status: 'RUNNING',
      startDate: new Date(this.clock.now()),
      history: [],
      done: Promise.resolve(),
      abort: () => undefined,
      redriveCount: 0,
    };
    this.executions.set(arn, execution);
    this.launch(machine, execution, parsed);
    this.onExecutionStarted?.(execution);
    return execution;
  }

  /**
   * Runs (or, redriving, resumes) an execution: from the start, or from `resume.state` with the
   * input that state had. History, status and the EventBridge status change follow.
   */
  private launch(
    machine: Machine,
    execution: Execution,
    parsed: JSONValue,
    resume?: { state: string; input: JSONValue },
  ): void {
    const definition = JSON.parse(machine.definition) as StateMachineDefinition;
    const compiled = this.compile(machine);
    const { sm, prepared } = resume ? this.compileFrom(machine, resume.state) : compiled;
    const { originalTypes, waitHandlers } = prepared;
    const recorder = new HistoryRecorder(execution, definition, originalTypes, this.clock, machine.roleArn);
    const stopped = new AbortController();
    const handlers = {
      ...wrapHandlers(this.resolveHandlers(definition), {
        clock: this.clock,
        faults: this.faults,
        retriers: retriersOf(definition),
        recorder,
        signal: stopped.signal,
      }),
      ...waitHandlers,
    };
    const context = {
      Execution: {
        Id: execution.arn,
        Name: execution.name,
        StartTime: execution.startDate.toISOString(),
        Input: parsed,
        RoleArn: machine.roleArn,
        RedriveCount: execution.redriveCount,
      },
      StateMachine: { Id: machine.arn, Name: machine.name },
    };
    const options: RunOptions = {
      overrides: { taskResourceLocalHandlers: handlers },
      context,
      noThrowOnAbort: true,
    };
    const { result, eventLogs, abort } = sm.run(resume ? resume.input : parsed, options);
    const { promise: done, resolve } = Promise.withResolvers<void>();
    execution.done = done;
    execution.abort = () => {
      stopped.abort();
      abort();
    };
    // The state machine's TimeoutSeconds runs on the simulated clock (the library's would be real time).
    const timeoutSeconds = (definition as { TimeoutSeconds?: number }).TimeoutSeconds;
    const timer = new AbortController();
    if (typeof timeoutSeconds === 'number') {
      const budget = timeoutSeconds * 1000 - (this.clock.now() - execution.startDate.getTime());
      void this.clock.sleep(Math.max(0, budget), timer.signal).then(() => {
        if (timer.signal.aborted || execution.status !== 'RUNNING') return;
        abort();
        recorder.record({ type: 'ExecutionTimeout', timestamp: this.clock.now() } as LogEvent);
        this.finish(execution, 'TIMED_OUT', { error: 'States.Timeout' });
      });
    }
    void (async () => {
      try {
        for await (const event of eventLogs) {
          if (resume && event?.type === 'ExecutionStarted') continue;
          recorder.record(event);
          if (event.type === 'ExecutionSucceeded') {
            this.finish(execution, 'SUCCEEDED', { output: JSON.stringify(event.output) });
          } else if (event.type === 'ExecutionFailed') {
            this.finish(execution, 'FAILED', { error: event.Error, cause: causeText(event.Cause) });
          } else if (event.type === 'ExecutionTimeout') {
            this.finish(execution, 'TIMED_OUT', {});
          }
        }
        await result.catch(() => undefined);
      } finally {
        timer.abort();
        stopped.abort();
        if (execution.status === 'RUNNING') this.finish(execution, 'ABORTED', {});
        resolve();
      }
    })();
    this.onStatusChange?.(execution);
  }

  /**
   * RedriveExecution: a FAILED, TIMED_OUT or ABORTED execution continues from the state that did not
   * complete, with the input it had; the same ARN, its history kept (Step Functions API reference,
   * RedriveExecution; developer guide, "Redriving executions").
   */
  private redrive(input: JsonObject): unknown {
    const e = this.execution(input);
    if (e.status === 'RUNNING' || e.status === 'SUCCEEDED') {
      throw new ServiceError(
        'ExecutionNotRedrivable',
        `Execution is ${e.status} and cannot be redriven: '${e.arn}'`,
      );
    }
    const machine = this.machine(e.stateMachineArn);
    const unfinished = e.unfinishedState;
    const parsed = JSON.parse(e.input) as JSONValue;
    const now = new Date(this.clock.now());
    e.status = 'RUNNING';
    e.stopDate = undefined;
    e.error = undefined;
    e.cause = undefined;
    e.output = undefined;
    e.redriveCount += 1;
    e.redriveDate = now;
    e.history.push({
      id: e.history.length + 1,
      previousEventId: e.history.length,
      timestamp: now,
      type: 'ExecutionRedriven',
      executionRedrivenEventDetails: { redriveCount: e.redriveCount },
    });
    this.launch(machine, e, parsed, unfinished);
    return { redriveDate: now };
  }

  /** The machine, started at `state` instead of StartAt (for a redrive). */
  private compileFrom(machine: Machine, state: string): NonNullable<Machine['compiled']> {
    const original = JSON.parse(machine.definition) as StateMachineDefinition;
    const prepared = scaleWaits(withoutRetries({ ...original, StartAt: state }), this.clock);
    return { prepared, sm: new StateMachine(prepared.runnable, { validationOptions: { noValidate: true } }) };
  }

  private compile(machine: Machine): NonNullable<Machine['compiled']> {
    machine.compiled ??= (() => {
      const original = JSON.parse(machine.definition) as StateMachineDefinition;
      // Validates the definition as written (throws for an invalid one)...
      new StateMachine(original, { validationOptions: { checkArn: false } });
      // ...then runs a copy whose waits and retries (done by the task wrappers) are on the scaled clock.
      const prepared = scaleWaits(withoutRetries(original), this.clock);
      return {
        prepared,
        sm: new StateMachine(prepared.runnable, { validationOptions: { noValidate: true } }),
      };
    })();
    return machine.compiled;
  }

  private finish(
    e: Execution,
    status: Execution['status'],
    detail: { output?: string; error?: string; cause?: string },
  ): void {
    if (e.status !== 'RUNNING') return;
    e.status = status;
    e.stopDate = new Date(this.clock.now());
    Object.assign(e, detail);
    queueMicrotask(() => this.onStatusChange?.(e));
    if (status === 'ABORTED') {
      e.history.push({
        id: e.history.length + 1,
        previousEventId: e.history.length,
        timestamp: e.stopDate,
        type: 'ExecutionAborted',
        executionAbortedEventDetails: { error: detail.error, cause: detail.cause },
      });
    }
  }

  private machine(arn: string): Machine {
    const m = this.machines.get(arn);
    if (!m) throw new ServiceError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    return m;
  }

  private execution(input: JsonObject): Execution {
    const arn = str(input, 'executionArn') ?? '';
    const e = this.executions.get(arn);
    if (!e) throw new ServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return e;
  }

  private describeExecution(e: Execution): JsonObject {
    return {
      executionArn: e.arn,
      stateMachineArn: e.stateMachineArn,
      name: e.name,
      status: e.status,
      startDate: e.startDate,
      stopDate: e.stopDate,
      input: e.input,
      inputDetails: { included: true },
      output: e.output,
      outputDetails: e.output === undefined ? undefined : { included: true },
      error: e.error,
      cause: e.cause,
      redriveCount: e.redriveCount,
      redriveDate: e.redriveDate,
      redriveStatus: e.status === 'RUNNING' || e.status === 'SUCCEEDED' ? 'NOT_REDRIVABLE' : 'REDRIVABLE',
      ...(e.status === 'RUNNING' || e.status === 'SUCCEEDED'
        ? { redriveStatusReason: `Execution is ${e.status} and cannot be redriven.` }
        : {}),
    };
  }

  private getExecutionHistory(input: JsonObject): unknown {
    const e = this.execution(input);
    const events = input.reverseOrder === true ? [...e.history].reverse() : e.history;
    const max = Number(input.maxResults ?? 1000) || 1000;
    const { page, next } = pageOf(events, str(input, 'nextToken'), Math.min(max, 1000));
    const withData = input.includeExecutionData !== false;
    return { events: withData ? page : page.map(stripData), nextToken: next };
  }
}

function stripData(event: HistoryEvent): HistoryEvent {
  const copy: HistoryEvent = { ...event };
  for (const [k, v] of Object.entries(copy)) {
    if (k.endsWith('EventDetails') && typeof v === 'object' && v !== null) {
      const { input: _i, output: _o, ...rest } = v as JsonObject;
      copy[k] = rest;
    }
  }
  return copy;
}

/** A Lambda's error reaches Step Functions as `Cause` text; keep whatever the handler said. */
function causeText(cause: unknown): string | undefined {
  if (cause === undefined || cause === null) return undefined;
  return typeof cause === 'string' ? cause : JSON.stringify(cause);
}

/** An error as Step Functions reports it: `name` is the Error, `message` the Cause. */
class TaskError extends Error {
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

function retriersOf(definition: StateMachineDefinition): Map<string, Retrier[]> {
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

function wrapHandlers(
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

type StateDef = JsonObject & { Type: string };

/**
 * The library sleeps Wait states in real time. Each Wait state becomes a Task of the same name
 * whose local handler waits the same simulated time on the scaled clock (Seconds, SecondsPath,
 * Timestamp, TimestampPath); the history still reports Wait events.
 */
function scaleWaits(
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
function withoutRetries(definition: StateMachineDefinition): StateMachineDefinition {
  const states = (definition as unknown as { States: Record<string, StateDef> }).States;
  const runnable: Record<string, StateDef> = {};
  for (const [name, state] of Object.entries(states)) {
    const { Retry: _retry, ...rest } = state;
    runnable[name] = state.Type === 'Task' ? (rest as StateDef) : state;
  }
  const { TimeoutSeconds: _timeout, ...top } = definition as unknown as JsonObject;
  return { ...top, States: runnable } as unknown as StateMachineDefinition;
}

type LogEvent = Awaited<ReturnType<ReturnType<StateMachine['run']>['eventLogs']['next']>>['value'];

/** Turns the library's event log into Step Functions HistoryEvents. */
class HistoryRecorder {
  private readonly resources = new Map<string, string>();

  constructor(
    private readonly execution: Execution,
    definition: StateMachineDefinition,
    private readonly originalTypes: Map<string, string>,
    private readonly clock: Clock,
    private readonly roleArn: string,
  ) {
    const states = (definition as unknown as { States: Record<string, StateDef> }).States;
    for (const [name, s] of Object.entries(states))
      if (typeof s.Resource === 'string') this.resources.set(name, s.Resource);
  }

  private push(type: string, details: JsonObject = {}): void {
    const h = this.execution.history;
    h.push({
      id: h.length + 1,
      previousEventId: h.length,
      timestamp: new Date(this.clock.now()),
      type,
      ...details,
    });
  }

  private isLambda(state: string): boolean {
    return (this.resources.get(state) ?? '').startsWith('arn:aws:lambda:');
  }

  record(event: LogEvent): void {
    if (!event || typeof event !== 'object') return;
    const json = (v: unknown) => JSON.stringify(v ?? null);
    switch (event.type) {
      case 'ExecutionStarted':
        this.push('ExecutionStarted', {
          executionStartedEventDetails: {
            input: json(event.input),
            inputDetails: { truncated: false },
            roleArn: this.roleArn,
          },
        });
        return;
      case 'ExecutionSucceeded':
        this.push('ExecutionSucceeded', {
          executionSucceededEventDetails: { output: json(event.output), outputDetails: { truncated: false } },
        });
        return;
      case 'ExecutionFailed':
        this.push('ExecutionFailed', {
          executionFailedEventDetails: { error: event.Error, cause: causeText(event.Cause) },
        });
        return;
      case 'ExecutionTimeout':
        this.push('ExecutionTimedOut', { executionTimedOutEventDetails: {} });
        return;
      case 'StateEntered': {
        this.execution.unfinishedState = { state: event.state.name, input: event.state.input as JSONValue };
        const type = this.originalTypes.get(event.state.name) ?? event.state.type;
        this.push(`${type}StateEntered`, {
          stateEnteredEventDetails: {
            name: event.state.name,
            input: json(event.state.input),
            inputDetails: { truncated: false },
          },
        });
        if (type === 'Task') this.scheduled(event.state.name, event.state.input);
        return;
      }
      case 'StateExited': {
        if (this.execution.unfinishedState?.state === event.state.name)
          this.execution.unfinishedState = undefined;
        const type = this.originalTypes.get(event.state.name) ?? event.state.type;
        if (type === 'Task') this.succeeded(event.state.name, event.state.output);
        // Fail and Succeed states end the execution without an exit event of their own... except Succeed.
        if (type === 'Fail') return;
        this.push(`${type}StateExited`, {
          stateExitedEventDetails: {
            name: event.state.name,
            output: json(event.state.output),
            outputDetails: { truncated: false },
          },
        });
        return;
      }
      case 'StateFailed': {
        const type = this.originalTypes.get(event.state.name) ?? event.state.type;
        if (type !== 'Task') return;
        const details = { error: event.Error, cause: causeText(event.Cause) };
        if (this.isLambda(event.state.name))
          this.push('LambdaFunctionFailed', { lambdaFunctionFailedEventDetails: details });
        else
          this.push('TaskFailed', {
            taskFailedEventDetails: { resourceType: 'lambda', resource: 'invoke', ...details },
          });
        return;
      }
      case 'StateRetried':
        // A retry schedules the function again; the state is not re-entered.
        this.scheduled(event.state.name, event.state.input);
        return;
      case 'StateCaught': {
        const type = this.originalTypes.get(event.state.name) ?? event.state.type;
        this.push(`${type}StateExited`, { stateExitedEventDetails: { name: event.state.name } });
        return;
      }
      default:
        return;
    }
  }

  /** A failed attempt that the state's Retry will run again (the wrapper retries). */
  taskFailed(state: string, error: string, cause: string): void {
    const details = { error, cause };
    if (this.isLambda(state))
      this.push('LambdaFunctionFailed', { lambdaFunctionFailedEventDetails: details });
    else
      this.push('TaskFailed', {
        taskFailedEventDetails: { resourceType: 'lambda', resource: 'invoke', ...details },
      });
  }

  /** The retry: the function is scheduled again (the state is not re-entered). */
  retried(state: string, input: unknown): void {
    this.scheduled(state, input);
  }

  private scheduled(state: string, input: unknown): void {
    const resource = this.resources.get(state) ?? '';
    if (this.isLambda(state)) {
      this.push('LambdaFunctionScheduled', {
        lambdaFunctionScheduledEventDetails: {
          resource,
          input: JSON.stringify(input ?? null),
          inputDetails: { truncated: false },
        },
      });
      this.push('LambdaFunctionStarted');
    } else {
      this.push('TaskScheduled', {
        taskScheduledEventDetails: {
          resourceType: 'lambda',
          resource: 'invoke',
          region: 'us-east-1',
          parameters: JSON.stringify(input ?? null),
        },
      });
      this.push('TaskStarted', { taskStartedEventDetails: { resourceType: 'lambda', resource: 'invoke' } });
    }
  }

  private succeeded(state: string, output: unknown): void {
    const text = JSON.stringify(output ?? null);
    if (this.isLambda(state)) {
      this.push('LambdaFunctionSucceeded', {
        lambdaFunctionSucceededEventDetails: { output: text, outputDetails: { truncated: false } },
      });
    } else {
      this.push('TaskSucceeded', {
        taskSucceededEventDetails: {
          resourceType: 'lambda',
          resource: 'invoke',
          output: text,
          outputDetails: { truncated: false },
        },
      });
    }
  }
}
