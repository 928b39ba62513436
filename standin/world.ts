import { randomUUID } from 'node:crypto';
import type { Clock } from './clock.js';
import { type EventPattern, matchesPattern } from './event-pattern.js';
import { Faults } from './faults.js';
import { Ecr, type EcrImage } from './services/ecr.js';
import { DEFAULT_EB_OPTIONS, type EbOptions, ElasticBeanstalk } from './services/elastic-beanstalk.js';
import { S3Store } from './services/s3.js';
import { SecretsManager } from './services/secrets-manager.js';
import { Sns } from './services/sns.js';
import { Ssm } from './services/ssm.js';
import { StepFunctions, type TaskHandlerResolver } from './services/step-functions.js';

/**
 * Everything the stand-in's AWS holds, in one place: tests and the rehearsal arrange it (provision a
 * scenario, push an image) and read it (published alerts, EB's calls, executions).
 */

export interface EventRule {
  name: string;
  pattern: EventPattern;
  /** A state machine ARN: matching events start an execution with the event as input. */
  targetArn: string;
}

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
  readonly rules: EventRule[] = [];
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
  }

  readonly region: string;
  readonly account: string;

  /**
   * An image pushed to ECR: records it and, like EventBridge, delivers the ECR event to every rule
   * whose pattern matches.
   */
  pushImage(push: { repository: string; tag?: string; digest?: string }): PushResult {
    const image = this.ecr.push(push.repository, push.tag, push.digest);
    const event: Record<string, unknown> = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'ECR Image Action',
      source: 'aws.ecr',
      account: this.account,
      time: new Date(this.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: this.region,
      resources: [],
      detail: {
        result: 'SUCCESS',
        'repository-name': push.repository,
        'image-digest': image.digest,
        'action-type': 'PUSH',
        ...(push.tag ? { 'image-tag': push.tag } : {}),
      },
    };
    const executionArns = this.rules
      .filter((r) => matchesPattern(event, r.pattern))
      // EventBridge names the execution itself (a random id); the input is the event.
      .map((r) => this.sfn.startExecution(r.targetArn, JSON.stringify(event), randomUUID()).executionArn);
    return { image, event, executionArns };
  }
}
