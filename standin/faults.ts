import * as z from 'zod';
import type { Clock } from './clock.js';
import { ServiceError } from './protocol.js';

/**
 * Faults as data: what a scenario (`faults:` in standin/scenarios/*.yml) or a test
 * (`world.faults.add({...})`) declares going wrong, and a record of every fault that fired.
 * A World starts with no faults, so each run starts clean; `world.faults.clear()` disarms them.
 *
 * Schema (one entry per fault; `skip` lets that many matching calls through first, `times` is how
 * many calls it hits, default 1):
 *
 *   # wire faults, per service + operation (service: elasticbeanstalk, ssm, states (alias sfn), ecr,
 *   # secretsmanager, sns, s3, dynamodb; operation: the API action, e.g. UpdateEnvironment, or "*")
 *   - { fault: reply-lost, service: elasticbeanstalk, operation: UpdateEnvironment }
 *       # the call takes effect, then the socket is destroyed (hang: true: never answered)
 *   - { fault: error-after, service: ssm, operation: SendCommand }   # takes effect, then a 5xx
 *   - { fault: error-before, service: s3, operation: PutObject }     # a 5xx, nothing applied
 *       # status / code / message override the service's own 5xx shape
 *   - { fault: throttle, service: elasticbeanstalk, operation: DescribeEvents, times: 5 }
 *   - { fault: throttle, service: ssm, operation: "*", fromSeconds: 0, forSeconds: 120 }
 *       # each service's own throttling error; a window is simulated seconds after the fault is added
 *   # a Lambda task of the state machine (service lambda, operation: the Task state's name)
 *   - { fault: error-after, service: lambda, operation: DeployVersion, code: Lambda.Unknown }
 *       # the handler ran and returned; Step Functions discards the result and reports the error
 *       # (default Lambda.ServiceException, which the state's Retry re-runs)
 *   - { fault: error-before, service: lambda, operation: CheckHealth }   # the handler never runs
 *   # SSM Run Command: the next SendCommand's invocations end in this status
 *   - { fault: ssm-status, status: TimedOut, afterSeconds: 30 }
 *       # Pending | Delayed | Cancelling stay so; TimedOut ("Execution Timed Out", or statusDetails:
 *       # "Delivery Timed Out"), Cancelled, Undeliverable, Terminated, Failed end so after afterSeconds
 *   # Elastic Beanstalk environment faults, relative to the n-th UpdateEnvironment (`update`, default
 *   # 1: the next) of `environment` (default: any)
 *   - { fault: health-flap, steps: [{ afterSeconds: 30, color: Red, healthStatus: Severe },
 *                                   { afterSeconds: 60, color: Green }] }   # after the update ends
 *   - { fault: console-deploy, afterSeconds: 300, versionLabel: hotfix-from-console }
 *       # after the update starts, someone deploys another version from the console
 *   - { fault: terminate, afterSeconds: 60 }   # the environment is terminated
 *   # EventBridge loses events (best-effort delivery): all matching ones unless `times`, or a
 *   # `fraction` of them (0.5: every other one)
 *   - { fault: drop-events, source: aws.elasticbeanstalk, detailType: Health status change }
 */

export const FAULT_SERVICES = [
  'elasticbeanstalk',
  'ssm',
  'states',
  'ecr',
  'secretsmanager',
  'sns',
  's3',
  'dynamodb',
  'lambda',
  'iam',
  'sts',
  'cloudwatch',
  'logs',
] as const;
export type FaultService = (typeof FAULT_SERVICES)[number];

const service = z.preprocess(
  (v) => (v === 'sfn' || v === 'stepfunctions' ? 'states' : v === 'eb' ? 'elasticbeanstalk' : v),
  z.enum(FAULT_SERVICES),
);
const count = z.number().int().min(0);
const healthStep = z
  .object({
    afterSeconds: z.number().min(0),
    color: z.enum(['Green', 'Yellow', 'Red', 'Grey']),
    healthStatus: z.string().optional(),
    causes: z.array(z.string()).optional(),
  })
  .strict();
const onUpdate = {
  environment: z.string().optional(),
  /** Which UpdateEnvironment, counted from when the fault is added (1: the next one). */
  update: z.number().int().min(1).default(1),
};

export const SSM_FAULT_STATUSES = [
  'Pending',
  'Delayed',
  'Cancelling',
  'TimedOut',
  'Cancelled',
  'Undeliverable',
  'Terminated',
  'Failed',
] as const;

export const faultSchema = z.discriminatedUnion('fault', [
  z
    .object({
      fault: z.enum(['reply-lost', 'error-after', 'error-before']),
      service,
      operation: z.string().min(1),
      skip: count.default(0),
      times: count.default(1),
      /** reply-lost only: keep the connection open and never answer (the SDK's request timeout). */
      hang: z.boolean().default(false),
      status: z.number().int().min(400).max(599).optional(),
      code: z.string().optional(),
      message: z.string().optional(),
    })
    .strict(),
  z
    .object({
      fault: z.literal('throttle'),
      service,
      operation: z.string().min(1),
      skip: count.default(0),
      /** Calls throttled; default 1, or every call inside the window when one is given. */
      times: count.optional(),
      fromSeconds: z.number().min(0).optional(),
      forSeconds: z.number().positive().optional(),
    })
    .strict(),
  z
    .object({
      fault: z.literal('ssm-status'),
      status: z.enum(SSM_FAULT_STATUSES),
      statusDetails: z.string().optional(),
      afterSeconds: z.number().min(0).default(5),
      skip: count.default(0),
      times: count.default(1),
    })
    .strict(),
  z.object({ fault: z.literal('health-flap'), ...onUpdate, steps: z.array(healthStep).min(1) }).strict(),
  z
    .object({
      fault: z.literal('console-deploy'),
      ...onUpdate,
      afterSeconds: z.number().min(0),
      versionLabel: z.string().default('deployed-from-console'),
      durationSeconds: z.number().min(0).default(60),
    })
    .strict(),
  z.object({ fault: z.literal('terminate'), ...onUpdate, afterSeconds: z.number().min(0) }).strict(),
  z
    .object({
      fault: z.literal('drop-events'),
      /** e.g. aws.elasticbeanstalk, aws.states, aws.ecr; default: any. */
      source: z.string().optional(),
      detailType: z.string().optional(),
      skip: count.default(0),
      /** Events lost; default: every matching one. */
      times: count.optional(),
      /** Loses this share of the matching events, evenly spread (0.5: every other one); default 1. */
      fraction: z.number().min(0).max(1).optional(),
    })
    .strict(),
]);

export type FaultSpec = z.output<typeof faultSchema>;
export type FaultInput = z.input<typeof faultSchema>;
export type WireFault = Extract<
  FaultSpec,
  { fault: 'reply-lost' | 'error-after' | 'error-before' | 'throttle' }
>;
export type EbFault = Extract<FaultSpec, { fault: 'health-flap' | 'console-deploy' | 'terminate' }>;
export type SsmStatusFault = Extract<FaultSpec, { fault: 'ssm-status' }>;
export type DropEventsFault = Extract<FaultSpec, { fault: 'drop-events' }>;

export interface FiredFault {
  /** The id `add` returned. */
  id: number;
  fault: FaultSpec['fault'];
  /** The service (or `events`, EventBridge, for drop-events). */
  service: FaultService | 'events';
  operation: string;
  /** Simulated time it fired. */
  at: Date;
  detail?: string;
}

interface Armed {
  id: number;
  spec: FaultSpec;
  armedAt: number;
  /** Matching calls (or updates) seen, and how many the fault hit. */
  seen: number;
  hits: number;
}

export class Faults {
  private readonly armed: Armed[] = [];
  private nextId = 1;
  /** Every fault that fired, in order. */
  readonly fired: FiredFault[] = [];

  constructor(private readonly clock: Clock) {}

  /** Arms a fault; returns its id (in `fired`). */
  add(input: FaultInput): number {
    const spec = faultSchema.parse(input);
    const id = this.nextId++;
    this.armed.push({ id, spec, armedAt: this.clock.now(), seen: 0, hits: 0 });
    return id;
  }

  addAll(inputs: FaultInput[]): number[] {
    return inputs.map((f) => this.add(f));
  }

  /** Disarms every fault and forgets what fired. */
  clear(): void {
    this.armed.length = 0;
    this.fired.length = 0;
  }

  /** Faults still armed (not used up). */
  pending(): FaultSpec[] {
    return this.armed.filter((a) => !usedUp(a)).map((a) => a.spec);
  }

  /**
   * The wire fault (if any) that hits this call. Each matching fault counts the call; the first one
   * due fires and is recorded.
   */
  onCall(service: FaultService, operation: string): WireFault | undefined {
    let hit: WireFault | undefined;
    for (const a of this.armed) {
      const s = a.spec;
      if (
        s.fault !== 'reply-lost' &&
        s.fault !== 'error-after' &&
        s.fault !== 'error-before' &&
        s.fault !== 'throttle'
      )
        continue;
      if (s.service !== service || (s.operation !== '*' && s.operation !== operation)) continue;
      if (usedUp(a)) continue;
      if (s.fault === 'throttle' && !this.inWindow(a, s)) continue;
      a.seen += 1;
      if (hit || a.seen <= s.skip) continue;
      a.hits += 1;
      hit = s;
      this.record(a, service, operation);
    }
    return hit;
  }

  /** The SSM status fault for the next SendCommand, if one is armed. */
  onSendCommand(): SsmStatusFault | undefined {
    for (const a of this.armed) {
      if (a.spec.fault !== 'ssm-status' || usedUp(a)) continue;
      a.seen += 1;
      if (a.seen <= a.spec.skip) continue;
      a.hits += 1;
      this.record(a, 'ssm', 'SendCommand', a.spec.status);
      return a.spec;
    }
    return undefined;
  }

  /**
   * EB faults due on this UpdateEnvironment of `environment`. Each comes with `fire`, which the EB
   * simulation calls when the fault takes effect (so `fired` lists it at its simulated time).
   */
  onUpdate(environment: string): { spec: EbFault; fire: (detail?: string) => void }[] {
    const due: { spec: EbFault; fire: (detail?: string) => void }[] = [];
    for (const a of this.armed) {
      const s = a.spec;
      if (s.fault !== 'health-flap' && s.fault !== 'console-deploy' && s.fault !== 'terminate') continue;
      if (s.environment !== undefined && s.environment !== environment) continue;
      if (a.hits > 0) continue;
      a.seen += 1;
      if (a.seen !== s.update) continue;
      a.hits += 1;
      due.push({ spec: s, fire: (detail) => this.record(a, 'elasticbeanstalk', environment, detail) });
    }
    return due;
  }

  /** Whether EventBridge loses this event (a drop-events fault). */
  dropsEvent(source: string, detailType: string): boolean {
    for (const a of this.armed) {
      const s = a.spec;
      if (s.fault !== 'drop-events' || usedUp(a)) continue;
      if ((s.source && s.source !== source) || (s.detailType && s.detailType !== detailType)) continue;
      a.seen += 1;
      if (a.seen <= s.skip) continue;
      // Deterministic: the n-th matching event is lost when n x fraction crosses a whole number.
      const n = a.seen - s.skip;
      const share = s.fraction ?? 1;
      if (Math.floor(n * share) === Math.floor((n - 1) * share)) continue;
      a.hits += 1;
      this.record(a, 'events', detailType, source);
      return true;
    }
    return false;
  }

  private inWindow(a: Armed, s: Extract<FaultSpec, { fault: 'throttle' }>): boolean {
    if (s.fromSeconds === undefined && s.forSeconds === undefined) return true;
    const elapsed = (this.clock.now() - a.armedAt) / 1000;
    const from = s.fromSeconds ?? 0;
    return elapsed >= from && (s.forSeconds === undefined || elapsed < from + s.forSeconds);
  }

  private record(a: Armed, service: FaultService | 'events', operation: string, detail?: string): void {
    this.fired.push({
      id: a.id,
      fault: a.spec.fault,
      service,
      operation,
      at: new Date(this.clock.now()),
      ...(detail ? { detail } : {}),
    });
  }
}

function usedUp(a: Armed): boolean {
  const s = a.spec;
  if (s.fault === 'throttle') {
    const windowed = s.fromSeconds !== undefined || s.forSeconds !== undefined;
    const times = s.times ?? (windowed ? Number.POSITIVE_INFINITY : 1);
    return a.hits >= times;
  }
  if (s.fault === 'health-flap' || s.fault === 'console-deploy' || s.fault === 'terminate') return a.hits > 0;
  if (s.fault === 'drop-events') return a.hits >= (s.times ?? Number.POSITIVE_INFINITY);
  return a.hits >= s.times;
}

/** Each service's throttling answer, as its API model and documentation give it. */
const THROTTLING: Record<FaultService, { code: string; status: number; message: string }> = {
  // EB (query protocol): 400 Throttling "Rate exceeded".
  elasticbeanstalk: { code: 'Throttling', status: 400, message: 'Rate exceeded' },
  ssm: { code: 'ThrottlingException', status: 400, message: 'Rate exceeded' },
  states: { code: 'ThrottlingException', status: 400, message: 'Rate exceeded' },
  ecr: { code: 'ThrottlingException', status: 400, message: 'Rate exceeded' },
  secretsmanager: { code: 'ThrottlingException', status: 400, message: 'Rate exceeded' },
  // SNS models ThrottledException with code Throttled and HTTP 429.
  sns: { code: 'Throttled', status: 429, message: 'Rate exceeded' },
  // S3 answers 503 SlowDown.
  s3: { code: 'SlowDown', status: 503, message: 'Please reduce your request rate.' },
  dynamodb: {
    code: 'ThrottlingException',
    status: 400,
    message: 'Rate of requests exceeds the allowed throughput.',
  },
  // Lambda's own throttling, as a Task state sees it.
  lambda: { code: 'Lambda.TooManyRequestsException', status: 429, message: 'Rate Exceeded.' },
  // IAM (query protocol): 400 Throttling.
  iam: { code: 'Throttling', status: 400, message: 'Rate exceeded' },
  // STS (query protocol): 400 Throttling.
  sts: { code: 'Throttling', status: 400, message: 'Rate exceeded' },
  // CloudWatch (query-compatible JSON): 400 Throttling "Rate exceeded".
  cloudwatch: { code: 'Throttling', status: 400, message: 'Rate exceeded' },
  // CloudWatch Logs: ThrottlingException (botocore logs service-2.json).
  logs: { code: 'ThrottlingException', status: 400, message: 'Rate exceeded' },
};

/** Each service's own internal error (5xx). */
const INTERNAL: Record<FaultService, { code: string; status: number; message: string }> = {
  elasticbeanstalk: { code: 'InternalFailure', status: 500, message: 'An internal error occurred.' },
  ssm: { code: 'InternalServerError', status: 500, message: 'An internal error occurred.' },
  states: { code: 'InternalFailure', status: 500, message: 'An internal error occurred.' },
  ecr: { code: 'ServerException', status: 500, message: 'An internal error occurred.' },
  secretsmanager: {
    code: 'InternalServiceError',
    status: 500,
    message: 'An error occurred on the server side.',
  },
  sns: { code: 'InternalError', status: 500, message: 'Internal Error' },
  s3: { code: 'InternalError', status: 500, message: 'We encountered an internal error. Please try again.' },
  dynamodb: { code: 'InternalServerError', status: 500, message: 'Internal server error' },
  lambda: {
    code: 'Lambda.ServiceException',
    status: 500,
    message:
      'Lambda encountered an internal error while invoking the function. (Service: Lambda, Status Code: 500)',
  },
  // CloudWatch's InternalServiceFault (botocore cloudwatch service-2.json: code InternalServiceError, HTTP 500).
  cloudwatch: { code: 'InternalServiceError', status: 500, message: 'Internal service error.' },
  // IAM's ServiceFailureException (botocore iam service-2.json: code ServiceFailure, HTTP 500).
  iam: {
    code: 'ServiceFailure',
    status: 500,
    message: 'The request processing has failed because of an unknown error.',
  },
  // STS has no modelled 5xx error shape: the generic query-protocol InternalFailure.
  sts: { code: 'InternalFailure', status: 500, message: 'An internal error occurred.' },
  // CloudWatch Logs' ServiceUnavailableException (botocore logs service-2.json).
  logs: {
    code: 'ServiceUnavailableException',
    status: 500,
    message: 'The service cannot complete the request.',
  },
};

/** The error a wire fault answers with, in the service's own shape. */
export function faultError(service: FaultService, fault: WireFault): ServiceError {
  if (fault.fault === 'throttle') {
    const t = THROTTLING[service];
    return new ServiceError(t.code, t.message, t.status, 'Sender');
  }
  if (fault.fault === 'reply-lost') throw new Error('a lost reply has no error');
  const base = INTERNAL[service];
  return new ServiceError(
    fault.code ?? base.code,
    fault.message ?? base.message,
    fault.status ?? base.status,
    'Receiver',
  );
}
