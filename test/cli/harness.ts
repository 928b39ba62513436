import { mkdtempSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { vi } from 'vitest';
import { run } from '../../cli/main.js';
import { createDeployTableCommand } from '../../lib/store/table.js';

export const SEED_CONFIG = fileURLToPath(new URL('../fixtures/seeds/ebship.yml', import.meta.url));
export const DIGEST = `sha256:${'3f2a9c1b7d4e'.padEnd(64, 'a')}`;
export const OLD_DIGEST = `sha256:${'0b1c2d3e4f5a'.padEnd(64, 'b')}`;
export const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:ebship-dev-deploy';
export const execArn = (name: string) =>
  `arn:aws:states:us-east-1:123456789012:execution:ebship-dev-deploy:${name}`;

/** A writable that collects what the CLI prints; `isTTY` as asked. */
class Sink {
  text = '';
  constructor(readonly isTTY = false) {}
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as the one JSON document `--json` promises. */
  json<T = Record<string, unknown>>(): T;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  tty?: boolean;
  signal?: AbortSignal;
  /** Called on every poll wait (tests abort from here to simulate Ctrl-C). */
  onSleep?: (ms: number) => void;
  /** Real milliseconds each poll wait takes (default 0: return at once). */
  sleepMs?: number;
}

/** Runs `ebship <argv>` in process with the seeds' ebship.yml; polling waits return at once. */
export async function cli(argv: string[], options: RunOptions = {}): Promise<CliRun> {
  const stdout = new Sink(options.tty);
  const stderr = new Sink(options.tty);
  const code = await run(argv, {
    stdout,
    stderr,
    env: { EBSHIP_CONFIG: SEED_CONFIG, AWS_REGION: 'us-east-1', ...options.env },
    cwd: options.cwd ?? mkdtempSync(join(tmpdir(), 'ebship-cli-')),
    signal: options.signal,
    sleep: async (ms) => {
      options.onSleep?.(ms);
      if (options.sleepMs) await new Promise((resolve) => setTimeout(resolve, options.sleepMs));
    },
  });
  return {
    code,
    stdout: stdout.text,
    stderr: stderr.text,
    json: <T>() => JSON.parse(stdout.text) as T,
  };
}

// dynalite ships no type declarations; this is the one call the tests make.
const dynalite: (options: { createTableMs: number }) => Server = createRequire(import.meta.url)('dynalite');

export interface LocalTable {
  db: DynamoDBDocumentClient;
  endpoint: string;
  close(): Promise<void>;
}

/**
 * ebship's table (`ebship-dev`) in a real DynamoDB wire protocol (dynalite). The CLI reaches it the
 * way it reaches AWS: through AWS_ENDPOINT_URL_DYNAMODB, set by `pointSdkAt`.
 */
export async function startTable(table = 'ebship-dev'): Promise<LocalTable> {
  const server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  await client.send(createDeployTableCommand(table));
  return {
    db: DynamoDBDocumentClient.from(client),
    endpoint,
    close: async () => {
      client.destroy();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

/** Points the SDK's DynamoDB client at the local table, with throwaway credentials. */
export function pointSdkAt(table: LocalTable): void {
  vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', table.endpoint);
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
}
