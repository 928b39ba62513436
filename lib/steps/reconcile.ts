import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { renderAlert } from '../alerts/compose.js';
import { type DriftFacts, driftModel, driftResolvedModel } from '../alerts/drift.js';
import { publishAlert } from '../alerts/publish.js';
import { dynamo } from '../aws/clients/dynamo.js';
import { eb } from '../aws/clients/eb.js';
import { ecr } from '../aws/clients/ecr.js';
import { sfn } from '../aws/clients/sfn.js';
import { sns } from '../aws/clients/sns.js';
import type { ImageInfo } from '../aws/ecr-images.js';
import { listTaggedImages } from '../aws/ecr-list.js';
import { describeEnvironmentsOf, type EnvironmentView } from '../aws/environments.js';
import type { Target } from '../config/schema.js';
import { logger } from '../logger.js';
import { tagRejection } from '../release/tags.js';
import { shortDigest } from '../release/version-label.js';
import { config, runtimeEnv } from '../runtime.js';
import {
  forgetPush,
  getLastGood,
  getLock,
  type HistoryEntry,
  isDowngrade,
  type LastGood,
  type LockItem,
  listHistory,
  recordPush,
} from '../store/deployments.js';
import { getNextTurn, type Waiter } from '../store/ownership.js';
import {
  claimDrift,
  clearDrift,
  type DriftItem,
  getDrift,
  getPushMarker,
  getReconcileMark,
  markDriftSent,
  putReconcileMark,
  type ReconcileMark,
} from '../store/reconcile.js';
import { executionArnOf } from '../workflow/arns.js';
import { releaseExpiredHold } from './freeze.js';

/**
 * The scheduled reconciler (ReconcileRule, infra/events.yml, every 5 minutes). ECR's push events
 * are best effort, and EB can be changed behind ebship's back; for each target it:
 * - starts the deploy a lost push event should have started, under the push path's own dedupe
 *   (one conditional PUSH# write decides between it and a late event), and never a downgrade;
 * - alerts once when the environment runs a version ebship did not deploy (DRIFT), and once when
 *   it is back on ebship's record.
 * One target failing (AccessDenied, a deleted repository) is logged and reported; the others go on.
 */

/** An image younger than this is left to its own push event, which EventBridge delivers in seconds. */
export const PUSH_GRACE_SECONDS = 60;
/** Same memory as AcquireLock's: EventBridge retries a target for 24 h. */
const PUSH_MEMORY_SECONDS = 26 * 3600;
/** History entries read for "already attempted" (a failed push forgets its PUSH# marker). */
const HISTORY_LOOKBACK = 10;

/** History outcomes whose own alert already told on-call the environment is not on the record. */
const ALERTED_OFF_RECORD = new Set(['OVERRIDDEN', 'ROLLBACK_FAILED', 'ABORTED', 'TIMED_OUT']);

export interface Candidate {
  digest: string;
  tag: string;
  pushedAt: string;
}

/** What the reconciler knows about one target's newest image, read before deciding. */
export interface ImageView {
  now: Date;
  newest?: Candidate;
  mark?: ReconcileMark;
  lastGood?: Pick<LastGood, 'imageDigest' | 'imagePushedAt' | 'versionLabel'>;
  lock?: Pick<LockItem, 'imageDigest' | 'versionLabel'>;
  next?: Pick<Waiter, 'versionLabel' | 'executionId'>;
  /** The PUSH# marker of the newest image, if an execution claimed it. */
  marker?: { executionId: string };
  /** The execution the reconciler would start for the newest image (its deterministic ARN). */
  ownExecutionArn?: string;
  /** Recent history of the environment (newest first). */
  history: Pick<HistoryEntry, 'imageUri' | 'toVersion' | 'outcome' | 'executionId'>[];
}

export type ImageDecision =
  /** First run for this target: remember when it began, deploy nothing. */
  | { action: 'baseline'; reason: string }
  /** Nothing to do and nothing new to remember. */
  | { action: 'none'; reason: string }
  /** Too young: its push event may still be on its way. Looked at again next run. */
  | { action: 'wait'; reason: string }
  /** Handled already (deployed, deploying, seen, attempted, older): remembered, not deployed. */
  | { action: 'known'; reason: string }
  | { action: 'deploy'; reason: string };

/**
 * The decision table for a target's newest image (pure). The first run deploys nothing: a platform
 * engineer who installs or upgrades ebship expects it to deploy what is pushed from then on, not
 * whatever image happens to be newest in the repository (it may be months old, or failed before).
 */
export function decideImage(v: ImageView): ImageDecision {
  if (!v.mark)
    return { action: 'baseline', reason: 'first run: only images pushed from now on are reconciled' };
  const image = v.newest;
  if (!image) return { action: 'none', reason: 'no image in the repository matches the tag pattern' };
  const short = shortDigest(image.digest);
  if (image.pushedAt <= v.mark.since)
    return { action: 'none', reason: `${image.tag} was pushed before the reconciler's first run` };
  if (v.mark.imageDigest === image.digest)
    return { action: 'none', reason: `${image.tag} (${short}) was reconciled already (${v.mark.decision})` };
  if (v.lastGood?.imageDigest === image.digest)
    return { action: 'known', reason: `${image.tag} (${short}) is deployed` };
  if (v.lock?.imageDigest === image.digest)
    return { action: 'known', reason: `${image.tag} (${short}) is being deployed` };
  if (v.next?.versionLabel.endsWith(`-${short}`))
    return { action: 'known', reason: `${image.tag} (${short}) waits for the environment` };
  if (v.marker && v.marker.executionId !== v.ownExecutionArn)
    return {
      action: 'known',
      reason: `${image.tag} (${short}) was handled by execution ${v.marker.executionId}`,
    };
  const attempted = v.history.find(
    (h) => h.imageUri?.endsWith(`@${image.digest}`) || h.toVersion.endsWith(`-${short}`),
  );
  if (attempted)
    return { action: 'known', reason: `${image.tag} (${short}) was deployed before (${attempted.outcome})` };
  if (v.lastGood && isDowngrade({ imageDigest: image.digest, imagePushedAt: image.pushedAt }, v.lastGood))
    return {
      action: 'known',
      reason: `${image.tag} (${short}) was pushed before the deployed ${v.lastGood.versionLabel}: never a downgrade`,
    };
  const age = (v.now.getTime() - Date.parse(image.pushedAt)) / 1000;
  if (age < PUSH_GRACE_SECONDS)
    return { action: 'wait', reason: `${image.tag} (${short}) was pushed ${Math.round(age)}s ago` };
  return {
    action: 'deploy',
    reason: `${image.tag} (${short}) was pushed at ${image.pushedAt} and no execution saw it: its push event was lost`,
  };
}

/** What the reconciler knows about one environment's version, read before deciding. */
export interface DriftView {
  env?: Pick<EnvironmentView, 'status' | 'versionLabel'>;
  lockHeld: boolean;
  lastGood?: Pick<LastGood, 'versionLabel' | 'deployedAt'>;
  drift?: Pick<DriftItem, 'versionLabel' | 'recordedLabel' | 'status'>;
  /** Newest history entry, to tell whether an execution's own alert already covered the drift. */
  latest?: Pick<HistoryEntry, 'outcome' | 'startedAt'>;
}

export type DriftDecision =
  | { action: 'skip'; reason: string }
  | { action: 'in-line' }
  /** Back on the record: clear the DRIFT item; alert when nobody else said so. */
  | { action: 'resolved'; alert: boolean }
  | { action: 'drift'; covered: boolean };

/** The drift decision (pure). */
export function decideDrift(v: DriftView): DriftDecision {
  if (!v.env) return { action: 'skip', reason: 'environment not found' };
  if (v.lockHeld) return { action: 'skip', reason: 'ebship is deploying it' };
  // Mid-update the label is in flux, and EB may still revert: judge the environment once it settles.
  if (v.env.status !== 'Ready') return { action: 'skip', reason: `environment is ${v.env.status}` };
  if (!v.lastGood) return { action: 'skip', reason: 'ebship has no record of this environment yet' };
  if (v.env.versionLabel === v.lastGood.versionLabel) {
    if (!v.drift) return { action: 'in-line' };
    // Back on the label recorded when the drift was alerted: nobody else says so. Back through an
    // ebship deploy (a new record): that deploy's own alert did.
    return {
      action: 'resolved',
      alert: v.drift.status === 'sent' && v.drift.recordedLabel === v.lastGood.versionLabel,
    };
  }
  const covered =
    v.latest !== undefined &&
    ALERTED_OFF_RECORD.has(v.latest.outcome) &&
    v.latest.startedAt >= v.lastGood.deployedAt;
  return { action: 'drift', covered };
}

export interface TargetReport {
  target: string;
  image?: ImageDecision & { executionArn?: string };
  /** A push a freeze held, started because the freeze ended by its `until` (issue 14). */
  held?: { released: string; executionArn: string };
  drift?: DriftDecision | { action: 'alerted' | 'already-alerted' | 'covered' };
  error?: string;
}

export interface ReconcileReport {
  targets: TargetReport[];
  failed: number;
  started: number;
  alerts: number;
}

/** One run over every target of ebship.yml. */
export async function reconcile(now = new Date()): Promise<ReconcileReport> {
  const cfg = config();
  const entries = Object.entries(cfg.targets);
  const reports: TargetReport[] = entries.map(([name]) => ({ target: name }));
  const fail = (report: TargetReport, what: string, err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    report.error = [report.error, `${what}: ${e.name}: ${e.message}`].filter(Boolean).join('; ');
    logger.error('reconcile: a target failed; the others go on', {
      target: report.target,
      what,
      error: e.name,
      message: e.message,
    });
  };

  // One DescribeEnvironments per application, for all its targets' environments; an application
  // that cannot be read fails its own targets only.
  const byApplication = new Map<string, string[]>();
  for (const [, t] of entries)
    byApplication.set(t.application, [...(byApplication.get(t.application) ?? []), t.environment]);
  // One after the other: EB's Describe* budget is shared with every deploy and the console.
  const environments = new Map<string, EnvironmentView[] | Error>();
  for (const [application, names] of byApplication) {
    environments.set(
      application,
      await describeEnvironmentsOf(eb, application, names).catch((err: unknown) =>
        err instanceof Error ? err : new Error(String(err)),
      ),
    );
  }

  // Repositories listed once per run, however many targets share one.
  const listings = new Map<string, Promise<ImageInfo[]>>();
  const imagesOf = (repository: string) => {
    let listing = listings.get(repository);
    if (!listing) {
      listing = listTaggedImages(ecr, repository);
      listings.set(repository, listing);
    }
    return listing;
  };

  for (const [i, [name, target]] of entries.entries()) {
    const report = reports[i] as TargetReport;
    try {
      report.image = await reconcileImage(name, target, now, imagesOf);
    } catch (err) {
      fail(report, 'newest image', err);
    }
    try {
      const stateMachineArn = process.env.STATE_MACHINE_ARN ?? '';
      const key = { application: target.application, environment: target.environment };
      const held = stateMachineArn
        ? await releaseExpiredHold({ db: dynamo, sfn }, runtimeEnv().tableName, stateMachineArn, key, now)
        : undefined;
      if (held) report.held = held;
    } catch (err) {
      fail(report, 'held push', err);
    }
    try {
      const views = environments.get(target.application) ?? [];
      if (views instanceof Error) throw views;
      const env = views.find((e) => e.environment === target.environment);
      report.drift = await reconcileDrift(name, target, env, now);
    } catch (err) {
      fail(report, 'drift', err);
    }
  }
  return {
    targets: reports,
    failed: reports.filter((r) => r.error).length,
    started: reports.filter((r) => r.image?.action === 'deploy').length,
    alerts: reports.filter(
      (r) => r.drift?.action === 'alerted' || (r.drift?.action === 'resolved' && r.drift.alert),
    ).length,
  };
}

/** The newest image a target's tag pattern takes: its newest push, the first tag the pattern takes. */
export function newestCandidate(images: ImageInfo[], target: Target): Candidate | undefined {
  let best: Candidate | undefined;
  for (const image of images) {
    if (!image.pushedAt) continue;
    const tag = image.tags.find((t) => tagRejection(t, target) === undefined);
    if (!tag) continue;
    if (!best || image.pushedAt > best.pushedAt)
      best = { digest: image.digest, tag, pushedAt: image.pushedAt };
  }
  return best;
}

/**
 * The reconciler's own execution for an image: named from target and digest, so a retried run
 * starts the same one (StartExecution is idempotent for the same name and input) and its ARN is
 * known before it starts: it is the owner written on the PUSH# marker.
 */
export function reconcileExecutionName(target: string, digest: string): string {
  return `${target.slice(0, 50)}-${shortDigest(digest)}-reconcile`;
}

async function reconcileImage(
  name: string,
  target: Target,
  now: Date,
  imagesOf: (repository: string) => Promise<ImageInfo[]>,
): Promise<TargetReport['image']> {
  // A promoted target deploys what succeeded on its promote.from, started by that success, never by
  // a push: its source's reconcile covers the lost push (issue 14).
  if (target.promote)
    return {
      action: 'none',
      reason: `deploys by promotion from ${target.promote.from}, whose reconcile covers a lost push`,
    };
  const table = runtimeEnv().tableName;
  const key = { application: target.application, environment: target.environment };
  const mark = await getReconcileMark(dynamo, table, key, name);
  if (!mark) {
    await putReconcileMark(dynamo, table, key, name, { since: now.toISOString() });
    const decision = decideImage({ now, history: [] });
    logger.info('reconcile: first run for this target', { target: name, since: now.toISOString() });
    return decision;
  }
  const newest = newestCandidate(await imagesOf(target.source.repository), target);
  const stateMachineArn = process.env.STATE_MACHINE_ARN ?? '';
  const ownExecutionArn =
    newest && stateMachineArn
      ? executionArnOf(stateMachineArn, reconcileExecutionName(name, newest.digest))
      : undefined;
  const view: ImageView = { now, newest, mark, ownExecutionArn, history: [] };
  // Cheap decisions first: most runs stop here without reading the environment's items.
  const early = decideImage(view);
  if (early.action === 'none' || !newest) return early;
  const [lastGood, lock, next, marker, history] = await Promise.all([
    getLastGood(dynamo, table, key),
    getLock(dynamo, table, key),
    getNextTurn(dynamo, table, key),
    getPushMarker(
      dynamo,
      table,
      { repository: target.source.repository, imageDigest: newest.digest, target: name },
      now,
    ),
    listHistory(dynamo, table, key, HISTORY_LOOKBACK),
  ]);
  const decision = decideImage({ ...view, lastGood, lock, next, marker, history });
  const remember = (extra: Partial<ReconcileMark> = {}) =>
    putReconcileMark(dynamo, table, key, name, {
      since: mark.since,
      imageDigest: newest.digest,
      imagePushedAt: newest.pushedAt,
      decision: decision.action,
      decidedAt: now.toISOString(),
      ...extra,
    });
  if (decision.action === 'wait') return decision;
  if (decision.action !== 'deploy') {
    await remember();
    return decision;
  }
  if (!stateMachineArn || !ownExecutionArn)
    throw new Error('STATE_MACHINE_ARN is not set: deploy with serverless.yml, which sets it');
  const started = await startReconciledDeploy(name, target, newest, stateMachineArn, ownExecutionArn, now);
  if (!started) {
    // A late push event's execution claimed the image between our read and our write: it deploys.
    const lost = {
      action: 'known' as const,
      reason: `${newest.tag} was claimed by its own push event first`,
    };
    await putReconcileMark(dynamo, table, key, name, {
      since: mark.since,
      imageDigest: newest.digest,
      imagePushedAt: newest.pushedAt,
      decision: lost.action,
      decidedAt: now.toISOString(),
    });
    return lost;
  }
  await remember({ executionArn: ownExecutionArn });
  logger.warn('reconcile: started the deploy of a push whose event was lost', {
    target: name,
    imageTag: newest.tag,
    imageDigest: newest.digest,
    executionArn: ownExecutionArn,
  });
  return { ...decision, executionArn: ownExecutionArn };
}

/**
 * Claims the push with the same conditional PUSH# write AcquireLock makes, owned by the execution
 * about to start; its AcquireLock then finds its own marker ('new'), and a late push event's finds
 * it taken ('duplicate', Skipped). False when the event's execution claimed it first.
 */
export async function startReconciledDeploy(
  name: string,
  target: Target,
  image: Candidate,
  stateMachineArn: string,
  executionArn: string,
  now: Date,
): Promise<boolean> {
  const table = runtimeEnv().tableName;
  const push = {
    repository: target.source.repository,
    imageDigest: image.digest,
    target: name,
    executionId: executionArn,
  };
  const seen = await recordPush(dynamo, table, { ...push, now, ttlSeconds: PUSH_MEMORY_SECONDS });
  if (seen === 'duplicate') return false;
  try {
    await sfn.send(
      new StartExecutionCommand({
        stateMachineArn,
        name: reconcileExecutionName(name, image.digest),
        // The fan-out's input (lib/release/request.ts): a push, with the push path's dedupe and
        // downgrade rules in AcquireLock.
        input: JSON.stringify({
          target: name,
          imageTag: image.tag,
          imageDigest: image.digest,
          trigger: 'push',
        }),
      }),
    );
  } catch (err) {
    // Started before (a retried run whose first start went through): the execution exists.
    if ((err as Error).name === 'ExecutionAlreadyExists') return true;
    // Not started: give the image back, so the next run (or a late event) can deploy it.
    await forgetPush(dynamo, table, push);
    throw err;
  }
  return true;
}

async function reconcileDrift(
  name: string,
  target: Target,
  env: EnvironmentView | undefined,
  now: Date,
): Promise<TargetReport['drift']> {
  const runtime = runtimeEnv();
  const table = runtime.tableName;
  const key = { application: target.application, environment: target.environment };
  if (!env)
    throw new Error(`environment ${target.environment} of application ${target.application} was not found`);
  const [lock, lastGood, drift, history] = await Promise.all([
    getLock(dynamo, table, key),
    getLastGood(dynamo, table, key),
    getDrift(dynamo, table, key),
    listHistory(dynamo, table, key, 1),
  ]);
  const lockHeld = lock !== undefined && lock.leaseUntil >= now.toISOString();
  const decision = decideDrift({ env, lockHeld, lastGood, drift, latest: history[0] });
  const facts: DriftFacts = {
    target: name,
    application: target.application,
    environment: target.environment,
    environmentId: env.environmentId,
    running: env.versionLabel ?? '(none)',
    recorded: lastGood?.versionLabel ?? '',
    recordedAt: lastGood?.deployedAt,
    region: runtime.region,
  };
  const topics = [runtime.alertTopicArn, ...(target.alertTopicArn ? [target.alertTopicArn] : [])];
  if (decision.action === 'resolved') {
    const was = await clearDrift(dynamo, table, key, { versionLabel: drift?.versionLabel ?? '' });
    if (decision.alert && was) {
      await publishAlert(sns, topics, renderAlert(driftResolvedModel({ ...facts, was: was.versionLabel })));
      logger.info('reconcile: drift resolved', { target: name, versionLabel: facts.running });
    }
    return decision;
  }
  if (decision.action !== 'drift') return decision;
  const claim = await claimDrift(
    dynamo,
    table,
    key,
    { versionLabel: facts.running, recordedLabel: facts.recorded, covered: decision.covered },
    now,
  );
  if (!claim.claimed) return { action: 'already-alerted' };
  if (decision.covered) return { action: 'covered' };
  try {
    await publishAlert(sns, topics, renderAlert(driftModel(facts)));
  } catch (err) {
    await clearDrift(dynamo, table, key, { token: claim.token });
    throw err;
  }
  await markDriftSent(dynamo, table, key, claim.token);
  logger.warn('reconcile: drift alerted', { target: name, running: facts.running, recorded: facts.recorded });
  return { action: 'alerted' };
}
