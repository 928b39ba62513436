import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { type EnvKey, envPk } from './deployments.js';

/**
 * Promotion (issue 14): a digest is "proven" on a target once a deploy of it there ended SUCCEEDED
 * (healthy, checks passed, bake held). A target with `promote: { from }` deploys only digests proven
 * on `from`. One item per digest, on the proving environment's partition:
 *   PROVEN#<digest>  versionLabel, imageTag?, executionId, succeededAt
 * A later success of the same digest overwrites it (the newest proof is the one a person looks up).
 */

const PROVEN_PREFIX = 'PROVEN#';

export interface Proof {
  imageDigest: string;
  versionLabel: string;
  imageTag?: string;
  executionId: string;
  succeededAt: string;
}

export async function recordProof(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  proof: Proof,
): Promise<void> {
  await db.send(
    new PutCommand({
      TableName: table,
      Item: { pk: envPk(key), sk: PROVEN_PREFIX + proof.imageDigest, ...proof },
    }),
  );
}

/** The proof that `imageDigest` succeeded on the environment, if it ever did. */
export async function getProof(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  imageDigest: string,
): Promise<Proof | undefined> {
  const { Item } = await db.send(
    new GetCommand({
      TableName: table,
      Key: { pk: envPk(key), sk: PROVEN_PREFIX + imageDigest },
      ConsistentRead: true,
    }),
  );
  if (!Item || typeof Item.executionId !== 'string' || typeof Item.succeededAt !== 'string') return undefined;
  return {
    imageDigest,
    versionLabel: String(Item.versionLabel ?? ''),
    ...(typeof Item.imageTag === 'string' ? { imageTag: Item.imageTag } : {}),
    executionId: Item.executionId,
    succeededAt: Item.succeededAt,
  };
}
