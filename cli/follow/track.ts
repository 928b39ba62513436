import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { causeMessage as messageOfCause } from '../../lib/workflow/caught-error.js';
import { loadDeployDefinition } from '../../lib/workflow/definition.js';
import type { HealthProgress } from '../../lib/workflow-state.js';
import { formatDuration } from '../output.js';

/**
 * Turns Step Functions history events into the progress a person follows: each Task as it starts
 * and ends with what it found, Wait states as "waiting Ns", failures and retries as they happen.
 * Pass and Choice states are plumbing and stay silent. Pure: fed events, returns lines.
 */

export type Verb = 'start' | 'done' | 'fail' | 'retry' | 'error' | 'wait';

export interface ProgressLine {
  /** Seconds since the execution started, by the execution's own clock. */
  elapsedSeconds: number;
  verb: Verb;
  state: string;
  text: string;
  /** Further lines under this one (health causes, warnings). */
  detail: string[];
}

export interface StateRecord {
  name: string;
  type: string;
  enteredAt: string;
  exitedAt?: string;
  status: 'running' | 'succeeded' | 'failed';
  /** The last error the state reported (retried or caught). */
  error?: string;
}

export type TerminalStatus = 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT';

export interface Terminal {
  status: TerminalStatus;
  error?: string;
  cause?: string;
  at: string;
}

interface StateInfo {
  type: string;
  /** `$.health` → `health`: the key the Task writes. */
  resultKey?: string;
  secondsPath?: string;
  seconds?: number;
}

export type StateJson = Record<string, unknown>;

export function definitionStates(): Map<string, StateInfo> {
  const states = new Map<string, StateInfo>();
  for (const [name, s] of Object.entries(loadDeployDefinition().States)) {
    const resultPath = typeof s.ResultPath === 'string' ? s.ResultPath : undefined;
    states.set(name, {
      type: String(s.Type),
      resultKey: resultPath?.match(/^\$\.([A-Za-z0-9_]+)$/)?.[1],
      secondsPath: typeof s.SecondsPath === 'string' ? s.SecondsPath : undefined,
      seconds: typeof s.Seconds === 'number' ? s.Seconds : undefined,
    });
  }
  return states;
}

export class ExecutionTracker {
  startedAt?: Date;
  readonly states: StateRecord[] = [];
  /** The newest complete state JSON seen (a state's input or output). */
  state: StateJson = {};
  /** The Succeed or Fail state the execution ended in. */
  endState?: string;
  terminal?: Terminal;
  private current?: StateRecord & { schedules: number };
  private lastCauses = new Map<string, string>();

  constructor(private readonly info: Map<string, StateInfo> = definitionStates()) {}

  /** The Task in progress, for a live line. */
  get running(): StateRecord | undefined {
    return this.current?.status === 'running' ? this.current : undefined;
  }

  elapsed(at: Date | undefined): number {
    if (!at || !this.startedAt) return 0;
    return Math.max(0, (at.getTime() - this.startedAt.getTime()) / 1000);
  }

  handle(event: HistoryEvent): ProgressLine[] {
    const at = event.timestamp ?? this.startedAt ?? new Date(0);
    const line = (verb: Verb, state: string, text: string, detail: string[] = []): ProgressLine[] => [
      { elapsedSeconds: this.elapsed(at), verb, state, text, detail },
    ];
    const type = event.type ?? '';

    if (type === 'ExecutionStarted') {
      this.startedAt = at;
      this.state = parse(event.executionStartedEventDetails?.input) ?? {};
      return [];
    }
    if (type.endsWith('StateEntered')) {
      const name = event.stateEnteredEventDetails?.name ?? '?';
      const input = parse(event.stateEnteredEventDetails?.input);
      if (input) this.state = input;
      const kind = this.info.get(name)?.type ?? type.replace(/StateEntered$/, '');
      if (kind === 'Succeed' || kind === 'Fail') {
        this.endState = name;
        return [];
      }
      if (kind === 'Wait') return line('wait', name, this.waitText(name));
      if (kind !== 'Task') return [];
      this.current = { name, type: kind, enteredAt: at.toISOString(), status: 'running', schedules: 0 };
      this.states.push(this.current);
      return line('start', name, '');
    }
    if (type === 'LambdaFunctionScheduled' || type === 'TaskScheduled') {
      if (!this.current) return [];
      this.current.schedules += 1;
      return this.current.schedules > 1
        ? line('retry', this.current.name, `attempt ${this.current.schedules}`)
        : [];
    }
    const failure =
      event.lambdaFunctionFailedEventDetails ??
      event.taskFailedEventDetails ??
      event.lambdaFunctionTimedOutEventDetails ??
      event.taskTimedOutEventDetails;
    // The watch's wait refusing to wait after a look that ended the watch is how the loop routes its
    // verdict (issue 13), not a failure a person should see.
    if (failure?.error === 'WatchEnded') return [];
    if (failure && this.current) {
      const text = `${failure.error ?? 'Error'}: ${causeMessage(failure.cause)}`;
      this.current.error = text;
      return line('error', this.current.name, text);
    }
    if (type === 'TaskStateExited') {
      const name = event.stateExitedEventDetails?.name ?? '?';
      const output = parse(event.stateExitedEventDetails?.output);
      const record = this.current?.name === name ? this.current : undefined;
      if (record) record.exitedAt = at.toISOString();
      const took = record ? ` (${formatDuration((at.getTime() - Date.parse(record.enteredAt)) / 1000)})` : '';
      if (!output) {
        if (record) record.status = 'failed';
        return line('fail', name, `${record?.error ?? 'failed'}${took}`);
      }
      this.state = output;
      if (record) record.status = 'succeeded';
      const { text, detail } = this.summary(name, output);
      return line('done', name, `${text}${took}`.trim(), detail);
    }
    if (type === 'ExecutionSucceeded') {
      const output = parse(event.executionSucceededEventDetails?.output);
      if (output) this.state = output;
      this.terminal = { status: 'SUCCEEDED', at: at.toISOString() };
    } else if (type === 'ExecutionFailed') {
      const d = event.executionFailedEventDetails;
      this.terminal = { status: 'FAILED', error: d?.error, cause: d?.cause, at: at.toISOString() };
    } else if (type === 'ExecutionAborted') {
      const d = event.executionAbortedEventDetails;
      this.terminal = { status: 'ABORTED', error: d?.error, cause: d?.cause, at: at.toISOString() };
    } else if (type === 'ExecutionTimedOut') {
      const d = event.executionTimedOutEventDetails;
      this.terminal = { status: 'TIMED_OUT', error: d?.error, cause: d?.cause, at: at.toISOString() };
    }
    return [];
  }

  private waitText(name: string): string {
    const info = this.info.get(name);
    const seconds = info?.seconds ?? (info?.secondsPath ? valueAt(this.state, info.secondsPath) : undefined);
    return typeof seconds === 'number' ? `waiting ${formatDuration(seconds)}` : 'waiting';
  }

  private summary(name: string, output: StateJson): { text: string; detail: string[] } {
    const key = this.info.get(name)?.resultKey;
    const value = key ? output[key] : undefined;
    const v = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
    switch (key) {
      case 'resolved': {
        const ignored = v.ignored as { reason?: string } | undefined;
        if (ignored) return { text: `ignored: ${ignored.reason ?? ''}`, detail: [] };
        const r = (v.release ?? {}) as Record<string, unknown>;
        // A state without a release (a malformed or foreign output) says so instead of "undefined".
        if (typeof r.versionLabel !== 'string') return { text: 'no release resolved', detail: [] };
        const where = [r.application, r.environment].filter((p) => typeof p === 'string').join('/') || '?';
        return {
          text: `${r.versionLabel} for ${where}${typeof r.trigger === 'string' ? ` (${r.trigger}${r.existingVersion ? ', existing version' : ''})` : ''}`,
          detail: [],
        };
      }
      case 'lock': {
        const skipped = v.skipped as { reason?: string } | undefined;
        return { text: skipped ? `skipped: ${skipped.reason ?? ''}` : 'environment locked', detail: [] };
      }
      case 'secrets':
        return {
          text: `${list(v.checked).length} secret(s) checked`,
          detail: list(v.warnings).map((w) => `warning: ${w}`),
        };
      case 'bundle':
        return {
          text: `${list(v.files).length} files, ${v.bytes ?? '?'} bytes`,
          detail: list(v.warnings).map((w) => `warning: ${w}`),
        };
      case 'version':
        return { text: `version ${v.label} ${v.status}${v.reused ? ' (reused)' : ''}`, detail: [] };
      case 'deploy':
        return { text: `${v.fromVersion ?? '(unknown)'} -> ${v.toVersion}`, detail: [] };
      case 'health':
      case 'rollbackHealth':
        return this.healthSummary(name, v as unknown as HealthProgress);
      case 'migration':
        return {
          text: `migration check ${v.status}${v.instanceId ? ` on ${v.instanceId}` : ''}`,
          detail: [],
        };
      case 'releasePhase':
        return {
          text: `release phase ${v.status}${v.instanceId ? ` on ${v.instanceId}` : ''}`,
          detail: typeof v.note === 'string' ? [v.note] : [],
        };
      case 'checks':
        return {
          text: `checks ${v.status}: ${list(v.runs).length} sent`,
          detail: list(v.warnings).map((w) => `warning: ${w}`),
        };
      case 'rollback':
        return { text: `rolling back ${v.fromVersion} -> ${v.toVersion}`, detail: [] };
      case 'recorded':
        return { text: 'outcome recorded', detail: [] };
      case 'notified':
        return { text: 'on-call notified', detail: [] };
      default:
        return { text: '', detail: [] };
    }
  }

  private healthSummary(name: string, h: HealthProgress): { text: string; detail: string[] } {
    const colour = [h.color ?? 'no colour yet', h.healthStatus && `(${h.healthStatus})`]
      .filter(Boolean)
      .join(' ');
    const text = `${colour}${h.status ? `, ${h.status}` : ''}, verdict ${h.verdict}`;
    // Causes repeat poll after poll; print them when they change.
    const causes = (h.causes ?? []).slice(0, 5);
    const key = causes.join('\n');
    if (this.lastCauses.get(name) === key) return { text, detail: [] };
    this.lastCauses.set(name, key);
    return { text, detail: causes };
  }
}

/** Lambda puts `{"errorMessage": ...}` JSON in Cause; other tasks a plain message. */
export function causeMessage(cause: string | undefined): string {
  const message = messageOfCause(cause) ?? cause;
  if (!message) return '(no message)';
  const flat = message.replace(/\s+/g, ' ').trim();
  return flat.length > 400 ? `${flat.slice(0, 399)}…` : flat;
}

function parse(text: string | undefined): StateJson | undefined {
  if (!text) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as StateJson)
      : undefined;
  } catch {
    return undefined;
  }
}

/** `$.a.b` on a JSON object: the only path form the definition's SecondsPath uses. */
function valueAt(value: unknown, path: string): unknown {
  let current: unknown = value;
  for (const part of path
    .replace(/^\$\.?/, '')
    .split('.')
    .filter(Boolean)) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

function list(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}
