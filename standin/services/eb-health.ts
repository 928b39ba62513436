import { type JsonObject, pageOf, str, strList } from '../protocol.js';
import type { Color, Environment, Instance } from './eb-model.js';

/** Enhanced health as EB reports it: statuses by severity, and the attributes a caller asked for. */

/** Keeps a value only if AttributeNames asks for it (or for All). */
export function attributePicker(input: JsonObject): (name: string, value: unknown) => unknown {
  const wanted = strList(input, 'AttributeNames');
  const all = wanted.includes('All');
  return (name, value) => (all || wanted.includes(name) ? value : undefined);
}

export function rank(healthStatus: string): number {
  return ['Ok', 'Info', 'Pending', 'Unknown', 'NoData', 'Suspended', 'Warning', 'Degraded', 'Severe'].indexOf(
    healthStatus,
  );
}

/** DescribeEnvironmentHealth's answer for an environment at simulated time `now`. */
export function describeEnvironmentHealth(env: Environment, input: JsonObject, now: number): JsonObject {
  // Only the attributes asked for; "All" for all, none: just the environment's name (EB API
  // reference, DescribeEnvironmentHealth AttributeNames).
  const pick = attributePicker(input);
  const counts: Record<string, number> = {
    NoData: 0,
    Unknown: 0,
    Pending: 0,
    Ok: 0,
    Info: 0,
    Warning: 0,
    Degraded: 0,
    Severe: 0,
  };
  for (const i of env.instances) {
    const s = instanceHealth(env, i).healthStatus;
    counts[s] = (counts[s] ?? 0) + 1;
  }
  return {
    EnvironmentName: env.spec.environment,
    HealthStatus: pick('HealthStatus', env.healthStatus),
    Status: pick('Status', env.status),
    Color: pick('Color', env.color),
    Causes: pick('Causes', env.causes),
    ApplicationMetrics: pick('ApplicationMetrics', metrics(env)),
    InstancesHealth: pick('InstancesHealth', counts),
    RefreshedAt: pick('RefreshedAt', new Date(now)),
  };
}

/** DescribeInstancesHealth's answer (one page) for an environment at simulated time `now`. */
export function describeInstancesHealth(
  env: Environment,
  input: JsonObject,
  now: number,
  options: { region: string; pageSize: number },
): JsonObject {
  const { page, next } = pageOf(env.instances, str(input, 'NextToken'), options.pageSize);
  // Only the attributes asked for; "All" for all, none: just the instance ids (EB API reference,
  // DescribeInstancesHealth AttributeNames).
  const pick = attributePicker(input);
  return {
    InstanceHealthList: page.map((i) => {
      const h = instanceHealth(env, i);
      return {
        InstanceId: i.id,
        HealthStatus: pick('HealthStatus', h.healthStatus),
        Color: pick('Color', h.color),
        Causes: pick('Causes', h.causes),
        LaunchedAt: pick('LaunchedAt', i.launchedAt),
        ApplicationMetrics: pick('ApplicationMetrics', metrics(env)),
        Deployment: pick('Deployment', {
          VersionLabel: i.versionLabel,
          DeploymentId: i.deploymentId,
          Status: i.deploymentStatus,
          DeploymentTime: i.deploymentTime,
        }),
        AvailabilityZone: pick('AvailabilityZone', `${options.region}a`),
        InstanceType: pick('InstanceType', 't3.large'),
      };
    }),
    RefreshedAt: pick('RefreshedAt', new Date(now)),
    NextToken: next,
  };
}

/** An instance's health: its environment's, unless its deployment failed. */
function instanceHealth(
  env: Environment,
  i: Instance,
): { color: Color; healthStatus: string; causes: string[] } {
  if (i.deploymentStatus === 'Failed') {
    return {
      color: 'Red',
      healthStatus: 'Degraded',
      causes: ['Application deployment failed on this instance.'],
    };
  }
  return { color: env.color, healthStatus: env.healthStatus, causes: env.causes };
}

function metrics(env: Environment): JsonObject {
  const failing = env.color === 'Red' ? 60 : 0;
  return {
    Duration: 10,
    RequestCount: 120,
    StatusCodes: { Status2xx: 120 - failing, Status3xx: 0, Status4xx: 0, Status5xx: failing },
  };
}
