import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDeployTableCommand } from '../../../lib/store/table.js';

// dynalite ships no type declarations; this is the one call the tests make.
const dynalite: (options: { createTableMs: number }) => Server = createRequire(import.meta.url)('dynalite');

export interface LocalTable {
  db: DynamoDBDocumentClient;
  table: string;
  close(): Promise<void>;
}

/** A real DynamoDB wire protocol in process (dynalite), with ebship's table (pk + sk strings). */
export async function startLocalTable(table = 'ebship-test'): Promise<LocalTable> {
  const server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  await client.send(createDeployTableCommand(table));
  return {
    db: DynamoDBDocumentClient.from(client),
    table,
    close: async () => {
      client.destroy();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
