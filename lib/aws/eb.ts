import {
  AbortEnvironmentUpdateCommand,
  CreateApplicationVersionCommand,
  DescribeApplicationVersionsCommand,
  DescribeEnvironmentHealthCommand,
  DescribeEnvironmentsCommand,
  DescribeEventsCommand,
  DescribeInstancesHealthCommand,
  type ElasticBeanstalkClient,
  type EnvironmentDescription,
  type SingleInstanceHealth,
  UpdateEnvironmentCommand,
} from '@aws-sdk/client-elastic-beanstalk';
import { EnvironmentNotFound } from '../errors.js';
import type { HealthSnapshot, InstanceSnapshot } from '../health/verdict.js';
import { maskAppText } from '../text/mask.js';

export interface EnvRef {
  application: string;
  environment: string;
}

/** The live (not terminated) environment, or EnvironmentNotFound saying how to fix the target. */
export async function getEnvironment(
  client: ElasticBeanstalkClient,
  ref: EnvRef,
): Promise<EnvironmentDescription> {
  const out = await client.send(
    new DescribeEnvironmentsCommand({
      ApplicationName: ref.application,
      EnvironmentNames: [ref.environment],
      IncludeDeleted: false,
    }),
  );
  const env = out.Environments?.find((e) => e.Status !== 'Terminated');
  if (!env) {
    throw new EnvironmentNotFound(
      `EB environment ${ref.environment} of application ${ref.application} does not exist or is terminated; fix application/environment in ebship.yml`,
    );
  }
  return env;
}

export interface VersionInfo {
  label: string;
  /** Lower-cased: the EB API model lists Processed, some answers say PROCESSED (ApplicationVersionStatus). */
  status: string;
  description?: string;
}

export async function findVersion(
  client: ElasticBeanstalkClient,
  application: string,
  label: string,
): Promise<VersionInfo | undefined> {
  const out = await client.send(
    new DescribeApplicationVersionsCommand({ ApplicationName: application, VersionLabels: [label] }),
  );
  const v = out.ApplicationVersions?.[0];
  if (!v?.VersionLabel) return undefined;
  return {
    label: v.VersionLabel,
    status: (v.Status ?? 'unprocessed').toLowerCase(),
    description: v.Description,
  };
}

/**
 * Creates the version with Process=true, so EB validates the bundle's .ebextensions before any
 * environment sees it. A version that already exists with this label is reused, not an error:
 * labels are derived from the digest, so the same label is the same image.
 */
export async function createVersion(
  client: ElasticBeanstalkClient,
  v: { application: string; label: string; description: string; bucket: string; key: string },
): Promise<{ info: VersionInfo; reused: boolean }> {
  const existing = await findVersion(client, v.application, v.label);
  if (existing) return { info: existing, reused: true };
  try {
    const out = await client.send(
      new CreateApplicationVersionCommand({
        ApplicationName: v.application,
        VersionLabel: v.label,
        Description: v.description,
        SourceBundle: { S3Bucket: v.bucket, S3Key: v.key },
        Process: true,
        AutoCreateApplication: false,
      }),
    );
    const d = out.ApplicationVersion;
    return {
      info: {
        label: v.label,
        status: (d?.Status ?? 'processing').toLowerCase(),
        description: d?.Description,
      },
      reused: false,
    };
  } catch (err) {
    // Two executions racing on the same digest: the loser reuses the winner's version.
    if ((err as Error).name === 'InvalidParameterValue' && /already exists/i.test((err as Error).message)) {
      const raced = await findVersion(client, v.application, v.label);
      if (raced) return { info: raced, reused: true };
    }
    throw err;
  }
}

/**
 * Asks EB to point the environment at a version, once. Errors are EB's (or the network's) as they
 * are: only the caller, which looks at the environment afterwards, can tell what they mean.
 */
export async function requestUpdate(
  client: ElasticBeanstalkClient,
  ref: EnvRef,
  label: string,
): Promise<{ startedAt: string }> {
  const out = await client.send(
    new UpdateEnvironmentCommand({
      ApplicationName: ref.application,
      EnvironmentName: ref.environment,
      VersionLabel: label,
    }),
  );
  return { startedAt: (out.DateUpdated ?? new Date()).toISOString() };
}

/** EB's refusal of an update while another runs: "... invalid state for this operation. Must be Ready." */
export function isMustBeReady(err: unknown): boolean {
  const e = err as Error;
  return e?.name === 'InvalidParameterValue' && /Must be Ready/i.test(e.message ?? '');
}

export interface EbEvent {
  date: string;
  severity: string;
  message: string;
}

/** The environment's events since `since`, oldest first (DescribeEvents answers newest first). */
export async function eventsSince(
  client: ElasticBeanstalkClient,
  ref: EnvRef,
  since: string,
): Promise<EbEvent[]> {
  const out = await client.send(
    new DescribeEventsCommand({
      ApplicationName: ref.application,
      EnvironmentName: ref.environment,
      StartTime: new Date(since),
      MaxRecords: 100,
    }),
  );
  return (out.Events ?? [])
    .map((e) => ({
      date: (e.EventDate ?? new Date(0)).toISOString(),
      severity: e.Severity ?? 'INFO',
      // Event texts can quote the application (a failing command's output): masked before state.
      message: maskAppText(e.Message ?? ''),
    }))
    .sort((a, b) => a.date.localeCompare(b.date));
}

export async function abortUpdate(client: ElasticBeanstalkClient, ref: EnvRef): Promise<boolean> {
  const env = await getEnvironment(client, ref);
  if (env.Status !== 'Updating') return false;
  await client.send(new AbortEnvironmentUpdateCommand({ EnvironmentName: ref.environment }));
  return true;
}

/**
 * Operational statuses during which no verdict is taken. DescribeEnvironmentHealth documents Status as
 * the operational status (Ready, Updating, ...) but the API model types it as a colour: anything not
 * listed here, a colour included, gets the full look, so a model change cannot stall the watch.
 */
export const IN_PROGRESS = new Set(['Launching', 'Updating', 'Aborting', 'LinkingFrom', 'LinkingTo']);

/**
 * One health look. EB throttles Describe* at about 2 calls/s per account (AWS Support, quoted in aws/aws-cli issues), and every
 * environment ebship watches polls at once, so a look costs as few calls as the verdict needs: while
 * the environment is Updating, enhanced health (which carries Status) and the events; once it is
 * Ready (or on basic health), also the environment's version label and every instance (paged).
 */
export async function healthSnapshot(
  client: ElasticBeanstalkClient,
  ref: EnvRef,
  since: string,
): Promise<HealthSnapshot> {
  const [health, events] = await Promise.all([
    enhancedHealth(client, ref.environment),
    eventsSince(client, ref, since),
  ]);
  const base = { causes: health?.causes ?? [], events };
  if (health?.status && IN_PROGRESS.has(health.status)) {
    return {
      ...base,
      now: (health.refreshedAt ?? new Date()).toISOString(),
      status: health.status,
      color: health.color,
      healthStatus: health.healthStatus,
      instances: [],
    };
  }
  const [env, instances] = await Promise.all([
    getEnvironment(client, ref),
    health ? instancesHealth(client, ref.environment) : [],
  ]);
  return {
    ...base,
    now: (health?.refreshedAt ?? new Date()).toISOString(),
    status: env.Status ?? health?.status ?? 'Unknown',
    color: health?.color ?? env.Health,
    healthStatus: health?.healthStatus ?? env.HealthStatus,
    versionLabel: env.VersionLabel,
    instances,
  };
}

/** The environment's health causes (DescribeEnvironmentHealth); [] on basic health. */
export async function environmentCauses(
  client: ElasticBeanstalkClient,
  environment: string,
): Promise<string[]> {
  return (await enhancedHealth(client, environment))?.causes ?? [];
}

async function enhancedHealth(client: ElasticBeanstalkClient, environment: string) {
  try {
    const h = await client.send(
      new DescribeEnvironmentHealthCommand({ EnvironmentName: environment, AttributeNames: ['All'] }),
    );
    return {
      status: h.Status as string | undefined,
      color: h.Color,
      healthStatus: h.HealthStatus,
      causes: (h.Causes ?? []).map(maskAppText),
      refreshedAt: h.RefreshedAt,
    };
  } catch (err) {
    // Basic health only: preflight warns about it; fall back to the environment's colour.
    if ((err as Error).name === 'InvalidRequestException') return undefined;
    throw err;
  }
}

/** Every instance's enhanced health and deployment (DescribeInstancesHealth); [] without enhanced health. */
export async function instancesHealth(
  client: ElasticBeanstalkClient,
  environment: string,
): Promise<InstanceSnapshot[]> {
  const all: SingleInstanceHealth[] = [];
  let token: string | undefined;
  do {
    try {
      const out = await client.send(
        new DescribeInstancesHealthCommand({
          EnvironmentName: environment,
          AttributeNames: ['All'],
          NextToken: token,
        }),
      );
      all.push(...(out.InstanceHealthList ?? []));
      token = out.NextToken;
    } catch (err) {
      if ((err as Error).name === 'InvalidRequestException') return [];
      throw err;
    }
  } while (token);
  return all.map((i) => ({
    id: i.InstanceId ?? 'unknown',
    healthStatus: i.HealthStatus,
    color: i.Color,
    versionLabel: i.Deployment?.VersionLabel,
    deploymentStatus: i.Deployment?.Status,
    causes: (i.Causes ?? []).map((c) => `${i.InstanceId}: ${maskAppText(c)}`),
  }));
}
