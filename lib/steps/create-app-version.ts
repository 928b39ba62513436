import { DescribeEventsCommand } from '@aws-sdk/client-elastic-beanstalk';
import { dynamo } from '../aws/clients/dynamo.js';
import { eb } from '../aws/clients/eb.js';
import { createVersion, findVersion } from '../aws/eb.js';
import { isTransient } from '../aws/transient.js';
import { getTarget } from '../config/load.js';
import { VersionProcessingFailed } from '../errors.js';
import { inspectEnvironment } from '../preflight/environment.js';
import { warningsOrStop } from '../preflight/format.js';
import { cachedVersionCount } from '../preflight/version-count.js';
import { versionDescription } from '../release/version-label.js';
import { config, runtimeEnv } from '../runtime.js';
import { tableDescribeCache } from '../store/describe-cache.js';
import { tableCountStore } from '../store/version-count.js';
import { formatDuration } from '../text/duration.js';
import type { BundleResult, Release, VersionResult } from '../workflow-state.js';

/**
 * A container bundle is small, and EB often processes it within a second or two of
 * CreateApplicationVersion, so the first look comes 1 s after it and the waits then grow by a second
 * each (1, 2, 3, 4 s) up to 10 s. A version ready in 1 s deploys a second later; one ready in 10 s is
 * seen at 10 s (doubling would see it at 15 s); a slow one costs few transitions (65 looks in 10
 * minutes, against 120 at a fixed 5 s). The waiting is Step Functions' (a Wait state), never a Lambda's.
 */
const FIRST_POLL_SECONDS = 1;
const MAX_POLL_SECONDS = 10;
/** EB processes a version in seconds to a couple of minutes; past 10 minutes something is wrong. */
const MAX_WAIT_SECONDS = 600;

/** The wait before look number `polls + 1` at the version. */
export function versionPollSeconds(polls: number): number {
  return Math.min(FIRST_POLL_SECONDS * (polls + 1), MAX_POLL_SECONDS);
}
const USABLE = ['processed', 'unprocessed'];

/**
 * A look EB did not answer (throttled, a 5xx, no reply) is no data: the version keeps the status it
 * had, and the next look comes 10-20 s later (jittered), not at the next second of the schedule. A
 * fleet pushed at once polls dozens of versions against EB's ~2 Describe calls a second; failing
 * the step on a throttled look made each retry add to the storm (docs/benchmarks.md, N = 200).
 * The 10-minute limit still counts: a version EB never answers for fails like one it never processes.
 */
export function unreadPollSeconds(random: () => number = Math.random): number {
  return MAX_POLL_SECONDS + Math.round(MAX_POLL_SECONDS * random());
}

/**
 * Creates the version (or reuses it) on the first call, once the environment passed preflight; on
 * later calls, reads its processing status.
 */
export async function createOrCheckVersion(
  release: Release,
  bundle: BundleResult,
  previous?: VersionResult,
  random: () => number = Math.random,
): Promise<VersionResult> {
  const polls = (previous?.polls ?? -1) + 1;
  const waitedSeconds = previous ? (previous.waitedSeconds ?? 0) + previous.nextPollSeconds : 0;
  let status: string;
  let reused = previous?.reused ?? false;
  let warnings = previous?.warnings ?? [];
  let unread = false;
  if (previous) {
    const found = await findVersion(eb, release.application, release.versionLabel).then(
      (version) => ({ version }),
      (err: unknown) => {
        if (!isTransient(err)) throw err;
        return undefined;
      },
    );
    unread = found === undefined;
    status = found ? (found.version?.status ?? 'missing') : previous.status;
  } else {
    warnings = await preflightEnvironment(release);
    const created = await createVersion(eb, {
      application: release.application,
      label: release.versionLabel,
      description: versionDescription(release.repository, release.imageTag, release.imageDigest),
      bucket: bundle.bucket,
      key: bundle.key,
    });
    status = created.info.status;
    reused = created.reused;
  }
  if (status === 'failed' || status === 'missing') {
    // The label is fixed per tag and digest, so a failed version would be reused by every retry.
    const recover =
      status === 'failed'
        ? ` Fix the cause, then delete the failed version so the next deploy of this image recreates it: aws elasticbeanstalk delete-application-version --application-name ${release.application} --version-label ${release.versionLabel}`
        : '';
    throw new VersionProcessingFailed(
      `EB could not process version ${release.versionLabel} (${status}); nothing was deployed. ${await versionErrors(release)}${recover}`,
    );
  }
  if (!USABLE.includes(status) && waitedSeconds >= MAX_WAIT_SECONDS) {
    throw new VersionProcessingFailed(
      `version ${release.versionLabel} still ${status} after ${formatDuration(waitedSeconds)}${unread ? ' (EB did not answer the last look: throttled or unavailable)' : ''}; nothing was deployed`,
    );
  }
  return {
    label: release.versionLabel,
    reused,
    status: USABLE.includes(status) ? 'processed' : status,
    polls,
    nextPollSeconds: unread ? unreadPollSeconds(random) : versionPollSeconds(polls),
    waitedSeconds,
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}

/**
 * Preflight on the environment the version is for (lib/preflight/environment.ts): it is live, runs
 * the platform the bundle is for, reports enhanced health, and the region has room for one more
 * application version. An error stops the deploy before the version exists (PreflightFailed); the
 * warnings go on with the state. Its EB reads are shared between deploys for a short time (the
 * table's describe cache and version count), so a fleet pushed at once asks EB once.
 */
async function preflightEnvironment(release: Release): Promise<string[]> {
  const env = runtimeEnv();
  const findings = await inspectEnvironment(eb, getTarget(config(), release.target), {
    versionCount: (count) => cachedVersionCount(tableCountStore(dynamo, env.tableName), count),
    cache: tableDescribeCache(dynamo, env.tableName),
  });
  return warningsOrStop(findings, release.target);
}

/** EB explains a failed version in its events (e.g. an .ebextensions YAML error). */
async function versionErrors(release: Release): Promise<string> {
  const out = await eb.send(
    new DescribeEventsCommand({
      ApplicationName: release.application,
      VersionLabel: release.versionLabel,
      Severity: 'WARN',
      MaxRecords: 10,
    }),
  );
  const messages = (out.Events ?? []).map((e) => e.Message).filter(Boolean);
  return messages.length > 0
    ? `EB said: ${messages.join(' | ')}`
    : 'EB gave no reason; check the bundle with `ebship plan`.';
}
