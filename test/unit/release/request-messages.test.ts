import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * The manual request's schema is built with zod/mini (cold start, issue 16), which has no messages
 * of its own: what a person wrote wrong must still be said in words, as the full zod build says it.
 * In a process of its own, as in the ResolveRelease Lambda: here the config schema (full zod) would
 * have set zod's messages already.
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
      /target: Invalid input: expected string, received number/,
    );
  });

  it('names a field ebship does not know', () => {
    expect(parseInFreshProcess({ target: 'antenna-prod', tag: 'v1' })).toMatch(/Unrecognized key: "tag"/);
  });
});
