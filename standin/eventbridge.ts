import { randomUUID } from 'node:crypto';
import type { Clock } from './clock.js';
import { type EventPattern, matchesPattern } from './event-pattern.js';

/**
 * The default event bus: services put events on it (ECR pushes, EB status and health changes, Step
 * Functions execution status changes) and every rule whose pattern matches gets them, as
 * EventBridge delivers them. Every event is kept in `events` for tests; `dropIf` loses some (events
 * are best effort on AWS).
 */

export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

export interface InputTransformer {
  InputPathsMap?: Record<string, string>;
  InputTemplate: string;
}

export interface EventRule {
  name: string;
  pattern: EventPattern;
  /** A state machine ARN (starts an execution with the event as input), an SNS topic or a Lambda function ARN. */
  targetArn: string;
  inputTransformer?: InputTransformer;
}

export interface Delivery {
  rule: string;
  targetArn: string;
  event: BusEvent;
  /** What the target was given (the event, or the transformed input). */
  input: string;
  /** The execution a state machine target started. */
  executionArn?: string;
}

export interface BusTargets {
  startExecution(stateMachineArn: string, input: string): string;
  publish(topicArn: string, message: string): void;
  /** EventBridge invokes a Lambda target asynchronously, with the event (or transformed input). */
  invoke(functionArn: string, input: string): void;
}

export class EventBus {
  readonly rules: EventRule[] = [];
  /** Every event put on the bus, dropped or not, in order. */
  readonly events: BusEvent[] = [];
  readonly dropped: BusEvent[] = [];
  readonly deliveries: Delivery[] = [];
  /** Loses the events it returns true for (EventBridge delivery is best effort). */
  dropIf?: (event: BusEvent) => boolean;

  constructor(
    private readonly clock: Clock,
    private readonly region: string,
    private readonly account: string,
    private readonly targets: () => BusTargets,
  ) {}

  /** Puts an event on the bus and delivers it to every matching rule; returns the deliveries. */
  put(
    source: string,
    detailType: string,
    detail: Record<string, unknown>,
    resources: string[] = [],
    at = this.clock.now(),
  ): Delivery[] {
    const event: BusEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': detailType,
      source,
      account: this.account,
      time: new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: this.region,
      resources,
      detail,
    };
    this.events.push(event);
    if (this.dropIf?.(event)) {
      this.dropped.push(event);
      return [];
    }
    const out: Delivery[] = [];
    for (const rule of this.rules) {
      if (!matchesPattern(event, rule.pattern)) continue;
      const input = rule.inputTransformer ? transform(event, rule.inputTransformer) : JSON.stringify(event);
      const delivery: Delivery = { rule: rule.name, targetArn: rule.targetArn, event, input };
      if (rule.targetArn.startsWith('arn:aws:states:')) {
        delivery.executionArn = this.targets().startExecution(rule.targetArn, input);
      } else if (rule.targetArn.startsWith('arn:aws:sns:')) {
        this.targets().publish(rule.targetArn, input);
      } else if (rule.targetArn.startsWith('arn:aws:lambda:')) {
        this.targets().invoke(rule.targetArn, input);
      }
      this.deliveries.push(delivery);
      out.push(delivery);
    }
    return out;
  }
}

/**
 * EventBridge's input transformer: each `<name>` of the template replaced by the value its
 * InputPathsMap path selects (EventBridge user guide, "Amazon EventBridge input transformation").
 * Strings go in as they are inside a quoted template, as JSON otherwise.
 */
export function transform(event: BusEvent, t: InputTransformer): string {
  const values: Record<string, unknown> = {};
  for (const [name, path] of Object.entries(t.InputPathsMap ?? {})) values[name] = select(event, path);
  const quoted = t.InputTemplate.trim().startsWith('"');
  return t.InputTemplate.replace(/<([A-Za-z0-9_.-]+)>/g, (whole, name: string) => {
    if (name === 'aws.events.event.json') return JSON.stringify(event);
    if (!(name in values)) return whole;
    const v = values[name];
    if (typeof v === 'string') return quoted ? v : JSON.stringify(v);
    return v === undefined ? 'null' : JSON.stringify(v);
  });
}

function select(node: unknown, path: string): unknown {
  let cur = node;
  for (const part of path
    .replace(/^\$\.?/, '')
    .split('.')
    .filter(Boolean)) {
    cur = typeof cur === 'object' && cur !== null ? (cur as Record<string, unknown>)[part] : undefined;
  }
  return cur;
}
