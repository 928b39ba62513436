import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { logger } from '../logger.js';
import { type CountStore, VERSION_COUNT_TTL_SECONDS } from '../preflight/version-count.js';

/** The item that holds the region's last application version count (one table per region). */
export const VERSION_COUNT_KEY = { pk: 'ACCOUNT', sk: 'VERSION_COUNT' } as const;

/**
 * Keeps the count in the table, beside preflight's other shared answers (lib/store/describe-cache.ts):
 * CreateAppVersion, which runs preflight, already holds the DynamoDB client. The count only saves EB
 * calls, so it never stops a deploy: a missing, unreadable or malformed item is a missing count (the
 * step counts again), and a failed write is not kept. Its TTL outlives the count's use by an hour.
 */
export function tableCountStore(db: DynamoDBDocumentClient, table: string): CountStore {
  return {
    async read() {
      try {
        const out = await db.send(new GetCommand({ TableName: table, Key: VERSION_COUNT_KEY }));
        const { count, countedAt } = out.Item ?? {};
        return typeof count === 'number' && typeof countedAt === 'string' ? { count, countedAt } : undefined;
      } catch (err) {
        logger.warn('could not read the shared version count; counting again', { error: String(err) });
        return undefined;
      }
    },
    async write(value) {
      const expiresAt = Math.floor(Date.parse(value.countedAt) / 1000) + VERSION_COUNT_TTL_SECONDS + 3600;
      await db
        .send(new PutCommand({ TableName: table, Item: { ...VERSION_COUNT_KEY, ...value, expiresAt } }))
        .catch((err: unknown) => {
          logger.warn('could not keep the version count for the next deploys', { error: String(err) });
        });
    },
  };
}
