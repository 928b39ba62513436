import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeEnvironmentsCommand,
  DescribeInstancesHealthCommand,
  type ElasticBeanstalkClient,
  RequestEnvironmentInfoCommand,
  RetrieveEnvironmentInfoCommand,
} from '@aws-sdk/client-elastic-beanstalk';
import { lastLines, streamingOf } from '../aws/log-groups.js';
import {
  capTail,
  capTails,
  type Diagnostics,
  type InstanceLogTail,
  type InstanceVersion,
  TAIL_MAX_LINES,
} from './diagnostics.js';

/**
 * The last lines each instance's application printed, for the alert, the history and `ebship
 * follow`/`ebship logs`, the way `eb logs` gets them (EB API reference, RequestEnvironmentInfo and
 * RetrieveEnvironmentInfo):
 * - RequestEnvironmentInfo InfoType=tail asks every instance for the last 100 lines of each log file;
 * - the instances upload them to S3 a few seconds later; RetrieveEnvironmentInfo then lists one
 *   EnvironmentInfoDescription per instance (Ec2InstanceId, SampleTimestamp) whose Message is a
 *   presigned S3 URL of the text, kept 15 minutes.
 * So the state machine requests, waits (a Wait state: free, unlike a sleeping Lambda) and retrieves
 * until every instance answered with a sample newer than the request, or its polls are spent.
 */
export interface EnvRef {
  application: string;
  environment: string;
}

export const FIRST_POLL_SECONDS = 15;
export const MAX_POLLS = 4;
/** EB keeps a tail's files 15 minutes; a sample older than the request is someone else's. */
const FETCH_TIMEOUT_MS = 5_000;
const FETCH_MAX_BYTES = 2_000_000;

/** Instances and the version each runs (DescribeInstancesHealth, Deployment): partial deploys show here. */
export async function instanceVersions(eb: ElasticBeanstalkClient, env: EnvRef): Promise<InstanceVersion[]> {
  const out = await eb.send(
    new DescribeInstancesHealthCommand({
      EnvironmentName: env.environment,
      AttributeNames: ['Deployment', 'Color', 'HealthStatus'],
    }),
  );
  return (out.InstanceHealthList ?? []).flatMap((i) =>
    i.InstanceId
      ? [
          {
            instanceId: i.InstanceId,
            ...(i.Deployment?.VersionLabel ? { versionLabel: i.Deployment.VersionLabel } : {}),
            ...(i.Deployment?.Status ? { deploymentStatus: i.Deployment.Status } : {}),
            ...(i.Color ? { color: i.Color } : {}),
          },
        ]
      : [],
  );
}

/** `eb`: EB tail logs; `cloudwatch`: CloudWatch Logs; `auto`: CloudWatch Logs when the environment streams there. */
export type TailSource = 'eb' | 'cloudwatch' | 'auto';

/** CloudWatch Logs has the lines already; a few seconds let the agent ship the very last ones. */
export const CLOUDWATCH_WAIT_SECONDS = 5;
/** Instances whose CloudWatch streams are read: the failing ones first (each read is one call per group). */
export const CLOUDWATCH_MAX_INSTANCES = 5;

/**
 * Starts a tail and notes what the alert needs meanwhile: the environment id, the instances. When the
 * environment streams its logs to CloudWatch Logs (or `source` says so), the tail will come from
 * there and nothing is asked of the instances; otherwise EB is asked for its tail logs.
 */
export async function requestTail(
  eb: ElasticBeanstalkClient,
  env: EnvRef,
  now: Date,
  source: TailSource = 'auto',
): Promise<Diagnostics> {
  const described = await eb.send(
    new DescribeEnvironmentsCommand({
      ApplicationName: env.application,
      EnvironmentNames: [env.environment],
    }),
  );
  const environmentId = described.Environments?.[0]?.EnvironmentId;
  const instances = await instanceVersions(eb, env).catch(() => []);
  const base = {
    ...(environmentId ? { environmentId } : {}),
    requestedAt: now.toISOString(),
    polls: 0,
    maxPolls: MAX_POLLS,
    done: false,
    instances,
    logTails: [],
  };
  if (source !== 'eb') {
    // A failed read of the settings is no reason to lose the tail: EB's tail logs still work.
    const streaming = await streamingOf(eb, env).catch(() => undefined);
    if (source === 'cloudwatch' || streaming?.streams) {
      return {
        ...base,
        source: 'cloudwatch',
        logGroups: streaming?.logGroups ?? [],
        nextPollSeconds: CLOUDWATCH_WAIT_SECONDS,
        ...(streaming && !streaming.streams
          ? { note: `${env.environment} does not stream its logs to CloudWatch Logs (StreamLogs is off)` }
          : {}),
      };
    }
  }
  await eb.send(new RequestEnvironmentInfoCommand({ EnvironmentName: env.environment, InfoType: 'tail' }));
  return {
    ...base,
    source: 'eb',
    nextPollSeconds: FIRST_POLL_SECONDS,
  };
}

/**
 * One poll: the tails of the instances that answered since the request, masked and capped. Done
 * when every instance known at the request answered, or the last poll was spent (then the note says
 * which instances did not answer).
 */
export async function retrieveTail(
  eb: ElasticBeanstalkClient,
  env: EnvRef,
  previous: Diagnostics,
  fetchText: (url: string) => Promise<string> = fetchPresigned,
  logs?: CloudWatchLogsClient,
): Promise<Diagnostics> {
  if (previous.source === 'cloudwatch') {
    if (!logs) throw new Error('a CloudWatch Logs tail needs a CloudWatch Logs client');
    return cloudWatchTail(logs, previous);
  }
  const polls = previous.polls + 1;
  const since = Date.parse(previous.requestedAt ?? '') || 0;
  const out = await eb.send(
    new RetrieveEnvironmentInfoCommand({ EnvironmentName: env.environment, InfoType: 'tail' }),
  );
  const latest = new Map<string, { url: string; at: number }>();
  for (const info of out.EnvironmentInfo ?? []) {
    const at = info.SampleTimestamp ? new Date(info.SampleTimestamp).getTime() : 0;
    if (!info.Ec2InstanceId || !info.Message || at < since) continue;
    const seen = latest.get(info.Ec2InstanceId);
    if (!seen || seen.at < at) latest.set(info.Ec2InstanceId, { url: info.Message, at });
  }
  const expected = previous.instances.map((i) => i.instanceId);
  const answered = [...latest.keys()];
  const missing = expected.filter((id) => !latest.has(id));
  const done = (answered.length > 0 && missing.length === 0) || polls >= previous.maxPolls;
  if (!done) return { ...previous, polls };

  const tails: InstanceLogTail[] = [];
  const failed: string[] = [];
  for (const [instanceId, { url }] of latest) {
    try {
      tails.push({ instanceId, ...appLines(await fetchText(url)) });
    } catch {
      failed.push(instanceId);
    }
  }
  tails.sort((a, b) => failingFirst(previous, a.instanceId) - failingFirst(previous, b.instanceId));
  const notes = [
    ...(missing.length > 0 ? [`no tail from ${missing.join(', ')} within ${polls} polls`] : []),
    ...(failed.length > 0 ? [`could not download the tail of ${failed.join(', ')}`] : []),
  ];
  return {
    ...previous,
    polls,
    done: true,
    logTails: capTails(tails),
    ...(notes.length > 0 ? { note: `${notes.join('; ')}.` } : {}),
  };
}

/** The instances that did not deploy the new version, or are unhealthy, first: they are why. */
function failingFirst(d: Diagnostics, id: string): number {
  const i = d.instances.find((x) => x.instanceId === id);
  return i?.color === 'Red' || i?.deploymentStatus === 'Failed' ? 0 : 1;
}

/**
 * The tail from CloudWatch Logs: for each instance (the failing ones first, at most
 * CLOUDWATCH_MAX_INSTANCES), its stream (named by its instance id) in each streamed group, the app's
 * own output first; of those, the one with an error in it. Masked and capped like EB's tail.
 */
export async function cloudWatchTail(
  logs: CloudWatchLogsClient,
  previous: Diagnostics,
): Promise<Diagnostics> {
  const polls = previous.polls + 1;
  const ids = previous.instances
    .map((i) => i.instanceId)
    .sort((a, b) => failingFirst(previous, a) - failingFirst(previous, b));
  const groups = previous.logGroups ?? [];
  const tails: InstanceLogTail[] = [];
  const silent: string[] = [];
  const failed: string[] = [];
  for (const instanceId of ids.slice(0, CLOUDWATCH_MAX_INSTANCES)) {
    try {
      const found: { group: string; text: string }[] = [];
      for (const group of groups) {
        const text = await lastLines(logs, group, instanceId, TAIL_MAX_LINES);
        if (text?.trim()) found.push({ group, text });
      }
      const chosen = found.find((f) => ERROR_TEXT.test(f.text)) ?? found[0];
      if (chosen) tails.push({ instanceId, source: chosen.group, ...capTail(chosen.text) });
      else silent.push(instanceId);
    } catch (err) {
      failed.push(`${instanceId} (${(err as Error).name})`);
    }
  }
  const more = ids.length - CLOUDWATCH_MAX_INSTANCES;
  const notes = [
    ...(previous.note ? [previous.note] : []),
    ...(groups.length === 0 ? ['no CloudWatch Logs group to read'] : []),
    ...(silent.length > 0 ? [`no CloudWatch Logs stream for ${silent.join(', ')}`] : []),
    ...(failed.length > 0 ? [`could not read CloudWatch Logs for ${failed.join(', ')}`] : []),
    ...(more > 0 ? [`${more} more instance(s) not read`] : []),
  ];
  return {
    ...previous,
    polls,
    done: true,
    logTails: capTails(tails),
    ...(notes.length > 0 ? { note: `${notes.join('; ')}.` } : {}),
  };
}

const ERROR_TEXT = /Traceback|Error|Exception|CRITICAL|FATAL|panic/i;

/**
 * A tail file is every log file's last lines, each under a header (a dashed line, the path, a
 * dashed line). The app's own output (container stdout/stderr, web.stdout.log) matters most; of
 * those, the one with an error in it.
 */
export function appLines(text: string): { source: string; lines: string; truncated: boolean } {
  const sections = splitSections(text);
  const app = sections.filter((s) =>
    /containers\/|stdout|stderr|web\.|celery|gunicorn|app\.log/i.test(s.path),
  );
  const pool = app.length > 0 ? app : sections;
  const erroring = pool.filter((s) => ERROR_TEXT.test(s.body));
  const chosen = erroring.at(-1) ?? pool.at(-1) ?? { path: 'tail', body: text };
  return { source: chosen.path, ...capTail(chosen.body) };
}

export function splitSections(text: string): { path: string; body: string }[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const sections: { path: string; body: string[] }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (
      /^-{10,}$/.test(line) &&
      /^-{10,}$/.test(lines[i + 2] ?? '') &&
      (lines[i + 1] ?? '').startsWith('/')
    ) {
      sections.push({ path: (lines[i + 1] ?? '').trim(), body: [] });
      i += 2;
      continue;
    }
    if (sections.length === 0) sections.push({ path: 'tail', body: [] });
    sections.at(-1)?.body.push(line);
  }
  return sections
    .map((s) => ({ path: s.path, body: s.body.join('\n').trim() }))
    .filter((s) => s.body.length > 0);
}

/** GET of EB's presigned S3 URL: no credentials needed, read at most FETCH_MAX_BYTES. */
export async function fetchPresigned(url: string): Promise<string> {
  if (!/^https?:\/\//.test(url)) throw new Error('not an http(s) URL');
  const res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const text = await res.text();
  return text.length > FETCH_MAX_BYTES ? text.slice(-FETCH_MAX_BYTES) : text;
}
