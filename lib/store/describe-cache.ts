import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { EnvKey } from './deployments.js';
import { envPk } from './deployments.js';
import { getSnapshot } from './snapshot.js';

/**
 * A short-lived cache of read-only EB answers in the table, for preflight: a fleet pushed at once
 * would otherwise ask EB the same Describe questions once per deploy, inside EB's Describe* budget
 * (about 2 calls/s per account and region). Items: `ENV#<app>/<env>` or `ACCOUNT`, sk
 * `DESCRIBE#<what>`, with the answer, its read time and a TTL. Values must be plain data (no Date).
 */
export interface DescribeCache {
  /** The answer stored for `what` if younger than `maxAgeSeconds`, else `read()`'s, stored. */
  get<T>(scope: EnvKey | 'account', what: string, maxAgeSeconds: number, read: () => Promise<T>): Promise<T>;
  /** The environment as the health watch's shared snapshot saw it, if younger than `maxAgeSeconds`. */
  snapshot?(key: EnvKey, maxAgeSeconds: number): Promise<CachedEnvironment | undefined>;
}

/** What preflight reads of DescribeEnvironments. */
export interface CachedEnvironment {
  ApplicationName?: string;
  EnvironmentName?: string;
  Status?: string;
  PlatformArn?: string;
  SolutionStackName?: string;
}

export function tableDescribeCache(
  db: DynamoDBDocumentClient,
  table: string,
  now = () => Date.now(),
): DescribeCache {
  return {
    async get<T>(scope: EnvKey | 'account', what: string, maxAgeSeconds: number, read: () => Promise<T>) {
      const Key = { pk: scope === 'account' ? 'ACCOUNT' : envPk(scope), sk: `DESCRIBE#${what}` };
      try {
        const out = await db.send(new GetCommand({ TableName: table, Key }));
        if (out.Item && now() - Number(out.Item.readAt) <= maxAgeSeconds * 1000) return out.Item.value as T;
      } catch {
        // A cache: the table failing costs one EB call, never the deploy.
      }
      const readAt = now();
      const value = await read();
      await db
        .send(
          new PutCommand({
            TableName: table,
            Item: { ...Key, value, readAt, expiresAt: Math.floor(readAt / 1000) + maxAgeSeconds + 3600 },
          }),
        )
        .catch(() => undefined);
      return value;
    },
    async snapshot(key: EnvKey, maxAgeSeconds: number) {
      const s = await getSnapshot(db, table, key).catch(() => undefined);
      if (!s || now() - Date.parse(s.readAt) > maxAgeSeconds * 1000) return undefined;
      return {
        ApplicationName: s.application,
        EnvironmentName: s.environment,
        Status: s.status,
        ...(s.platformArn ? { PlatformArn: s.platformArn } : {}),
        ...(s.solutionStackName ? { SolutionStackName: s.solutionStackName } : {}),
      };
    },
  };
}
