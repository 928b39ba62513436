import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SEED_CONFIG } from './harness.js';

const BIN = fileURLToPath(new URL('../../bin/ebship.js', import.meta.url));
const SEEDS = fileURLToPath(new URL('../fixtures/seeds/', import.meta.url));

/** `bin/ebship.js` as a user runs it: its own process, a clean environment, no credentials. */
function ebship(args: string[], env: Record<string, string> = {}) {
  const home = mkdtempSync(join(tmpdir(), 'ebship-home-'));
  writeFileSync(join(home, 'empty'), '');
  const result = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: home,
      EBSHIP_CONFIG: SEED_CONFIG,
      AWS_CONFIG_FILE: join(home, 'empty'),
      AWS_SHARED_CREDENTIALS_FILE: join(home, 'empty'),
      AWS_EC2_METADATA_DISABLED: 'true',
      ...env,
    },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('bin/ebship.js', () => {
  it('prints help with the exit codes and exits 0', () => {
    // Act
    const r = ebship(['--help']);

    // Assert
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: ebship [options] [command]');
    expect(r.stdout).toContain('3    rolled back');
    expect(r.stdout).toContain('7    environment busy');
  });

  it('shows examples in each command help', () => {
    // Act
    const r = ebship(['deploy', '--help']);

    // Assert
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('$ ebship deploy antenna-prod --tag v1.4.2 --follow');
    expect(r.stdout).toContain('--stage <stage>');
  });

  it('lints a directory and prints JSON that parses, exiting 1 on errors', () => {
    // Act
    const r = ebship(['lint', join(SEEDS, '004-antenna'), '--target', 'antenna-prod', '--json']);

    // Assert
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({
      files: ['.ebextensions/00_setup.config', 'Dockerrun.aws.json'],
    });
  });

  it('says how to configure credentials when there are none (exit 2)', () => {
    // Act: the endpoint is a closed local port, so nothing could leave the machine even with credentials.
    const r = ebship(['deploy', 'antenna-prod', '--tag', 'v1.4.2', '--region', 'us-east-1'], {
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    });

    // Assert
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no AWS credentials found');
    expect(r.stderr).toContain('aws configure');
  });

  it('exits 2 on an unknown command', () => {
    // Act
    const r = ebship(['deplyo']);

    // Assert
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'deplyo'");
  });
});
