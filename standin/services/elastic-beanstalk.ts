import type { Clock } from '../clock.js';
import type { Faults } from '../faults.js';
import { int, type JsonObject, pageOf, requestId, ServiceError, str, strList } from '../protocol.js';
import { busEventOf, matchingEvents } from './eb-events.js';
import { describeEnvironmentHealth, describeInstancesHealth } from './eb-health.js';
import { EbLogs } from './eb-logs.js';
import {
  type AppVersion,
  type Color,
  DEFAULT_EB_OPTIONS,
  type EbEnvironmentSpec,
  type EbEvent,
  type EbOptions,
  type Environment,
  type Severity,
} from './eb-model.js';
import { describePlatformVersion } from './eb-platforms.js';
import { DescribeThrottle } from './eb-throttle.js';
import { Timeline } from './eb-timeline.js';
import { UpdateLifecycle } from './eb-update.js';
import { dockerProblem, processingProblem } from './eb-versions.js';
import type { S3Store } from './s3.js';

export {
  type Color,
  DEFAULT_EB_OPTIONS,
  type EbEnvironmentSpec,
  type EbOptions,
  type HealthStep,
  type Severity,
  type UpdateBehaviour,
} from './eb-model.js';
export { dockerProblem, processingProblem } from './eb-versions.js';

/**
 * Elastic Beanstalk (query protocol, 2010-12-01) as ebship sees it: applications, versions processed
 * from an S3 bundle, one environment per target whose behaviour after UpdateEnvironment comes from
 * the scenario (data), enhanced health, events with EB's own texts, and Describe* throttling.
 * State advances lazily from the simulated clock: whatever a Describe call observes is what EB
 * would show at that simulated instant.
 *
 * This file: the query API's dispatch, validation and state. The update lifecycle (UpdateEnvironment's
 * timeline, aborts, reverts, update faults) is in eb-update.ts, the model in eb-model.ts, Describe*
 * throttling in eb-throttle.ts, pending changes in eb-timeline.ts, health in eb-health.ts, events in
 * eb-events.ts, bundle checks in eb-versions.ts.
 */

export const EB_NAMESPACE = 'http://elasticbeanstalk.amazonaws.com/docs/2010-12-01/';

export class ElasticBeanstalk {
  readonly applications = new Map<string, { createdAt: Date; versions: Map<string, AppVersion> }>();
  readonly environments = new Map<string, Environment>();
  readonly events: EbEvent[] = [];
  /** Every call the stand-in answered, in order (for tests and the rehearsal's summary). */
  readonly calls: { action: string; input: JsonObject; at: number; error?: string }[] = [];
  private readonly throttle: DescribeThrottle;
  private instanceSeq = 0;
  logs?: EbLogs;

  constructor(
    private readonly clock: Clock,
    private readonly s3: S3Store,
    readonly options: EbOptions = DEFAULT_EB_OPTIONS,
    private readonly region = 'us-east-1',
    private readonly account = '123456789012',
    private readonly faults?: Faults,
  ) {
    this.throttle = new DescribeThrottle(clock, options.throttleRate, options.throttleBurst);
  }

  // ---------- provisioning (scenario data) ----------

  addApplication(name: string): void {
    if (!this.applications.has(name)) {
      this.applications.set(name, { createdAt: new Date(this.clock.now()), versions: new Map() });
    }
  }

  /** Registers an already-processed version (the known-good one the environment runs). */
  addVersion(application: string, label: string, bucket?: string, key?: string, description?: string): void {
    this.addApplication(application);
    const now = new Date(this.clock.now());
    this.app(application).versions.set(label, {
      application,
      label,
      description,
      bucket,
      key,
      status: 'Processed',
      createdAt: now,
      updatedAt: now,
    });
  }

  addEnvironment(spec: EbEnvironmentSpec): void {
    if (!this.applications.get(spec.application)?.versions.has(spec.versionLabel)) {
      this.addVersion(spec.application, spec.versionLabel);
    }
    const now = new Date(this.clock.now());
    const env: Environment = {
      spec,
      id: `e-${randomId(10)}`,
      status: 'Ready',
      versionLabel: spec.versionLabel,
      color: 'Green',
      healthStatus: 'Ok',
      causes: [],
      instances: [],
      createdAt: now,
      updatedAt: now,
      updates: 0,
      deployments: 1,
    };
    for (let i = 0; i < spec.instances; i++) {
      env.instances.push({
        id: `i-${(++this.instanceSeq).toString(16).padStart(17, '0')}`,
        launchedAt: now,
        versionLabel: spec.versionLabel,
        deploymentId: 1,
        deploymentStatus: 'Deployed',
        deploymentTime: now,
      });
    }
    this.environments.set(spec.environment, env);
  }

  /** The instance ids of an environment (SSM targets them by the EB environment tag). */
  instanceIds(environment: string): string[] {
    const env = this.environments.get(environment);
    if (!env) return [];
    this.settle();
    return env.instances.map((i) => i.id);
  }

  /**
   * The running instances of every environment with the EC2 tags EB puts on them ("Tagging
   * Elastic Beanstalk environments": elasticbeanstalk:environment-name and -id).
   */
  instanceTags(): { id: string; tags: Record<string, string>; instanceProfile?: string }[] {
    this.settle();
    return [...this.environments.values()]
      .filter((e) => e.status !== 'Terminated')
      .flatMap((e) =>
        e.instances.map((i) => ({
          id: i.id,
          tags: {
            'elasticbeanstalk:environment-name': e.spec.environment,
            'elasticbeanstalk:environment-id': e.id,
            Name: e.spec.environment,
          },
          instanceProfile: e.spec.optionSettings.find(
            (o) =>
              o.Namespace === 'aws:autoscaling:launchconfiguration' && o.OptionName === 'IamInstanceProfile',
          )?.Value,
        })),
      );
  }

  /** What the environment looks like now, for progress lines and tests. */
  snapshot(
    environment: string,
  ):
    | { status: string; color: Color; healthStatus: string; versionLabel: string; instanceVersions: string[] }
    | undefined {
    const env = this.environments.get(environment);
    if (!env) return undefined;
    this.settle();
    return {
      status: env.status,
      color: env.color,
      healthStatus: env.healthStatus,
      versionLabel: env.versionLabel,
      instanceVersions: env.instances.map((i) => i.versionLabel),
    };
  }

  // ---------- the query API ----------

  /**
   * Where EB's EventBridge events go ("Elastic Beanstalk resource status change", "Health status
   * change"); the World puts them on its bus.
   */
  onBusEvent?: (detailType: string, detail: JsonObject, resources: string[], at: number) => void;

  /** The request id of the call being answered (events it causes carry it). */
  private currentRequestId = requestId();

  handle(action: string, input: JsonObject, request: string = requestId()): unknown {
    const entry: (typeof this.calls)[number] = { action, input, at: this.clock.now() };
    this.calls.push(entry);
    this.currentRequestId = request;
    try {
      if (action.startsWith('Describe')) this.throttle.take();
      this.settle();
      return this.dispatch(action, input);
    } catch (err) {
      if (err instanceof ServiceError) entry.error = err.code;
      throw err;
    }
  }

  private dispatch(action: string, input: JsonObject): unknown {
    switch (action) {
      case 'CreateApplication':
        return this.createApplication(input);
      case 'DescribeApplications':
        return {
          Applications: [...this.applications.entries()].map(([name, a]) => ({
            ApplicationName: name,
            ApplicationArn: this.arn('application', name),
            DateCreated: a.createdAt,
            Versions: [...a.versions.keys()],
          })),
        };
      case 'CreateApplicationVersion':
        return this.createApplicationVersion(input);
      case 'DescribeApplicationVersions':
        return this.describeApplicationVersions(input);
      case 'DescribeEnvironments':
        return this.describeEnvironments(input);
      case 'UpdateEnvironment':
        return this.updateEnvironment(input);
      case 'AbortEnvironmentUpdate':
        return this.abortEnvironmentUpdate(input);
      case 'DescribeEnvironmentHealth':
        return this.describeEnvironmentHealth(input);
      case 'DescribeInstancesHealth':
        return this.describeInstancesHealth(input);
      case 'DescribeEvents':
        return this.describeEvents(input);
      case 'DescribeEnvironmentResources':
        return this.describeEnvironmentResources(input);
      case 'DescribeConfigurationSettings':
        return this.describeConfigurationSettings(input);
      case 'DescribePlatformVersion':
        return describePlatformVersion(input, this.region);
      case 'AssociateEnvironmentOperationsRole': {
        const env = this.env(input);
        env.operationsRole = requiredParam(input, 'OperationsRole');
        return {};
      }
      case 'DisassociateEnvironmentOperationsRole':
        this.env(input).operationsRole = undefined;
        return {};
      case 'RequestEnvironmentInfo':
      case 'RetrieveEnvironmentInfo':
        // Tail logs: standin/services/eb-logs.ts.
        this.logs ??= new EbLogs(this.clock, this.s3, this.region, this.account);
        return this.logs.handle(action, input, this.env(input), this.events);
      case 'DescribeAccountAttributes':
        return {
          ResourceQuotas: {
            ApplicationQuota: { Maximum: 75 },
            ApplicationVersionQuota: { Maximum: this.options.versionQuota },
            EnvironmentQuota: { Maximum: 200 },
            ConfigurationTemplateQuota: { Maximum: 2000 },
            CustomPlatformQuota: { Maximum: 50 },
          },
        };
      default:
        throw new ServiceError('InvalidAction', `The action ${action} is not valid for this web service.`);
    }
  }

  private createApplication(input: JsonObject): unknown {
    const name = requiredParam(input, 'ApplicationName');
    if (this.applications.has(name)) {
      throw new ServiceError('InvalidParameterValue', `Application ${name} already exists.`);
    }
    this.addApplication(name);
    return { Application: this.describeApplication(name) };
  }

  private describeApplication(name: string): JsonObject {
    const a = this.app(name);
    return {
      ApplicationName: name,
      ApplicationArn: this.arn('application', name),
      DateCreated: a.createdAt,
      DateUpdated: a.createdAt,
      Versions: [...a.versions.keys()],
    };
  }

  private createApplicationVersion(input: JsonObject): unknown {
    const application = requiredParam(input, 'ApplicationName');
    const label = requiredParam(input, 'VersionLabel');
    if (!this.applications.has(application)) {
      if (str(input, 'AutoCreateApplication') === 'true') this.addApplication(application);
      else throw new ServiceError('InvalidParameterValue', `No Application named '${application}' found.`);
    }
    if (label.length > 100 || label.includes('/')) {
      throw new ServiceError(
        'InvalidParameterValue',
        `Value '${label}' at 'versionLabel' failed to satisfy constraint: Member must have length less than or equal to 100 and must not contain '/'`,
      );
    }
    const app = this.app(application);
    if (app.versions.has(label)) {
      throw new ServiceError('InvalidParameterValue', `Application Version ${label} already exists.`);
    }
    const total = [...this.applications.values()].reduce((n, a) => n + a.versions.size, 0);
    if (total >= this.options.versionQuota) {
      throw new ServiceError(
        'TooManyApplicationVersionsException',
        `You cannot have more than ${this.options.versionQuota} Application Versions. Either remove some Application Versions or request a limit increase.`,
      );
    }
    const bundle = (input.SourceBundle ?? {}) as JsonObject;
    const bucket = str(bundle, 'S3Bucket');
    const key = str(bundle, 'S3Key');
    const object = bucket && key ? this.s3.get(bucket, key) : undefined;
    if (bucket && key && !object) {
      throw new ServiceError(
        'InvalidParameterCombination',
        `Unable to download from S3 location (Bucket: ${bucket}  Key: ${key}). Reason: Not Found`,
      );
    }
    const now = new Date(this.clock.now());
    const version: AppVersion = {
      application,
      label,
      description: str(input, 'Description'),
      bucket,
      key,
      status: str(input, 'Process') === 'true' ? 'Processing' : 'Unprocessed',
      createdAt: now,
      updatedAt: now,
    };
    app.versions.set(label, version);
    if (version.status === 'Processing') {
      // Processing validates the bundle after the call returns: pollers see Processing first.
      const problem = object ? processingProblem(object.body) : undefined;
      const at = this.clock.now() + this.options.processSeconds * 1000;
      this.schedule(at, () => {
        version.status = problem ? 'Failed' : 'Processed';
        version.updatedAt = new Date(at);
        if (problem) {
          this.event(
            application,
            undefined,
            label,
            'ERROR',
            `Failed to process application version ${label}: ${problem}`,
            at,
          );
        }
      });
    }
    return { ApplicationVersion: this.describeVersion(version) };
  }

  private describeVersion(v: AppVersion): JsonObject {
    return {
      ApplicationVersionArn: this.arn('applicationversion', `${v.application}/${v.label}`),
      ApplicationName: v.application,
      Description: v.description,
      VersionLabel: v.label,
      SourceBundle: v.bucket ? { S3Bucket: v.bucket, S3Key: v.key } : undefined,
      DateCreated: v.createdAt,
      DateUpdated: v.updatedAt,
      Status: v.status,
    };
  }

  private describeApplicationVersions(input: JsonObject): unknown {
    this.settle();
    const application = str(input, 'ApplicationName');
    const labels = strList(input, 'VersionLabels');
    const versions = [...this.applications.entries()]
      .filter(([name]) => !application || name === application)
      .flatMap(([, a]) => [...a.versions.values()])
      .filter((v) => labels.length === 0 || labels.includes(v.label))
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
    const { page, next } = pageOf(versions, str(input, 'NextToken'), int(input, 'MaxRecords') ?? 1000);
    return { ApplicationVersions: page.map((v) => this.describeVersion(v)), NextToken: next };
  }

  private describeEnvironments(input: JsonObject): unknown {
    const application = str(input, 'ApplicationName');
    const names = strList(input, 'EnvironmentNames');
    const ids = strList(input, 'EnvironmentIds');
    const envs = [...this.environments.values()].filter(
      (e) =>
        (!application || e.spec.application === application) &&
        (names.length === 0 || names.includes(e.spec.environment)) &&
        (ids.length === 0 || ids.includes(e.id)),
    );
    return { Environments: envs.map((e) => this.describeEnvironment(e)) };
  }

  private describeEnvironment(e: Environment): JsonObject {
    return {
      EnvironmentName: e.spec.environment,
      EnvironmentId: e.id,
      ApplicationName: e.spec.application,
      VersionLabel: e.versionLabel,
      SolutionStackName: e.spec.solutionStackName,
      PlatformArn: e.spec.platformArn,
      EndpointURL: `${e.spec.environment}.${this.region}.elasticbeanstalk.com`,
      CNAME: `${e.spec.environment}.${this.region}.elasticbeanstalk.com`,
      DateCreated: e.createdAt,
      DateUpdated: e.updatedAt,
      Status: e.status,
      AbortableOperationInProgress: e.status === 'Updating',
      Health: e.color,
      HealthStatus: e.healthStatus,
      Tier: { Name: 'WebServer', Type: 'Standard', Version: '1.0' },
      EnvironmentArn: this.arn('environment', `${e.spec.application}/${e.spec.environment}`),
      OperationsRole: e.operationsRole,
    };
  }

  private updateEnvironment(input: JsonObject): unknown {
    const env = this.env(input);
    const label = str(input, 'VersionLabel');
    const options = input.OptionSettings;
    if (label && Array.isArray(options) && options.length > 0) {
      throw new ServiceError(
        'InvalidParameterCombination',
        'You cannot update the application version and the configuration of an environment at the same time.',
      );
    }
    if (env.status !== 'Ready') {
      throw new ServiceError(
        'InvalidParameterValue',
        `Environment named ${env.spec.environment} is in an invalid state for this operation. Must be Ready.`,
      );
    }
    if (label) {
      const version = this.app(env.spec.application).versions.get(label);
      if (!version)
        throw new ServiceError('InvalidParameterValue', `No Application Version named '${label}' found.`);
      if (version.status === 'Failed' || version.status === 'Processing') {
        throw new ServiceError(
          'InvalidParameterValue',
          `Application version ${label} is in ${version.status} state and cannot be deployed.`,
        );
      }
      this.lifecycle.update(env, label, this.currentRequestId, this.faults?.onUpdate(env.spec.environment));
    }
    // AWS answers with the environment as the update left it: the NEW VersionLabel, Status Updating
    // (the UpdateEnvironment example in the EB API reference / botocore examples-1.json).
    return this.describeEnvironment(env);
  }

  private abortEnvironmentUpdate(input: JsonObject): unknown {
    const env = this.env(input);
    if (env.status !== 'Updating') {
      throw new ServiceError(
        'InvalidParameterValue',
        `Environment named ${env.spec.environment} is in an invalid state for this operation. Must be Updating.`,
      );
    }
    this.lifecycle.abort(env, this.currentRequestId);
    return {};
  }

  /** The Docker problem of a version's bundle, if its bundle is in S3 and has one. */
  private dockerProblemOf(application: string, label: string): string | undefined {
    const version = this.applications.get(application)?.versions.get(label);
    const object = version?.bucket && version.key ? this.s3.get(version.bucket, version.key) : undefined;
    return object ? dockerProblem(object.body) : undefined;
  }

  private describeEnvironmentHealth(input: JsonObject): unknown {
    return describeEnvironmentHealth(this.env(input), input, this.clock.now());
  }

  private describeInstancesHealth(input: JsonObject): unknown {
    return describeInstancesHealth(this.env(input), input, this.clock.now(), {
      region: this.region,
      pageSize: this.options.instancesPageSize,
    });
  }

  private describeEvents(input: JsonObject): unknown {
    this.settle();
    return matchingEvents(this.events, input);
  }

  private describeEnvironmentResources(input: JsonObject): unknown {
    const env = this.env(input);
    const name = env.spec.environment;
    return {
      EnvironmentResources: {
        EnvironmentName: name,
        AutoScalingGroups: [{ Name: `awseb-${env.id}-stack-AWSEBAutoScalingGroup-${randomId(12)}` }],
        Instances: env.instances.map((i) => ({ Id: i.id })),
        LaunchConfigurations: [],
        LaunchTemplates: [{ Id: `lt-${randomId(17)}` }],
        LoadBalancers: [],
        Triggers: [],
        Queues: [],
      },
    };
  }

  private describeConfigurationSettings(input: JsonObject): unknown {
    const application = requiredParam(input, 'ApplicationName');
    const environment = str(input, 'EnvironmentName');
    const env = environment ? this.environments.get(environment) : undefined;
    if (!env || env.spec.application !== application) {
      throw new ServiceError(
        'InvalidParameterValue',
        `No Environment found for EnvironmentName = '${environment}'.`,
      );
    }
    return {
      ConfigurationSettings: [
        {
          SolutionStackName: env.spec.solutionStackName,
          PlatformArn: env.spec.platformArn,
          ApplicationName: application,
          EnvironmentName: env.spec.environment,
          DeploymentStatus: 'deployed',
          DateCreated: env.createdAt,
          DateUpdated: env.updatedAt,
          OptionSettings: env.spec.optionSettings.map((o) => ({ ...o })),
        },
      ],
    };
  }

  // ---------- internals ----------

  private env(input: JsonObject): Environment {
    const name = str(input, 'EnvironmentName');
    const id = str(input, 'EnvironmentId');
    const env = name ? this.environments.get(name) : [...this.environments.values()].find((e) => e.id === id);
    if (!env) {
      throw new ServiceError(
        'InvalidParameterValue',
        `No Environment found for EnvironmentName = '${name ?? id ?? ''}'.`,
      );
    }
    this.settle();
    // A terminated environment is still listed by DescribeEnvironments for a while, but nothing
    // else can address it.
    if (env.status === 'Terminated') {
      throw new ServiceError(
        'InvalidParameterValue',
        `No Environment found for EnvironmentName = '${env.spec.environment}'.`,
      );
    }
    return env;
  }

  private app(name: string): { createdAt: Date; versions: Map<string, AppVersion> } {
    const app = this.applications.get(name);
    if (!app) throw new ServiceError('InvalidParameterValue', `No Application named '${name}' found.`);
    return app;
  }

  /** Pending changes, applied when the simulated clock reaches them. */
  private readonly timeline = new Timeline();

  /** UpdateEnvironment's timeline, aborts and update faults (eb-update.ts). */
  private readonly lifecycle = new UpdateLifecycle({
    now: () => this.clock.now(),
    schedule: (at, apply, env) => this.schedule(at, apply, env),
    cancel: (environment) => this.timeline.cancel(environment),
    event: (...args) => this.event(...args),
    hasVersion: (application, label) => this.app(application).versions.has(label),
    addVersion: (application, label) => this.addVersion(application, label),
    dockerProblemOf: (application, label) => this.dockerProblemOf(application, label),
  });

  private schedule(at: number, apply: () => void, env?: Environment): void {
    this.timeline.add(at, apply, env?.spec.environment);
    // EB moves on by itself, not only when asked: a change applies when the clock reaches it, so the
    // EventBridge events it sends (eb-events.ts) go out then, not at the next Describe call.
    void this.clock.sleep(at - this.clock.now()).then(() => this.settle());
  }

  private settle(): void {
    this.timeline.settle(this.clock.now());
  }

  private event(
    application: string,
    environment: string | undefined,
    versionLabel: string | undefined,
    severity: Severity,
    message: string,
    at: number,
    request = requestId(),
  ): void {
    const bus = environment ? busEventOf(message) : undefined;
    if (bus && this.onBusEvent) {
      this.onBusEvent(
        bus.detailType,
        {
          Status: bus.status,
          EventDate: at,
          ApplicationName: application,
          Message: message,
          EnvironmentName: environment,
          Severity: severity,
        },
        [this.arn('environment', `${application}/${environment}`)],
        at,
      );
    }
    this.events.push({
      seq: this.events.length,
      date: new Date(at),
      message,
      severity,
      application,
      environment,
      versionLabel,
      requestId: request,
    });
  }

  private arn(kind: string, name: string): string {
    return `arn:aws:elasticbeanstalk:${this.region}:${this.account}:${kind}/${name}`;
  }
}

function requiredParam(input: JsonObject, key: string): string {
  const v = str(input, key);
  if (!v) throw new ServiceError('MissingParameter', `The request must contain the parameter ${key}.`);
  return v;
}

function randomId(length: number): string {
  let out = '';
  while (out.length < length) out += Math.random().toString(36).slice(2);
  return out.slice(0, length);
}
