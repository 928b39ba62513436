import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { Clock } from './clock.js';
import { EVENTS_FILE } from './ecr-rule.js';
import type { World } from './world.js';

/**
 * EventBridge scheduled rules on the stand-in's simulated clock: every rule of infra/events.yml
 * with a `ScheduleExpression` invokes its Lambda target with the "Scheduled Event" EventBridge
 * sends, at the times its rate or cron expression says (EventBridge user guide, "Using cron and
 * rate expressions to schedule rules"; UTC, minute precision).
 */

export interface ScheduledRule {
  name: string;
  expression: string;
  targetArn: string;
}

export type Schedule =
  | { kind: 'rate'; everyMs: number }
  | {
      kind: 'cron';
      minutes: Set<number>;
      hours: Set<number>;
      days: Set<number> | 'any';
      months: Set<number>;
      weekdays: Set<number> | 'any';
      years: Set<number> | 'any';
    };

const RATE_UNITS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** Parses `rate(5 minutes)` or `cron(0/15 * * * ? *)`; throws on what EventBridge would refuse. */
export function parseSchedule(expression: string): Schedule {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression.trim());
  if (rate) {
    const n = Number(rate[1]);
    const unit = (rate[2] ?? '').replace(/s$/, '');
    // EventBridge: the singular unit for 1, the plural otherwise.
    if (n < 1 || (n === 1) !== !(rate[2] ?? '').endsWith('s'))
      throw new Error(`invalid rate expression "${expression}"`);
    return { kind: 'rate', everyMs: n * (RATE_UNITS[unit] ?? 0) };
  }
  const cron = /^cron\((.+)\)$/.exec(expression.trim());
  const fields = cron?.[1]?.trim().split(/\s+/) ?? [];
  if (fields.length !== 6) throw new Error(`invalid schedule expression "${expression}"`);
  const [min, hour, dom, month, dow, year] = fields as [string, string, string, string, string, string];
  // One of day-of-month and day-of-week must be "?".
  if ((dom === '?') === (dow === '?'))
    throw new Error(`"${expression}": one of day-of-month and day-of-week must be ?`);
  return {
    kind: 'cron',
    minutes: field(min, 0, 59),
    hours: field(hour, 0, 23),
    days: dom === '?' ? 'any' : field(dom, 1, 31),
    months: field(month, 1, 12, MONTHS),
    weekdays: dow === '?' ? 'any' : field(dow, 1, 7, WEEKDAYS),
    years: year === '*' ? 'any' : field(year, 1970, 2199),
  };
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** A cron field: `*`, numbers or names, `a-b` ranges, `a/step` or `*\/step`, comma lists. (L, W, # are not modelled.) */
function field(text: string, min: number, max: number, names: string[] = []): Set<number> {
  const values = new Set<number>();
  const value = (v: string) => {
    const i = names.indexOf(v.toUpperCase());
    const n = i >= 0 ? i + 1 : Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`cron field "${text}": ${v} is out of range`);
    return n;
  };
  for (const part of text.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`cron field "${text}": bad step`);
    let from = min;
    let to = max;
    if (range !== '*') {
      const [a = '', b] = range.split('-');
      from = value(a);
      to = b === undefined ? (stepText === undefined ? from : max) : value(b);
    }
    for (let n = from; n <= to; n += step) values.add(n);
  }
  return values;
}

/** The first time after `afterMs` the schedule fires. A rate counts from `startedAt` (when the rule was created). */
export function nextFire(schedule: Schedule, afterMs: number, startedAt = afterMs): number {
  if (schedule.kind === 'rate') {
    const n = Math.floor((afterMs - startedAt) / schedule.everyMs) + 1;
    return startedAt + n * schedule.everyMs;
  }
  // Minute by minute, for at most a few years: enough for any expression that ever fires.
  const t = new Date(Math.floor(afterMs / 60_000) * 60_000 + 60_000);
  for (let i = 0; i < 5 * 366 * 24 * 60; i++, t.setUTCMinutes(t.getUTCMinutes() + 1)) {
    const s = schedule;
    if (!s.minutes.has(t.getUTCMinutes()) || !s.hours.has(t.getUTCHours())) continue;
    if (!s.months.has(t.getUTCMonth() + 1)) continue;
    if (s.days !== 'any' && !s.days.has(t.getUTCDate())) continue;
    if (s.weekdays !== 'any' && !s.weekdays.has(t.getUTCDay() + 1)) continue;
    if (s.years !== 'any' && !s.years.has(t.getUTCFullYear())) continue;
    return t.getTime();
  }
  throw new Error('the cron expression never fires');
}

/**
 * The scheduled rules of infra/events.yml, their Lambda targets resolved with `refs` (`<Id>.Arn`
 * for `!GetAtt <Id>.Arn`) to the stand-in's function ARNs. Rules whose target is not in `refs`
 * (not served by this stand-in) are left out.
 */
export function loadScheduledRules(refs: Record<string, string>, file = EVENTS_FILE): ScheduledRule[] {
  if (!existsSync(file)) return [];
  const doc = parse(readFileSync(file, 'utf8'), { logLevel: 'silent' }) as {
    Resources?: Record<string, { Type?: string; Properties?: Record<string, unknown> }>;
  };
  const rules: ScheduledRule[] = [];
  for (const [name, r] of Object.entries(doc.Resources ?? {})) {
    const expression = r.Properties?.ScheduleExpression;
    if (r.Type !== 'AWS::Events::Rule' || typeof expression !== 'string') continue;
    const targets = (r.Properties?.Targets ?? []) as { Arn?: unknown }[];
    for (const t of targets) {
      // `!GetAtt X.Arn` parses as the string "X.Arn".
      const arn = typeof t.Arn === 'string' ? refs[t.Arn] : undefined;
      if (arn) rules.push({ name, expression, targetArn: arn });
    }
  }
  return rules;
}

export interface Fired {
  rule: string;
  at: Date;
}

/** Runs scheduled rules until stopped; `runNow` fires every rule once and waits for its targets. */
export class Scheduler {
  readonly fired: Fired[] = [];
  private readonly abort = new AbortController();
  private readonly startedAt: number;

  constructor(
    private readonly world: World,
    readonly rules: ScheduledRule[],
    private readonly clock: Clock = world.clock,
  ) {
    this.startedAt = clock.now();
    for (const rule of rules) {
      const schedule = parseSchedule(rule.expression);
      void this.loop(rule, schedule);
    }
  }

  stop(): void {
    this.abort.abort();
  }

  /** Fires every rule now (as if a run had just come due) and resolves once each target returned. */
  async runNow(): Promise<void> {
    await Promise.all(this.rules.map((r) => this.fire(r, this.clock.now())));
  }

  private async loop(rule: ScheduledRule, schedule: Schedule): Promise<void> {
    const signal = this.abort.signal;
    let next = nextFire(schedule, this.clock.now(), this.startedAt);
    while (!signal.aborted) {
      await this.clock.sleep(next - this.clock.now(), signal);
      if (signal.aborted) return;
      void this.fire(rule, next);
      next = nextFire(schedule, next, this.startedAt);
    }
  }

  /** EventBridge invokes the target asynchronously with a "Scheduled Event"; a failure is the function's. */
  private fire(rule: ScheduledRule, at: number): Promise<unknown> {
    const fn = this.world.functions.get(rule.targetArn);
    this.fired.push({ rule: rule.name, at: new Date(at) });
    if (!fn) {
      const error = new Error(`no function ${rule.targetArn} in the stand-in for ${rule.name}`);
      this.world.failedInvocations.push({ functionArn: rule.targetArn, error });
      return Promise.resolve();
    }
    const event = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: this.world.account,
      time: new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: this.world.region,
      resources: [`arn:aws:events:${this.world.region}:${this.world.account}:rule/${rule.name}`],
      detail: {},
    };
    // Held while the handler runs, as the Step Functions stand-in holds it for a Task: the host's
    // CPU time is not multiplied by the scale.
    const release = this.clock.hold?.();
    const run = fn(event)
      .catch((err: unknown) => {
        this.world.failedInvocations.push({ functionArn: rule.targetArn, error: err as Error });
      })
      .finally(() => release?.());
    this.world.invocations.push(run);
    return run;
  }
}
