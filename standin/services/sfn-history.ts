import type { StateMachine, StateMachineDefinition } from 'aws-local-stepfunctions';
import type { Clock } from '../clock.js';
import type { JsonObject } from '../protocol.js';
import type { StateDef } from './sfn-rewrite.js';
import type { Execution, HistoryEvent } from './step-functions.js';

/** Step Functions' execution history, recorded from the library's event log. */

type JSONValue = Parameters<StateMachine['run']>[0];
export function stripData(event: HistoryEvent): HistoryEvent {
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
export function causeText(cause: unknown): string | undefined {
  if (cause === undefined || cause === null) return undefined;
  return typeof cause === 'string' ? cause : JSON.stringify(cause);
}

export type LogEvent = Awaited<ReturnType<ReturnType<StateMachine['run']>['eventLogs']['next']>>['value'];

/** Turns the library's event log into Step Functions HistoryEvents. */
export class HistoryRecorder {
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

  /** A service integration's resource as history names it: `invoke.waitForTaskToken` for the callback pattern. */
  private resourceOf(state: string): string {
    return /^arn:aws:states:::lambda:(.+)$/.exec(this.resources.get(state) ?? '')?.[1] ?? 'invoke';
  }

  /** A Task attempt that failed; a callback Task whose timeout ran out is TaskTimedOut. */
  private failed(state: string, details: { error: string; cause?: string }): void {
    if (this.isLambda(state)) {
      this.push('LambdaFunctionFailed', { lambdaFunctionFailedEventDetails: details });
      return;
    }
    const resource = { resourceType: 'lambda', resource: this.resourceOf(state) };
    if (details.error === 'States.Timeout')
      this.push('TaskTimedOut', { taskTimedOutEventDetails: { ...resource, ...details } });
    else this.push('TaskFailed', { taskFailedEventDetails: { ...resource, ...details } });
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
        this.failed(event.state.name, { error: event.Error, cause: causeText(event.Cause) });
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
    this.failed(state, { error, cause });
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
          resource: this.resourceOf(state),
          region: 'us-east-1',
          parameters: JSON.stringify(input ?? null),
        },
      });
      this.push('TaskStarted', {
        taskStartedEventDetails: { resourceType: 'lambda', resource: this.resourceOf(state) },
      });
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
          resource: this.resourceOf(state),
          output: text,
          outputDetails: { truncated: false },
        },
      });
    }
  }
}
