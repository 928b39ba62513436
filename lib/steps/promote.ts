import { createHash } from 'node:crypto';
import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { getTarget, promotedFrom } from '../config/load.js';
import type { EbshipConfig, Target } from '../config/schema.js';
import { tagRejection } from '../release/tags.js';
import { shortDigest } from '../release/version-label.js';
import { getProof, type Proof } from '../store/promotion.js';
import { executionArnOf, stateMachineArnOf } from '../workflow/arns.js';
import type { PromotionResult, Release } from '../workflow-state.js';

/**
 * Promotion (issue 14). A success on a target starts, for each target that promotes from it, a deploy
 * of the same digest in its own execution (its own lock, freeze and approval). The execution name
 * comes from the target, the digest and the proving execution, so a retried step finds
 * ExecutionAlreadyExists instead of deploying twice.
 */

export async function startPromotions(
  sfn: SFNClient,
  cfg: EbshipConfig,
  release: Release,
): Promise<PromotionResult> {
  const result: PromotionResult = { started: [], notPromoted: [] };
  const stateMachineArn = stateMachineArnOf(release.executionId);
  for (const name of promotedFrom(cfg, release.target)) {
    const to = getTarget(cfg, name);
    const why = notPromotable(release, to);
    if (why) {
      result.notPromoted.push({ target: name, reason: why });
      continue;
    }
    if (!stateMachineArn)
      throw new Error(`cannot tell the state machine from execution ${release.executionId}`);
    const executionName = promotionExecutionName(name, release);
    try {
      await sfn.send(
        new StartExecutionCommand({
          stateMachineArn,
          name: executionName,
          input: JSON.stringify({
            target: name,
            ...(release.imageTag ? { imageTag: release.imageTag } : {}),
            imageDigest: release.imageDigest,
            trigger: 'promotion',
            promotedFrom: { target: release.target, executionId: release.executionId },
          }),
        }),
      );
    } catch (err) {
      if ((err as Error).name !== 'ExecutionAlreadyExists') throw err;
    }
    result.started.push({
      target: name,
      executionArn: executionArnOf(stateMachineArn, executionName),
      approval: to.promote?.approval ?? 'none',
    });
  }
  return result;
}

/** Why `release` (a success on the target `to` promotes from) does not go on to `to`. */
function notPromotable(release: Release, to: Target): string | undefined {
  if (release.trigger === 'rollback') return 'a rollback proves nothing new';
  if (to.source.repository !== release.repository)
    return `it deploys repository ${to.source.repository}, not ${release.repository}`;
  // The promoted target's own tag rules still apply: prod may take only `v*` of what staging takes.
  if (release.imageTag) {
    const why = tagRejection(release.imageTag, to);
    if (why) return `tag ${release.imageTag} ${why}`;
  }
  return undefined;
}

/** ≤ 80 characters of [A-Za-z0-9-_], one per (promoted target, digest, proving execution). */
export function promotionExecutionName(target: string, release: Release): string {
  const source = createHash('sha256').update(release.executionId).digest('hex').slice(0, 8);
  return `${target.slice(0, 40)}-promoted-${shortDigest(release.imageDigest)}-${source}`;
}

/**
 * The proof gate of a promoted target: what must have succeeded on `promote.from` first. Undefined
 * for a target that promotes from nothing, and for a rollback (back to what ran here before).
 */
export async function requiredProof(
  db: DynamoDBDocumentClient,
  table: string,
  cfg: EbshipConfig,
  release: Release,
): Promise<{ from: string; proof: Proof | undefined } | undefined> {
  const from = getTarget(cfg, release.target).promote?.from;
  if (!from || release.trigger === 'rollback') return undefined;
  return { from, proof: await getProof(db, table, getTarget(cfg, from), release.imageDigest) };
}
