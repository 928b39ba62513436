/**
 * Runs the real deploy state machine (state-machines/deploy.asl.yml) with aws-local-stepfunctions and
 * the real handlers. DynamoDB is a real in-process dynalite (lock and dedupe semantics matter);
 * EB, ECR, Secrets Manager, SSM, SNS and Step Functions are aws-sdk-client-mock mocks driven by
 * a small scripted model of an environment, so each test names what EB does after an update.
 *
 * Import this module before anything that creates AWS clients: it points DynamoDB at dynalite.
 */
import '../../lib/polyfills.js';
import { DescribeImagesCommand } from '@aws-sdk/client-ecr';
import {
  AbortEnvironmentUpdateCommand,
  CreateApplicationVersionCommand,
  DescribeAccountAttributesCommand,
  DescribeApplicationsCommand,
  DescribeApplicationVersionsCommand,
  DescribeConfigurationSettingsCommand,
  DescribeEnvironmentHealthCommand,
  DescribeEnvironmentsCommand,
  DescribeEventsCommand,
  DescribeInstancesHealthCommand,
  UpdateEnvironmentCommand,
} from '@aws-sdk/client-elastic-beanstalk';
import { DescribeSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { PublishCommand } from '@aws-sdk/client-sns';
import { GetCommandInvocationCommand, ListCommandsCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { answerAlarms, mocks, s3 } from '../support/aws-env.js';

type EventLog = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

export { mocks, REGION, s3, startDynamo, TABLE, TOPIC } from '../support/aws-env.js';

/** What the environment looks like at one poll after an update to `label` (step 0 = first poll). */
export interface EnvLook {
  status: string;
  color: string;
  healthStatus: string;
  /**
   * Version the environment reports; default: the label being deployed. AWS's UpdateEnvironment
   * example answer shows the new VersionLabel with Status Updating (EB API reference,
   * UpdateEnvironment, Examples); a failed deploy that EB reverts says so here.
   */
  versionLabel?: string;
  /** Deployment status the instances report (default Deployed once Ready, else In Progress). */
  instanceStatus?: string;
  causes?: string[];
  /** Events EB emits at this step. */
  events?: { severity: string; message: string }[];
}
export type Behaviour = (step: number) => EnvLook;

/** What GetCommandInvocation answers for a command once it is registered. */
export interface CommandLook {
  status: 'Success' | 'Failed' | 'InProgress' | 'TimedOut';
  code: number;
  stdout: string;
  stderr?: string;
  statusDetails?: string;
}

export const behaviours = {
  /** Updating for two polls, then Ready and Green on the new version. */
  healthy: (step: number): EnvLook =>
    step < 2
      ? { status: 'Updating', color: 'Grey', healthStatus: 'Pending' }
      : {
          status: 'Ready',
          color: 'Green',
          healthStatus: 'Ok',
          events:
            step === 2 ? [{ severity: 'INFO', message: 'Environment update completed successfully.' }] : [],
        },
  /** A long Grey update (normal), then Green. */
  greyDuringUpdateOnly: (step: number): EnvLook =>
    step < 8
      ? { status: 'Updating', color: 'Grey', healthStatus: 'Unknown' }
      : { status: 'Ready', color: 'Green', healthStatus: 'Ok' },
  /** Ready on the new version, then Red. */
  redAfterReady: (step: number): EnvLook =>
    step < 2
      ? { status: 'Updating', color: 'Grey', healthStatus: 'Pending' }
      : {
          status: 'Ready',
          color: 'Red',
          healthStatus: 'Severe',
          causes: ['100.0 % of the requests are failing with HTTP 5xx.'],
          events:
            step === 2
              ? [{ severity: 'WARN', message: 'Environment health has transitioned from Ok to Severe.' }]
              : [],
        },
  /** Ready on the new version, but health never leaves NoData. */
  greyPersisting: (step: number): EnvLook =>
    step < 2
      ? { status: 'Updating', color: 'Grey', healthStatus: 'Pending' }
      : { status: 'Ready', color: 'Grey', healthStatus: 'NoData' },
  /** Never leaves Updating. */
  neverConverges: (): EnvLook => ({ status: 'Updating', color: 'Grey', healthStatus: 'Pending' }),
} satisfies Record<string, Behaviour>;

export interface Image {
  repository: string;
  tag: string;
  digest: string;
  pushedAt: string;
}

export const digest = (n: number) => `sha256:${n.toString(16).padStart(2, '0').repeat(32)}`;

/**
 * A scripted AWS: one EB environment per (application, environment), images in ECR, secrets,
 * an SSM migration check result. Calls are recorded by the mocks for assertions.
 */
export class FakeAws {
  /** Simulated clock, advanced by 15 s on every health poll. */
  clock = Date.parse('2026-11-23T10:00:00Z');
  env = {
    status: 'Ready',
    color: 'Green',
    healthStatus: 'Ok',
    versionLabel: 'v9-0909090909',
    causes: [] as string[],
    instanceVersion: 'v9-0909090909',
    instanceStatus: 'Deployed',
  };
  events: { date: Date; severity: string; message: string; versionLabel?: string }[] = [];
  versions = new Map<string, string>([['v9-0909090909', 'Processed']]);
  /** Behaviour of the environment when updated to a label; default healthy. */
  behaviourFor: Record<string, Behaviour> = {};
  /** Labels whose UpdateEnvironment EB refuses outright (e.g. a rollback that cannot even start). */
  refuseUpdateTo = new Set<string>();
  /** Labels whose UpdateEnvironment EB applies, but whose reply never arrives (a network timeout). */
  loseUpdateReplyFor = new Set<string>();
  /** Health polls EB answers with Throttling (the environment moves on meanwhile). */
  throttleHealthPolls = 0;
  /** Versions EB fails to process (Process=true). */
  failProcessing = new Set<string>();
  images: Image[] = [];
  secrets: Record<string, string | undefined> = {};
  migration: CommandLook = {
    status: 'Success',
    code: 0,
    stdout: 'No changes detected',
  };
  /** The release phase's command (document `...-release-<target>`). */
  release: CommandLook = {
    status: 'Success',
    code: 0,
    stdout: 'Operations to perform:\n  No migrations to apply.',
  };
  /** Post-deploy checks by name (document `...-check-<target>-<name>`); default: passes. */
  checks: Record<string, CommandLook> = {};
  /** SendCommand calls, in order, for assertions (document, instances, parameters). */
  sent: { document: string; instanceIds: string[]; parameters?: Record<string, string[]> }[] = [];
  published: { subject?: string; message: string; topic?: string }[] = [];
  /** Status Step Functions reports for other executions (a lock holder): RUNNING unless a test says otherwise. */
  otherExecutionStatus = 'RUNNING';
  updates: string[] = [];
  private deploying?: { label: string; from: string; step: number; behaviour: Behaviour };
  private notYet = 0;

  constructor() {
    for (const m of Object.values(mocks)) m.reset();
    s3.reset();
    this.wire();
  }

  now(): Date {
    return new Date(this.clock);
  }

  /** Advances the environment by one poll: time passes while the workflow retries (the harness zeroes waits). */
  advance(): void {
    this.tick();
  }

  private event(severity: string, message: string): void {
    this.events.push({ date: this.now(), severity, message });
  }

  /** Advances one poll: the clock and the environment's script. */
  private tick(): void {
    this.clock += 15_000;
    const d = this.deploying;
    if (!d) return;
    const look = d.behaviour(d.step);
    d.step += 1;
    const ready = look.status === 'Ready';
    this.env.status = look.status;
    this.env.color = look.color;
    this.env.healthStatus = look.healthStatus;
    this.env.causes = look.causes ?? [];
    this.env.versionLabel = look.versionLabel ?? d.label;
    this.env.instanceVersion = look.versionLabel ?? (ready ? d.label : d.from);
    this.env.instanceStatus = look.instanceStatus ?? (ready ? 'Deployed' : 'In Progress');
    for (const e of look.events ?? []) this.event(e.severity, e.message);
  }

  private wire(): void {
    answerAlarms();
    const eb = mocks.eb;
    const envDescription = () => ({
      ApplicationName: 'antenna',
      EnvironmentName: 'antenna-prod',
      Status: this.env.status,
      Health: this.env.color,
      HealthStatus: this.env.healthStatus,
      VersionLabel: this.env.versionLabel,
      SolutionStackName: '64bit Amazon Linux 2023 v4.4.0 running ECS',
      DateUpdated: this.now(),
    });
    eb.on(DescribeEnvironmentsCommand).callsFake(() => ({ Environments: [envDescription()] }));
    eb.on(DescribeEnvironmentHealthCommand).callsFake(() => {
      this.tick();
      if (this.throttleHealthPolls > 0) {
        this.throttleHealthPolls -= 1;
        throw Object.assign(new Error('Rate exceeded'), {
          name: 'Throttling',
          $metadata: { httpStatusCode: 400 },
        });
      }
      return {
        Status: this.env.status,
        Color: this.env.color,
        HealthStatus: this.env.healthStatus,
        Causes: this.env.causes,
        RefreshedAt: this.now(),
      };
    });
    eb.on(DescribeInstancesHealthCommand).callsFake(() => ({
      InstanceHealthList: [
        {
          InstanceId: 'i-0abc',
          Color: this.env.color,
          HealthStatus: this.env.healthStatus,
          Deployment: { VersionLabel: this.env.instanceVersion, Status: this.env.instanceStatus },
        },
      ],
    }));
    eb.on(DescribeEventsCommand).callsFake((input: { StartTime?: Date; VersionLabel?: string }) => ({
      Events: this.events
        .filter((e) => !input.StartTime || e.date >= input.StartTime)
        .filter((e) => !input.VersionLabel || e.versionLabel === input.VersionLabel)
        .map((e) => ({ EventDate: e.date, Severity: e.severity, Message: e.message }))
        .reverse(),
    }));
    eb.on(DescribeApplicationVersionsCommand).callsFake((input: { VersionLabels?: string[] }) => {
      const labels = input.VersionLabels ?? [...this.versions.keys()];
      return {
        ApplicationVersions: labels
          .filter((l) => this.versions.has(l))
          .map((l) => ({
            ApplicationName: 'antenna',
            VersionLabel: l,
            Status: this.versions.get(l),
            Description: `ebship antenna-backend:${l} ${this.digestOf(l)}`,
          })),
      };
    });
    eb.on(CreateApplicationVersionCommand).callsFake((input: { VersionLabel: string }) => {
      const failed = this.failProcessing.has(input.VersionLabel);
      this.versions.set(input.VersionLabel, failed ? 'Failed' : 'Processed');
      if (failed)
        this.events.push({
          date: this.now(),
          severity: 'ERROR',
          message: 'The configuration file .ebextensions/00-ebship.config contains invalid YAML.',
          versionLabel: input.VersionLabel,
        });
      return { ApplicationVersion: { VersionLabel: input.VersionLabel, Status: 'Processing' } };
    });
    eb.on(UpdateEnvironmentCommand).callsFake((input: { VersionLabel: string }) => {
      if (this.env.status !== 'Ready' || this.refuseUpdateTo.has(input.VersionLabel)) {
        throw Object.assign(
          new Error(
            'Environment named antenna-prod is in an invalid state for this operation. Must be Ready.',
          ),
          // An answer from EB: the SDK sets the HTTP status on service errors.
          { name: 'InvalidParameterValue', $metadata: { httpStatusCode: 400 } },
        );
      }
      this.updates.push(input.VersionLabel);
      this.deploying = {
        label: input.VersionLabel,
        from: this.env.versionLabel,
        step: 0,
        behaviour: this.behaviourFor[input.VersionLabel] ?? behaviours.healthy,
      };
      this.env.status = 'Updating';
      this.env.color = 'Grey';
      this.env.versionLabel = input.VersionLabel;
      this.event('INFO', 'Environment update is starting.');
      if (this.loseUpdateReplyFor.delete(input.VersionLabel)) {
        // A network failure: no HTTP status, so nobody can tell whether EB applied the update.
        throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
      }
      return { ...envDescription(), Status: 'Updating' };
    });
    eb.on(AbortEnvironmentUpdateCommand).callsFake(() => {
      const from = this.deploying?.from ?? this.env.versionLabel;
      this.deploying = undefined;
      Object.assign(this.env, {
        status: 'Ready',
        color: 'Green',
        healthStatus: 'Ok',
        versionLabel: from,
        instanceVersion: from,
        instanceStatus: 'Deployed',
      });
      this.event('INFO', 'Environment update was aborted.');
      return {};
    });
    eb.on(DescribeConfigurationSettingsCommand).resolves({
      ConfigurationSettings: [
        {
          OptionSettings: [
            {
              Namespace: 'aws:elasticbeanstalk:healthreporting:system',
              OptionName: 'SystemType',
              Value: 'enhanced',
            },
          ],
        },
      ],
    });
    eb.on(DescribeAccountAttributesCommand).resolves({
      ResourceQuotas: { ApplicationVersionQuota: { Maximum: 1000 } },
    });
    eb.on(DescribeApplicationsCommand).resolves({ Applications: [{ ApplicationName: 'antenna' }] });

    mocks.ecr
      .on(DescribeImagesCommand)
      .callsFake(
        (input: { repositoryName: string; imageIds: { imageTag?: string; imageDigest?: string }[] }) => {
          const id = input.imageIds[0] ?? {};
          const image = this.images.find(
            (i) =>
              i.repository === input.repositoryName &&
              (id.imageDigest ? i.digest === id.imageDigest : i.tag === id.imageTag),
          );
          if (!image) throw Object.assign(new Error('image not found'), { name: 'ImageNotFoundException' });
          return {
            imageDetails: [
              {
                registryId: '123456789012',
                repositoryName: image.repository,
                imageDigest: image.digest,
                imageTags: [image.tag],
                imagePushedAt: new Date(image.pushedAt),
              },
            ],
          };
        },
      );

    mocks.secrets.on(DescribeSecretCommand).callsFake((input: { SecretId: string }) => {
      if (!(input.SecretId in this.secrets))
        throw Object.assign(new Error("Secrets Manager can't find the specified secret."), {
          name: 'ResourceNotFoundException',
        });
      return {
        ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${input.SecretId}-AbCdEf`,
        Name: input.SecretId,
      };
    });
    mocks.secrets.on(GetSecretValueCommand).callsFake((input: { SecretId: string }) => {
      const name = Object.keys(this.secrets).find(
        (n) => input.SecretId === n || input.SecretId.includes(`:secret:${n}-`),
      );
      if (name === undefined)
        throw Object.assign(new Error("Secrets Manager can't find the specified secret."), {
          name: 'ResourceNotFoundException',
        });
      return {
        ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`,
        Name: name,
        SecretString: this.secrets[name],
      };
    });

    mocks.ssm
      .on(SendCommandCommand)
      .callsFake(
        (input: {
          DocumentName: string;
          InstanceIds?: string[];
          Parameters?: Record<string, string[]>;
          Comment?: string;
        }) => {
          this.notYet = 1;
          this.sent.push({
            document: input.DocumentName,
            instanceIds: input.InstanceIds ?? [],
            ...(input.Parameters ? { parameters: input.Parameters } : {}),
          });
          const id = `cmd-${String(this.sent.length).padStart(4, '0')}`;
          this.commandDocuments.set(id, input.DocumentName);
          this.commandComments.set(id, { comment: input.Comment, instanceIds: input.InstanceIds ?? [] });
          return { Command: { CommandId: id } };
        },
      );
    // The release phase looks its command up by comment before sending (lib/aws/run-command.ts).
    mocks.ssm.on(ListCommandsCommand).callsFake(() => ({
      Commands: [...this.commandComments].map(([id, c]) => ({
        CommandId: id,
        DocumentName: this.commandDocuments.get(id),
        Comment: c.comment,
        InstanceIds: c.instanceIds,
      })),
    }));
    mocks.ssm.on(GetCommandInvocationCommand).callsFake((input: { CommandId: string }) => {
      if (this.notYet > 0) {
        this.notYet -= 1;
        throw Object.assign(new Error(''), { name: 'InvocationDoesNotExist' });
      }
      const look = this.lookOf(this.commandDocuments.get(input.CommandId) ?? '');
      return {
        Status: look.status,
        ResponseCode: look.code,
        StandardOutputContent: look.stdout,
        ...(look.stderr ? { StandardErrorContent: look.stderr } : {}),
        ...(look.statusDetails ? { StatusDetails: look.statusDetails } : {}),
      };
    });
    mocks.sns
      .on(PublishCommand)
      .callsFake((input: { Subject?: string; Message: string; TopicArn?: string }) => {
        this.published.push({ subject: input.Subject, message: input.Message, topic: input.TopicArn });
        return { MessageId: `msg-${this.published.length}` };
      });
    mocks.sfn.on(DescribeExecutionCommand).callsFake(() => ({ status: this.otherExecutionStatus }));
    mocks.sfn.on(StartExecutionCommand).resolves({
      executionArn: 'arn:aws:states:us-east-1:123456789012:execution:ebship:child',
      startDate: new Date(),
    });
  }

  private readonly commandDocuments = new Map<string, string>();
  private readonly commandComments = new Map<string, { comment?: string; instanceIds: string[] }>();

  /** What a command of this document reports: the release, a named check, or the migration check. */
  private lookOf(document: string): CommandLook {
    if (/-release-/.test(document)) return this.release;
    const check = /-check-antenna-prod-(.+)$/.exec(document)?.[1];
    if (check !== undefined) return this.checks[check] ?? { status: 'Success', code: 0, stdout: 'ok' };
    return this.migration;
  }

  private digestOf(label: string): string {
    const short = label.split('-').at(-1) ?? '';
    return this.images.find((i) => i.digest.slice(7).startsWith(short))?.digest ?? digest(9);
  }

  /** The Antenna secrets, valid. */
  withGoodSecrets(): this {
    this.secrets = {
      'antenna/prod/django-secret-key': 'django-insecure-but-long-enough-for-tests-0123456789',
      'antenna/prod/database-url': 'postgres://antenna:pw@db.internal:5432/antenna',
      'antenna/prod/redis-url': 'rediss://cache.internal:6379/0?ssl_cert_reqs=none',
      'antenna/prod/sendgrid-api-key': 'SG.test-key',
      'antenna/prod/sentry-dsn': 'https://abc@o1.ingest.sentry.io/1',
    };
    return this;
  }
}

export interface RunResult {
  status: 'SUCCEEDED' | 'FAILED';
  error?: string;
  output?: unknown;
  /** State names entered, in order. */
  path: string[];
  events: EventLog[];
}

let executions = 0;

export type TaskHandler = (input: unknown) => Promise<unknown>;

export interface RunOptions {
  /** Wraps each Task state's handler (fault injection): return the handler to run in its place. */
  wrapTask?: (stateName: string, handler: TaskHandler) => TaskHandler;
}

/** Runs the real state machine to completion with Wait states and retry intervals at zero. */
export async function runDeploy(input: unknown, options: RunOptions = {}): Promise<RunResult> {
  const { loadDeployDefinition } = await import('../../lib/workflow/definition.js');
  const { localTaskHandlers } = await import('../../functions/registry.js');
  const definition = loadDeployDefinition();
  // aws-local-stepfunctions resolves TimeoutSecondsPath against the Task's Parameters, not its input
  // (Step Functions: "from the state input"); here callback Tasks end when their Lambda returns
  // anyway, so their dynamic timeout is left out.
  for (const state of Object.values(definition.States)) delete state.TimeoutSecondsPath;
  const stateMachine = new StateMachine(definition as never, { validationOptions: { checkArn: false } });
  const zero = (type: string) =>
    Object.fromEntries(
      Object.entries(definition.States)
        .filter(([, s]) => (type === 'Retry' ? 'Retry' in s : s.Type === type))
        .map(([name]) => [name, 0]),
    );
  executions += 1;
  const name = `test-${executions}`;
  const execution = stateMachine.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: wrapTasks(localTaskHandlers(definition), options.wrapTask) as never,
      waitTimeOverrides: zero('Wait'),
      retryIntervalOverrides: zero('Retry'),
    },
    context: {
      Execution: {
        Id: `arn:aws:states:us-east-1:123456789012:execution:ebship-test-deploy:${name}`,
        Name: name,
        StartTime: new Date().toISOString(),
      },
      StateMachine: {
        Id: 'arn:aws:states:us-east-1:123456789012:stateMachine:ebship-test-deploy',
        Name: 'ebship-test-deploy',
      },
      // `$$.Task.Token` of the event-driven watch. aws-local-stepfunctions has no callback tasks:
      // here a waitForTaskToken Task ends when its Lambda returns, as if an event woke it at once
      // (the stand-in runs the real callback pattern: test/workflow/event-watch.test.ts).
      Task: { Token: 'harness-task-token' },
    },
  });
  const events: EventLog[] = [];
  const collecting = (async () => {
    for await (const e of execution.eventLogs) events.push(e);
  })();
  let result: RunResult;
  try {
    const output = await execution.result;
    result = { status: 'SUCCEEDED', output, path: [], events };
  } catch (err) {
    if (!(err instanceof ExecutionError)) throw err;
    const cause = (err as ExecutionError & { cause?: { name?: string } }).cause;
    result = { status: 'FAILED', error: cause?.name ?? err.name, path: [], events };
  }
  await collecting;
  result.path = events.flatMap((e) => (e.type === 'StateEntered' ? [e.state.name] : []));
  return result;
}

function wrapTasks(
  handlers: Record<string, TaskHandler>,
  wrap: RunOptions['wrapTask'],
): Record<string, TaskHandler> {
  if (!wrap) return handlers;
  return Object.fromEntries(Object.entries(handlers).map(([name, handler]) => [name, wrap(name, handler)]));
}
