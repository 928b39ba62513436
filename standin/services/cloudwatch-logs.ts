import type { Clock } from '../clock.js';
import { type JsonObject, ServiceError, str, strList } from '../protocol.js';
import type { EbLogs } from './eb-logs.js';
import type { EbEvent, Environment } from './eb-model.js';

/**
 * CloudWatch Logs (JSON 1.1, `Logs_20140328.*`; botocore's logs service-2.json) as EB's instance log
 * streaming fills it (EB developer guide, "Using Elastic Beanstalk with Amazon CloudWatch Logs"):
 * for an environment whose `aws:elasticbeanstalk:cloudwatch:logs` StreamLogs option is true, one log
 * group per streamed file, `/aws/elasticbeanstalk/<environment><file>`, and one stream per instance
 * named by its instance id. The lines are the ones the instance's files hold (eb-logs.ts): on the
 * Docker platform the current container's output streams as
 * `/var/log/eb-docker/containers/eb-current-app/stdouterr.log`, every version's output in turn, as one
 * file across deploys on the instance.
 *
 * Answers GetLogEvents, FilterLogEvents and DescribeLogStreams; a group or stream that does not
 * exist is ResourceNotFoundException, as in the API reference.
 */
const DOCKER_APP = '/var/log/eb-docker/containers/eb-current-app/stdouterr.log';
const PREFIX = '/aws/elasticbeanstalk/';

export interface StreamingWorld {
  environment(name: string): Environment | undefined;
  events(): readonly EbEvent[];
  logs(): EbLogs;
}

export class CloudWatchLogs {
  constructor(
    private readonly clock: Clock,
    private readonly world: StreamingWorld,
  ) {}

  handle(operation: string, input: JsonObject): unknown {
    switch (operation) {
      case 'GetLogEvents':
        return this.getLogEvents(input);
      case 'FilterLogEvents':
        return this.filterLogEvents(input);
      case 'DescribeLogStreams':
        return this.describeLogStreams(input);
      default:
        throw new ServiceError('UnknownOperationException', `Unknown operation ${operation}`);
    }
  }

  private getLogEvents(input: JsonObject): unknown {
    const group = this.group(str(input, 'logGroupName') ?? '');
    const stream = str(input, 'logStreamName') ?? '';
    if (!group.env.instances.some((i) => i.id === stream))
      throw new ServiceError('ResourceNotFoundException', 'The specified log stream does not exist.');
    const events = this.eventsOf(group, stream);
    // Without a token, startFromHead false (the default) reads the newest events (API reference).
    const limit = typeof input.limit === 'number' ? input.limit : 10_000;
    const page = input.startFromHead === true ? events.slice(0, limit) : events.slice(-limit);
    return {
      events: page,
      nextForwardToken: `f/${events.length}`,
      nextBackwardToken: `b/${Math.max(0, events.length - page.length)}`,
    };
  }

  private filterLogEvents(input: JsonObject): unknown {
    const group = this.group(str(input, 'logGroupName') ?? '');
    const wanted = strList(input, 'logStreamNames');
    const pattern = str(input, 'filterPattern')?.replace(/^"|"$/g, '');
    const limit = typeof input.limit === 'number' ? input.limit : 10_000;
    const events = group.env.instances
      .filter((i) => wanted.length === 0 || wanted.includes(i.id))
      .flatMap((i) => this.eventsOf(group, i.id).map((e) => ({ ...e, logStreamName: i.id })))
      .filter((e) => !pattern || e.message.includes(pattern))
      .sort((a, b) => a.timestamp - b.timestamp);
    return { events: events.slice(0, limit), searchedLogStreams: [] };
  }

  private describeLogStreams(input: JsonObject): unknown {
    const group = this.group(str(input, 'logGroupName') ?? '');
    const prefix = str(input, 'logStreamNamePrefix') ?? '';
    return {
      logStreams: group.env.instances
        .filter((i) => i.id.startsWith(prefix))
        .map((i) => ({ logStreamName: i.id, creationTime: group.env.createdAt.getTime() })),
    };
  }

  /** The environment and file a group name stands for, if that environment streams that file. */
  private group(name: string): { env: Environment; file: string } {
    const missing = () =>
      new ServiceError('ResourceNotFoundException', 'The specified log group does not exist.');
    if (!name.startsWith(PREFIX)) throw missing();
    const rest = name.slice(PREFIX.length);
    const slash = rest.indexOf('/');
    const env = this.world.environment(rest.slice(0, slash));
    if (!env || slash < 0) throw missing();
    const streams = env.spec.optionSettings.some(
      (o) =>
        o.Namespace === 'aws:elasticbeanstalk:cloudwatch:logs' &&
        o.OptionName === 'StreamLogs' &&
        o.Value.toLowerCase() === 'true',
    );
    const file = rest.slice(slash);
    const docker = !/ECS/.test(env.spec.platformArn);
    const streamed = file === '/var/log/eb-engine.log' || (docker && file === DOCKER_APP);
    if (!streams || !streamed) throw missing();
    return { env, file };
  }

  private eventsOf(
    group: { env: Environment; file: string },
    instanceId: string,
  ): { timestamp: number; message: string; ingestionTime: number }[] {
    const now = this.clock.now();
    const files = this.world.logs().filesOf(group.env, instanceId, this.world.events(), now);
    const lines =
      group.file === DOCKER_APP
        ? files.filter(([path]) => path.startsWith('/var/log/containers/')).flatMap(([, l]) => l)
        : (files.find(([path]) => path === group.file)?.[1] ?? []);
    return lines.map((message, n) => ({ timestamp: now - (lines.length - n), message, ingestionTime: now }));
  }
}
