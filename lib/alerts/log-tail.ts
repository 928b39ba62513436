import {
  DescribeEnvironmentsCommand,
  DescribeInstancesHealthCommand,
  type ElasticBeanstalkClient,
  RequestEnvironmentInfoCommand,
  RetrieveEnvironmentInfoCommand,
} from '@aws-sdk/client-elastic-beanstalk';
import {
  capTail,
  capTails,
  type Diagnostics,
  type InstanceLogTail,
  type InstanceVersion,
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

/** Asks EB for the tail and notes what the alert needs meanwhile: the environment id, the instances. */
export async function requestTail(eb: ElasticBeanstalkClient, env: EnvRef, now: Date): Promise<Diagnostics> {
  const described = await eb.send(
    new DescribeEnvironmentsCommand({
      ApplicationName: env.application,
      EnvironmentNames: [env.environment],
    }),
  );
  const environmentId = described.Environments?.[0]?.EnvironmentId;
  const instances = await instanceVersions(eb, env).catch(() => []);
  await eb.send(new RequestEnvironmentInfoCommand({ EnvironmentName: env.environment, InfoType: 'tail' }));
  return {
    ...(environmentId ? { environmentId } : {}),
    requestedAt: now.toISOString(),
    polls: 0,
    maxPolls: MAX_POLLS,
    nextPollSeconds: FIRST_POLL_SECONDS,
    done: false,
    instances,
    logTails: [],
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
): Promise<Diagnostics> {
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
  // The instances that did not deploy the new version, or are unhealthy, first: they are why.
  const rank = (id: string) => {
    const i = previous.instances.find((x) => x.instanceId === id);
    return i?.color === 'Red' || i?.deploymentStatus === 'Failed' ? 0 : 1;
  };
  tails.sort((a, b) => rank(a.instanceId) - rank(b.instanceId));
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
  const erroring = pool.filter((s) => /Traceback|Error|Exception|CRITICAL|FATAL|panic/i.test(s.body));
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
