import '../../lib/polyfills.js';
import { randomUUID } from 'node:crypto';
import { type RunOptions, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { Clock } from '../clock.js';
import type { Faults } from '../faults.js';
import { type JsonObject, pageOf, ServiceError, str } from '../protocol.js';
import { causeText, HistoryRecorder, type LogEvent, stripData } from './sfn-history.js';
import {
  callbackStates,
  scaleWaits,
  TASK_TOKEN_PLACEHOLDER,
  withCallbackTimeouts,
  withoutRetries,
} from './sfn-rewrite.js';
import { retriersOf, TaskTokens, wrapHandlers } from './sfn-tasks.js';

export { LAMBDA_INVOCATION_MS, retryDelaySeconds } from './sfn-tasks.js';

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
  /** Task tokens of callback Tasks (`.waitForTaskToken`), for SendTaskSuccess and SendTaskFailure. */
  readonly tokens = new TaskTokens();
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
      // The callback pattern (`.waitForTaskToken`): the task's output, or its error (sfn-tasks.ts).
      case 'SendTaskSuccess':
        this.tokens.succeed(str(input, 'taskToken') ?? '', str(input, 'output') ?? '');
        return {};
      case 'SendTaskFailure':
        this.tokens.fail(str(input, 'taskToken') ?? '', str(input, 'error'), str(input, 'cause'));
        return {};
      case 'SendTaskHeartbeat':
        this.tokens.heartbeat(str(input, 'taskToken') ?? '');
        return {};
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
        callbacks: { states: callbackStates(definition), tokens: this.tokens, executionArn: execution.arn },
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
      // Each attempt of a callback Task gets its own token in place of this (sfn-tasks.ts).
      Task: { Token: TASK_TOKEN_PLACEHOLDER },
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
    const prepared = scaleWaits(
      withCallbackTimeouts(withoutRetries({ ...original, StartAt: state })),
      this.clock,
    );
    return { prepared, sm: new StateMachine(prepared.runnable, { validationOptions: { noValidate: true } }) };
  }

  private compile(machine: Machine): NonNullable<Machine['compiled']> {
    machine.compiled ??= (() => {
      const original = JSON.parse(machine.definition) as StateMachineDefinition;
      // Validates the definition as written (throws for an invalid one)...
      new StateMachine(original, { validationOptions: { checkArn: false } });
      // ...then runs a copy whose waits and retries (done by the task wrappers) are on the scaled clock.
      const prepared = scaleWaits(withCallbackTimeouts(withoutRetries(original)), this.clock);
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
    // A task token outlives no execution: a late SendTaskSuccess is told the task is closed.
    this.tokens.closeExecution(e.arn);
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
