import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toCliError } from '../../cli/errors.js';
import { cli } from './harness.js';

/** Mistakes in the AWS setup are named, with the fix, before any AWS call. */

function home(config = '', credentials = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'ebship-home-'));
  mkdirSync(join(dir, '.aws'));
  writeFileSync(join(dir, '.aws', 'config'), config);
  writeFileSync(join(dir, '.aws', 'credentials'), credentials);
  return dir;
}

describe('AWS profile', () => {
  it('names a profile that does not exist, lists the known ones and says how to create it', async () => {
    const HOME = home(
      '[default]\nregion = us-east-1\n[profile ops]\nregion = eu-west-1\n',
      '[ci]\naws_access_key_id = x\n',
    );

    const r = await cli(['status', 'antenna-prod', '--profile', 'nope'], { env: { HOME } });

    expect(r.code).toBe(2);
    expect(r.stderr).toContain('AWS profile "nope" is not defined in');
    expect(r.stderr).toContain('known profiles: ci, default, ops');
    expect(r.stderr).toContain('aws configure --profile nope');
  });

  it('names the profile from AWS_PROFILE too, in --json', async () => {
    const r = await cli(['status', 'antenna-prod', '--json'], { env: { HOME: home(), AWS_PROFILE: 'nope' } });

    expect(r.code).toBe(2);
    expect(r.json()).toMatchObject({ error: { code: 'unknown-profile' } });
  });
});

describe('AWS region', () => {
  it('refuses a region that is not a region name instead of failing on DNS', async () => {
    const r = await cli(['status', 'antenna-prod', '--region', 'moon-1']);

    expect(r.code).toBe(2);
    expect(r.stderr).toContain('region "moon-1" is not an AWS region name (like us-east-1');
  });

  it('reports an unreachable endpoint (getaddrinfo ENOTFOUND) as a setup problem with a hint, not as unexpected', () => {
    const err = Object.assign(new Error('getaddrinfo ENOTFOUND elasticbeanstalk.us-moon-1.amazonaws.com'), {
      code: 'ENOTFOUND',
    });

    const cliError = toCliError(err);

    expect(cliError).toMatchObject({ exitCode: 2, code: 'endpoint-unreachable' });
    expect(cliError.message).toBe(
      'cannot reach the AWS endpoint elasticbeanstalk.us-moon-1.amazonaws.com (ENOTFOUND)',
    );
    expect(cliError.hint).toContain('Check the region');
  });
});
