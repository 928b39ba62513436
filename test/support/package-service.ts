import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** The repository root: the service `serverless package` builds. */
export const REPO = resolve(import.meta.dirname, '../..');

/** What `serverless package` reads of the service, copied by `copyService`. */
const SERVICE_ENTRIES = [
  'serverless.yml',
  'package.json',
  'tsconfig.json',
  'infra',
  'functions',
  'lib',
  'state-machines',
  'bin',
  'cli',
];

/**
 * A copy of the service in a temporary folder (node_modules linked), so a test can package it with
 * its own ebship.yml, or unzip what it packaged, without touching the working tree's `.esbuild`.
 */
export function copyService(prefix: string, extra: string[] = []): string {
  const service = mkdtempSync(join(tmpdir(), prefix));
  for (const entry of [...SERVICE_ENTRIES, ...extra]) {
    cpSync(join(REPO, entry), join(service, entry), { recursive: true });
  }
  symlinkSync(join(REPO, 'node_modules'), join(service, 'node_modules'));
  return service;
}

/**
 * `serverless package` of `service` into `out`, offline: the framework only wants some credentials
 * to exist. Rejects with its output when packaging fails.
 */
export function packageService(service: string, out: string, stage = 'test') {
  return exec(
    'npx',
    ['--no-install', 'serverless', 'package', '--stage', stage, '--region', 'us-east-1', '--package', out],
    {
      cwd: service,
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: 'AKIDPACKAGEONLY',
        AWS_SECRET_ACCESS_KEY: 'package-only',
        AWS_REGION: 'us-east-1',
        SLS_TELEMETRY_DISABLED: '1',
        SLS_NOTIFICATIONS_MODE: 'off',
      },
      timeout: 240_000,
      maxBuffer: 16 * 1024 * 1024,
    },
  );
}
