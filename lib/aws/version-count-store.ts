import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { logger } from '../logger.js';
import type { CountStore } from '../preflight/version-count.js';

/** The object in the bundle bucket that holds the region's last version count. */
export const VERSION_COUNT_KEY = 'ebship/version-count.json';

/**
 * Keeps the count in the bundle bucket, which BuildBundle already writes to: no other client in
 * its function. The count only saves EB calls, so it never stops a deploy: a missing, unreadable or
 * malformed object is a missing count (the step counts again), and a failed write is not kept.
 */
export function s3CountStore(client: S3Client, bucket: string): CountStore {
  return {
    async read() {
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: VERSION_COUNT_KEY }));
        const value = JSON.parse((await out?.Body?.transformToString()) ?? '');
        return typeof value?.count === 'number' && typeof value?.countedAt === 'string'
          ? { count: value.count, countedAt: value.countedAt }
          : undefined;
      } catch (err) {
        if (!(err instanceof NoSuchKey || err instanceof SyntaxError)) {
          logger.warn('could not read the shared version count; counting again', { error: String(err) });
        }
        return undefined;
      }
    },
    async write(value) {
      await client
        .send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: VERSION_COUNT_KEY,
            Body: JSON.stringify(value),
            ContentType: 'application/json',
            ServerSideEncryption: 'AES256',
          }),
        )
        .catch((err: unknown) => {
          logger.warn('could not keep the version count for the next deploys', { error: String(err) });
        });
    },
  };
}
