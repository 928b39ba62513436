import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * What a person wrote wrong in a manual request is said in words (lib/text/schema-issues.ts), not in
 * valibot's defaults, which quote the value ("but received ..."). In a process of its own, as in the
 * ResolveRelease Lambda: the words must not depend on another module having configured valibot.
 */
function parseInFreshProcess(input: unknown): string {
  const script = `
    const { parseRequest } = await import('./lib/release/request.ts');
    try { parseRequest(${JSON.stringify(input)}, { version: 1, targets: {} }); console.log('parsed'); }
    catch (err) { console.log(err.message); }`;
  return execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
  });
}

describe('a malformed manual request', () => {
  it('says which field has the wrong type and what it should be', () => {
    expect(parseInFreshProcess({ target: 5, imageTag: 'v1' })).toMatch(
      /\(target: expected a string, received a number\)/,
    );
  });

  it('names a field ebship does not know', () => {
    expect(parseInFreshProcess({ target: 'antenna-prod', tag: 'v1' })).toMatch(
      /\(tag: is not a field ebship knows\)/,
    );
  });

  it('names a missing field, a wrong choice and an overlong value together, without echoing the value', () => {
    const message = parseInFreshProcess({ imageTag: 'x'.repeat(500), trigger: 'deploy-now' });
    expect(message).toContain('target: is required');
    expect(message).toContain('imageTag: ECR tags are at most 128 characters');
    expect(message).toContain('trigger: expected one of "manual", "rollback", "push", "promotion"');
    expect(message).not.toContain('xxxxxxxx');
    expect(message).not.toContain('deploy-now');
  });
});
