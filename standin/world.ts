import { randomUUID } from 'node:crypto';
import type { Clock } from './clock.js';
import { EventBus, type EventRule } from './eventbridge.js';
import { Faults } from './faults.js';
import { CloudWatch } from './services/cloudwatch.js';
import { Ecr, type EcrImage } from './services/ecr.js';
import { DEFAULT_EB_OPTIONS, type EbOptions, ElasticBeanstalk } from './services/elastic-beanstalk.js';
import { Iam } from './services/iam.js';
import { S3Store } from './services/s3.js';
import { SecretsManager } from './services/secrets-manager.js';
import { Sns } from './services/sns.js';
import { Ssm } from './services/ssm.js';
import { SsmInventory } from './services/ssm-inventory.js';
import { StepFunctions, type TaskHandlerResolver } from './services/step-functions.js';
import { Sts } from './services/sts.js';

/**
 * Everything the stand-in's AWS holds, in one place: tests and the rehearsal arrange it (provision a
 * scenario, push an image) and read it (published alerts, EB's calls, executions).
 */

export type { EventRule };

export interface PushResult {
  image: EcrImage;
  /** The ECR event EventBridge would deliver. */
  event: Record<string, unknown>;
  /** Executions the event started (none if no rule matched). */
  executionArns: string[];
}

export class World {
  readonly s3 = new S3Store();
  readonly eb: ElasticBeanstalk;
  readonly ecr: Ecr;
  readonly secrets: SecretsManager;
  readonly ssm: Ssm;
  readonly sns: Sns;
  readonly sfn: StepFunctions;
  readonly iam: Iam;
  /** GetCallerIdentity for `ebship approve` / `reject` (issue 14). */
  readonly sts: Sts;
  readonly cloudwatch: CloudWatch;
  /** The default event bus; `rules` are its rules. */
  readonly bus: EventBus;
  readonly rules: EventRule[];
  /** Lambda functions EventBridge rules can target (function ARN → handler). */
  readonly functions = new Map<string, (event: unknown) => Promise<unknown>>();
  /** Asynchronous invocations made by the bus, to await in tests; and those that failed. */
  readonly invocations: Promise<unknown>[] = [];
  readonly failedInvocations: { functionArn: string; error: Error }[] = [];
  /** Faults armed for this world (none at first) and the record of those that fired. */
  readonly faults: Faults;

  constructor(
    readonly clock: Clock,
    options: {
      eb?: Partial<EbOptions>;
      taskHandlers?: TaskHandlerResolver;
      region?: string;
      account?: string;
    } = {},
  ) {
    const region = options.region ?? 'us-east-1';
    const account = options.account ?? '123456789012';
    this.faults = new Faults(clock);
    this.sts = new Sts(account);
    this.bus = new EventBus(clock, region, account, () => ({
      startExecution: (arn, input) => this.sfn.startExecution(arn, input, randomUUID()).executionArn,
      publish: (topicArn, message) => this.sns.publishFromEventBridge(topicArn, message),
      invoke: (functionArn, input) => {
        const fn = this.functions.get(functionArn);
        if (!fn)
          throw new Error(`no function ${functionArn} in the stand-in: register it in world.functions`);
        // Asynchronous invocation: EventBridge does not wait; a failure is the function's to log.
        // Simulated time runs at real speed while it computes, as for the state machine's Lambdas
        // (sfn-tasks.ts): the host's CPU time is not multiplied by the scale.
        const release = clock.hold?.();
        this.invocations.push(
          fn(JSON.parse(input))
            .catch((err: unknown) => {
              this.failedInvocations.push({ functionArn, error: err as Error });
            })
            .finally(() => release?.()),
        );
      },
    }));
    this.rules = this.bus.rules;
    this.bus.dropIf = (e) => this.faults.dropsEvent(e.source, e['detail-type']);

    this.eb = new ElasticBeanstalk(
      clock,
      this.s3,
      { ...DEFAULT_EB_OPTIONS, ...options.eb },
      region,
      account,
      this.faults,
    );
    this.ecr = new Ecr(clock, account, region);
    this.secrets = new SecretsManager(clock, region, account);
    this.ssm = new Ssm(
      clock,
      (env) => this.eb.instanceIds(env),
      (id) => [...this.eb.environments.keys()].some((env) => this.eb.instanceIds(env).includes(id)),
      this.faults,
    );
    this.iam = new Iam(clock, account);
    this.cloudwatch = new CloudWatch(clock, region, account);
    // Scenario alarm changes count from the first update EB started (standin/scenarios.ts `alarms`).
    this.cloudwatch.updateStartedAt = () =>
      this.eb.events.find((e) => e.message === 'Environment update is starting.')?.date.getTime();
    this.ssm.inventory = new SsmInventory(clock, {
      instances: () => this.eb.instanceTags(),
      canRegister: (profile) =>
        profile === undefined ? undefined : this.iam.profileAllows(profile, 'ssm:UpdateInstanceInformation'),
    });
    this.sns = new Sns(region, account);
    this.sfn = new StepFunctions(
      clock,
      options.taskHandlers ??
        (() => {
          throw new Error('no task handlers: start the stand-in with taskHandlers to run executions');
        }),
      region,
      account,
      this.faults,
    );
    this.region = region;
    this.account = account;
    this.eb.onBusEvent = (detailType, detail, resources, at) =>
      this.bus.put('aws.elasticbeanstalk', detailType, detail, resources, at);
    // Step Functions sends every execution status change to EventBridge (developer guide,
    // "Automating Step Functions event delivery with EventBridge").
    this.sfn.onStatusChange = (e) =>
      this.bus.put(
        'aws.states',
        'Step Functions Execution Status Change',
        {
          executionArn: e.arn,
          stateMachineArn: e.stateMachineArn,
          name: e.name,
          status: e.status,
          startDate: e.startDate.getTime(),
          stopDate: e.stopDate?.getTime() ?? null,
          input: e.input,
          output: e.output ?? null,
          inputDetails: { included: true },
          outputDetails: e.output === undefined ? null : { included: true },
          ...(e.error !== undefined ? { error: e.error } : {}),
          ...(e.cause !== undefined ? { cause: e.cause } : {}),
        },
        [e.arn],
      );
  }

  readonly region: string;
  readonly account: string;

  /**
   * An image pushed to ECR: records it and, like EventBridge, delivers the ECR event to every rule
   * whose pattern matches.
   */
  pushImage(push: { repository: string; tag?: string; digest?: string }): PushResult {
    const image = this.ecr.push(push.repository, push.tag, push.digest);
    const deliveries = this.bus.put('aws.ecr', 'ECR Image Action', {
      result: 'SUCCESS',
      'repository-name': push.repository,
      'image-digest': image.digest,
      'action-type': 'PUSH',
      ...(push.tag ? { 'image-tag': push.tag } : {}),
    });
    const event = this.bus.events.at(-1) as unknown as Record<string, unknown>;
    // EventBridge names the execution itself (a random id); the input is the event.
    const executionArns = deliveries.flatMap((d) => (d.executionArn ? [d.executionArn] : []));
    return { image, event, executionArns };
  }
}
