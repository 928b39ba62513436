import type { Clock } from '../clock.js';
import { type JsonObject, pageOf, ServiceError, str, strList } from '../protocol.js';

/**
 * CloudWatch metric alarms, as the stand-in's AWS holds them: their state, reason and when it last
 * changed. The SDK (@aws-sdk/client-cloudwatch 3.x) speaks AWS JSON 1.0 to CloudWatch, target
 * prefix GraniteServiceVersion20100801, query-compatible errors (botocore's cloudwatch
 * service-2.json: "awsQueryCompatible", protocols smithy-rpc-v2-cbor, json, query); the server
 * routes it here. A scenario or the control API moves alarms with SetAlarmState, a real API.
 */

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
const STATES = new Set<string>(['OK', 'ALARM', 'INSUFFICIENT_DATA']);

export interface Alarm {
  name: string;
  arn: string;
  state: AlarmState;
  reason: string;
  /** StateUpdatedTimestamp and StateTransitionedTimestamp: when the state value last changed. */
  changedAt: Date;
}

export class CloudWatch {
  readonly alarms = new Map<string, Alarm>();
  /** Every DescribeAlarms call, with the names it asked for (tests count them). */
  readonly describeCalls: string[][] = [];

  constructor(
    private readonly clock: Clock,
    private readonly region = 'us-east-1',
    private readonly account = '123456789012',
  ) {}

  /** Creates (or keeps) a metric alarm, OK since now unless told otherwise. */
  putAlarm(
    name: string,
    state: AlarmState = 'OK',
    reason = 'Threshold Crossed: no datapoints were breaching.',
  ): Alarm {
    const existing = this.alarms.get(name);
    if (existing) return existing;
    const alarm: Alarm = {
      name,
      arn: `arn:aws:cloudwatch:${this.region}:${this.account}:alarm:${name}`,
      state,
      reason,
      changedAt: new Date(this.clock.now()),
    };
    this.alarms.set(name, alarm);
    return alarm;
  }

  /** SetAlarmState: the state and reason change at `at` (the timestamp only when the value changes). */
  setState(name: string, state: AlarmState, reason: string, at = this.clock.now()): void {
    const alarm = this.alarms.get(name);
    // SetAlarmState API reference: ResourceNotFound, "The named resource does not exist."
    if (!alarm) throw new ServiceError('ResourceNotFound', `Alarm ${name} does not exist.`, 404);
    if (alarm.state !== state) alarm.changedAt = new Date(at);
    alarm.state = state;
    alarm.reason = reason;
  }

  /**
   * Alarm changes a scenario schedules `afterUpdateSeconds` after an environment's first update
   * started (`updateStartedAt`), applied when a call observes the alarms, as EB's timeline is.
   */
  readonly scheduled: { name: string; state: AlarmState; reason: string; afterUpdateSeconds: number }[] = [];
  updateStartedAt: () => number | undefined = () => undefined;

  private settle(): void {
    const started = this.updateStartedAt();
    if (started === undefined) return;
    const now = this.clock.now();
    for (const change of [...this.scheduled]) {
      const at = started + change.afterUpdateSeconds * 1000;
      if (at > now) continue;
      this.scheduled.splice(this.scheduled.indexOf(change), 1);
      this.setState(change.name, change.state, change.reason, at);
    }
  }

  handle(op: string, input: JsonObject): unknown {
    this.settle();
    switch (op) {
      case 'DescribeAlarms':
        return this.describe(input);
      case 'SetAlarmState': {
        const name = str(input, 'AlarmName') ?? '';
        const state = str(input, 'StateValue') ?? '';
        const reason = str(input, 'StateReason');
        if (!STATES.has(state) || reason === undefined) {
          throw new ServiceError(
            'ValidationError',
            'StateValue must be OK, ALARM or INSUFFICIENT_DATA and StateReason is required',
          );
        }
        this.setState(name, state as AlarmState, reason);
        return {};
      }
      default:
        throw new ServiceError('InvalidAction', `The stand-in's CloudWatch does not serve ${op}`);
    }
  }

  private describe(input: JsonObject): unknown {
    const names = strList(input, 'AlarmNames');
    // API reference, DescribeAlarms: AlarmNames has at most 100 members; MaxRecords is 1-100.
    if (names.length > 100) {
      throw new ServiceError(
        'ValidationError',
        "1 validation error detected: Value at 'alarmNames' failed to satisfy constraint: Member must have length less than or equal to 100",
      );
    }
    const max = typeof input.MaxRecords === 'number' ? input.MaxRecords : 50;
    if (max < 1 || max > 100)
      throw new ServiceError('ValidationError', 'MaxRecords must be between 1 and 100');
    this.describeCalls.push(names);
    const types = strList(input, 'AlarmTypes');
    // Only metric alarms unless AlarmTypes asks otherwise (API reference); the stand-in has no composites.
    const metric = types.length === 0 || types.includes('MetricAlarm');
    const matching = metric
      ? [...this.alarms.values()].filter((a) => names.length === 0 || names.includes(a.name))
      : [];
    const { page, next } = pageOf(
      matching.sort((a, b) => a.name.localeCompare(b.name)),
      str(input, 'NextToken'),
      max,
    );
    return {
      MetricAlarms: page.map((a) => ({
        AlarmName: a.name,
        AlarmArn: a.arn,
        StateValue: a.state,
        StateReason: a.reason,
        StateUpdatedTimestamp: a.changedAt,
        StateTransitionedTimestamp: a.changedAt,
        Namespace: 'AWS/ApplicationELB',
        MetricName: 'HTTPCode_Target_5XX_Count',
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 5,
        EvaluationPeriods: 1,
        Period: 60,
        Statistic: 'Sum',
        ActionsEnabled: true,
      })),
      ...(next ? { NextToken: next } : {}),
    };
  }
}
