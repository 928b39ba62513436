import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { dynamo } from '../aws/clients/dynamo.js';
import { eb } from '../aws/clients/eb.js';
import { ecr } from '../aws/clients/ecr.js';
import { sfn } from '../aws/clients/sfn.js';
import { findVersion } from '../aws/eb.js';
import { describeImage, imageUri } from '../aws/ecr-images.js';
import { getTarget } from '../config/load.js';
import { InputInvalid } from '../errors.js';
import { logger } from '../logger.js';
import { parseRequest, type ReleaseRequest } from '../release/request.js';
import { digestFromDescription, shortDigest, versionLabel } from '../release/version-label.js';
import { config, runtimeEnv } from '../runtime.js';
import { getLastGood, recordDeployment } from '../store/deployments.js';
import type { Release } from '../workflow-state.js';

export interface ExecutionInfo {
  executionId: string;
  startedAt: string;
  stateMachineArn: string;
}

export type Resolution = { release: Release } | { ignored: { reason: string } };

/**
 * Resolves the execution input to one release. A push that matches several targets (say staging
 * takes every tag and prod takes v*) deploys the first here and starts one execution per other
 * target, named from target + digest so a redelivered event cannot start them twice.
 */
export async function resolveRelease(input: unknown, exec: ExecutionInfo): Promise<Resolution> {
  const cfg = config();
  const resolutions = parseRequest(input, cfg);
  const requests: ReleaseRequest[] = [];
  for (const r of resolutions) {
    if ('ignored' in r) logger.info('push ignored', { reason: r.ignored });
    else requests.push(r.request);
  }
  const [first, ...others] = requests;
  if (!first) {
    const reason = resolutions.map((r) => ('ignored' in r ? r.ignored : '')).join('; ');
    await recordIgnoredPush(input, reason, exec);
    return { ignored: { reason } };
  }
  for (const other of others) await fanOut(other, exec.stateMachineArn);
  return { release: await toRelease(first, exec) };
}

async function toRelease(request: ReleaseRequest, exec: ExecutionInfo): Promise<Release> {
  const target = getTarget(config(), request.target);
  const env = runtimeEnv();
  const common = {
    target: request.target,
    application: target.application,
    environment: target.environment,
    platform: target.platform,
    repository: target.source.repository,
    hasMigrationCheck: target.migrationCheck !== undefined,
    hasReleasePhase: target.release !== undefined,
    hasChecks: target.checks.length > 0,
    executionId: exec.executionId,
    startedAt: exec.startedAt,
  };
  if (request.kind === 'rollback') {
    const label = request.rollbackTo ?? (await getLastGood(dynamo, env.tableName, target))?.versionLabel;
    if (!label)
      throw new InputInvalid(
        `no known good version of ${request.target} to roll back to; pass "rollbackTo" with a version label`,
      );
    const version = await findVersion(eb, target.application, label);
    if (!version)
      throw new InputInvalid(`version "${label}" does not exist in EB application ${target.application}`);
    const digest = digestFromDescription(version.description) ?? '';
    // The push time keeps downgrade protection after the rollback; the image may be gone from ECR.
    const image = digest
      ? await describeImage(ecr, target.source.repository, { imageDigest: digest }).catch(() => undefined)
      : undefined;
    return {
      ...common,
      imageDigest: digest,
      imageUri: image
        ? imageUri(image.registryId, env.region, target.source.repository, digest)
        : digest
          ? `${target.source.repository}@${digest}`
          : '',
      imagePushedAt: image?.pushedAt,
      versionLabel: label,
      trigger: 'rollback',
      existingVersion: true,
    };
  }
  const image = await describeImage(ecr, target.source.repository, {
    imageTag: request.imageTag,
    imageDigest: request.imageDigest,
  });
  if (request.imageTag && request.imageDigest && !image.tags.includes(request.imageTag)) {
    throw new InputInvalid(
      `${request.imageDigest} is not tagged "${request.imageTag}" in ${target.source.repository}; give one or the other`,
    );
  }
  const tag = request.imageTag ?? image.tags[0];
  return {
    ...common,
    imageTag: tag,
    imageDigest: image.digest,
    imageUri: imageUri(image.registryId, env.region, target.source.repository, image.digest),
    imagePushedAt: image.pushedAt,
    versionLabel: versionLabel(tag, image.digest),
    trigger: request.kind,
    existingVersion: false,
    ...(request.kind === 'manual' && request.force ? { forced: true } : {}),
    ...(request.kind === 'promotion'
      ? {
          promotedFrom: request.promotedFrom,
          ...(target.promote?.approval === 'manual'
            ? { approvalTimeoutSeconds: target.promote.timeoutSeconds }
            : {}),
        }
      : {}),
  };
}

async function fanOut(request: ReleaseRequest, stateMachineArn: string): Promise<void> {
  if (request.kind !== 'push') return;
  const name = `${request.target.slice(0, 50)}-${shortDigest(request.imageDigest)}-push`;
  try {
    await sfn.send(
      new StartExecutionCommand({
        stateMachineArn,
        name,
        input: JSON.stringify({
          target: request.target,
          imageTag: request.imageTag,
          imageDigest: request.imageDigest,
          trigger: 'push',
        }),
      }),
    );
    logger.info('push fanned out to another target', { fanOutTarget: request.target, executionName: name });
  } catch (err) {
    if ((err as Error).name !== 'ExecutionAlreadyExists') throw err;
  }
}

/**
 * A tagged push to a configured repository that no target's tag pattern takes is history for those
 * targets: `ebship history` says why that tag did not deploy. (Untagged pushes, failed pushes and
 * other repositories involve no target.)
 */
async function recordIgnoredPush(input: unknown, reason: string, exec: ExecutionInfo): Promise<void> {
  const detail = (input as { source?: unknown; detail?: Record<string, unknown> } | undefined)?.detail;
  if ((input as { source?: unknown })?.source !== 'aws.ecr' || !detail) return;
  const repository = detail['repository-name'];
  const tag = detail['image-tag'];
  if (typeof repository !== 'string' || typeof tag !== 'string' || detail.result !== 'SUCCESS') return;
  const now = new Date();
  for (const [name, target] of Object.entries(config().targets)) {
    if (target.source.repository !== repository) continue;
    await recordDeployment(dynamo, runtimeEnv().tableName, {
      target: name,
      application: target.application,
      environment: target.environment,
      executionId: exec.executionId,
      trigger: 'push',
      toVersion: tag.slice(0, 128),
      outcome: 'SKIPPED',
      reason: `ignored: ${reason}`,
      startedAt: exec.startedAt,
      endedAt: now.toISOString(),
      durationSeconds: Math.max(0, Math.round((now.getTime() - Date.parse(exec.startedAt)) / 1000)),
    });
  }
}
