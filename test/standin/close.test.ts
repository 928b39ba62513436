import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { createClock } from '../../standin/clock.js';
import { startStandin } from '../../standin/server.js';

/**
 * Closing the stand-in while ebship's functions still write (an EventBridge-invoked function that
 * outlives the scenario, a Task of an aborted execution) must not crash the host process: dynalite
 * throws from a callback when a write reaches its closed database.
 */
describe('closing the stand-in', () => {
  it('lets the DynamoDB writes already under way finish, and refuses the ones that come after', async () => {
    const crashes: unknown[] = [];
    const onCrash = (err: unknown) => crashes.push(err);
    process.on('uncaughtException', onCrash);
    try {
      const standin = await startStandin({ clock: createClock(60) });
      const db = new DynamoDBClient({
        endpoint: standin.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
        maxAttempts: 1,
      });
      await db.send(
        new CreateTableCommand({
          TableName: 'ebship-close',
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      // Settled at once: a refused write is an answer here, not an unhandled rejection.
      const put = (i: number) =>
        db
          .send(
            new PutItemCommand({
              TableName: 'ebship-close',
              Item: { pk: { S: `k${i}` }, n: { N: String(i) } },
            }),
          )
          .then(
            () => 'written',
            (err: Error) => err.name,
          );
      const early = Array.from({ length: 40 }, (_, i) => put(i));
      // Close once the first write is answered, while the others are still under way.
      await Promise.race(early);
      const closed = standin.close();
      const late = Array.from({ length: 10 }, (_, i) => put(100 + i));
      await closed;
      const answers = await Promise.all([...early, ...late]);
      // Give a write that dynalite finishes after close its turn to throw.
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
      await new Promise((r) => setTimeout(r, 50));

      expect(crashes).toEqual([]);
      expect(answers.slice(0, 40)).toContain('written');
      // After close, a connection is refused, as from an endpoint that is gone.
      expect(answers.slice(40).filter((a) => a === 'written')).toEqual([]);
    } finally {
      process.off('uncaughtException', onCrash);
    }
  });
});
