import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lib/config/load.js';
import { InputInvalid } from '../../../lib/errors.js';
import { parseRequest } from '../../../lib/release/request.js';
import { tagRejection } from '../../../lib/release/tags.js';

const config = loadConfig('ebship.yml');
const push = JSON.parse(readFileSync('test/fixtures/events/ecr-push.json', 'utf8'));
const withDetail = (detail: Record<string, unknown>) => ({ ...push, detail: { ...push.detail, ...detail } });
const DIGEST = push.detail['image-digest'];

describe('parseRequest', () => {
  it('turns an ECR push of a matching tag into a push request for its target', () => {
    expect(parseRequest(push, config)).toEqual([
      {
        request: {
          kind: 'push',
          target: 'antenna-prod',
          repository: 'antenna-backend',
          imageTag: 'v10',
          imageDigest: DIGEST,
        },
      },
    ]);
  });

  it.each([
    ['an untagged push', { 'image-tag': undefined }, 'untagged push to antenna-backend'],
    [
      'the latest tag',
      { 'image-tag': 'latest' },
      'antenna-backend:latest is an ignored tag for target antenna-prod',
    ],
    ['a tag outside the pattern', { 'image-tag': 'feature-x' }, 'does not match the tag pattern "v*"'],
    ['a failed push', { result: 'FAILURE' }, 'is not a successful push'],
    ['a push without a digest', { 'image-digest': undefined }, 'carries no valid image digest'],
    ['a push with a malformed digest', { 'image-digest': 'sha256:abc' }, 'carries no valid image digest'],
    [
      'a push with an upper-case digest',
      { 'image-digest': `sha256:${'A'.repeat(64)}` },
      'carries no valid image digest',
    ],
    ['a delete', { 'action-type': 'DELETE' }, 'is not a successful push'],
    [
      'another repository',
      { 'repository-name': 'something-else' },
      'no target deploys repository something-else',
    ],
  ])('ignores %s, saying why', (_, detail, reason) => {
    const [only] = parseRequest(withDetail(detail), config);
    expect(only).toEqual({ ignored: expect.stringContaining(reason) });
  });

  it('accepts a manual request by tag or by digest', () => {
    expect(parseRequest({ target: 'antenna-prod', imageTag: 'v10' }, config)).toEqual([
      { request: { kind: 'manual', target: 'antenna-prod', imageTag: 'v10', imageDigest: undefined } },
    ]);
    expect(parseRequest({ target: 'antenna-prod', imageDigest: DIGEST }, config)[0]).toMatchObject({
      request: { kind: 'manual', imageDigest: DIGEST },
    });
  });

  it('accepts a rollback request with or without a version label', () => {
    expect(parseRequest({ target: 'antenna-prod', trigger: 'rollback' }, config)).toEqual([
      { request: { kind: 'rollback', target: 'antenna-prod', rollbackTo: undefined } },
    ]);
    expect(parseRequest({ target: 'antenna-prod', rollbackTo: 'v9-1234567890ab' }, config)[0]).toMatchObject({
      request: { rollbackTo: 'v9-1234567890ab' },
    });
  });

  it.each([
    [
      { target: 'nope', imageTag: 'v1' },
      'unknown target "nope"; known targets: antenna-prod, treasury-plane-dev',
    ],
    [{ target: 'antenna-prod' }, 'give "imageTag" or "imageDigest"'],
    [
      { target: 'antenna-prod', imageDigest: 'sha256:xyz' },
      'must be "sha256:" followed by 64 lowercase hex digits',
    ],
    [{ target: 'antenna-prod', imageTag: 'v1; rm -rf /' }, 'is not a valid ECR tag'],
    [{ target: 'antenna-prod', imageTag: 'v1', extra: 1 }, 'manual execution input is invalid'],
    [{ source: 'aws.s3', 'detail-type': 'Object Created' }, 'not an ECR push event'],
    // An object whose own toString throws is described by its type, never called (fuzzer seed 1958139623).
    [
      { source: 'aws.s3', 'detail-type': { toString: {} } },
      'not an ECR push event (source "aws.s3", detail-type "(object)")',
    ],
    [
      { target: 'antenna-prod', trigger: 'rollback', imageTag: 'v9' },
      'a rollback takes "rollbackTo" (a version label), not an image tag or digest',
    ],
    [
      { target: 'antenna-prod', rollbackTo: 'v9-090909090909', imageDigest: DIGEST },
      'a rollback takes "rollbackTo"',
    ],
    [{ target: 5, imageTag: 'v1' }, 'manual execution input is invalid (target: '],
    ['v1', 'manual execution input is invalid (input: '],
  ])('rejects bad manual input %j with a message that says how to fix it', (input, message) => {
    expect(() => parseRequest(input, config)).toThrow(InputInvalid);
    expect(() => parseRequest(input, config)).toThrow(message);
  });

  it('never lets an event value through that is not a plain tag or digest', () => {
    fc.assert(
      fc.property(fc.string(), (tag) => {
        try {
          const [r] = parseRequest({ target: 'antenna-prod', imageTag: tag }, config);
          return r !== undefined && 'request' in r && /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag);
        } catch (err) {
          return err instanceof InputInvalid;
        }
      }),
    );
  });
});

describe('tagRejection', () => {
  it('matches regex tag patterns from the config', () => {
    const target = config.targets['treasury-plane-dev'];
    if (!target) throw new Error('fixture target missing');
    expect(tagRejection('v1.2.3', target)).toBeUndefined();
    expect(tagRejection('main-abc1234', target)).toBeUndefined();
    expect(tagRejection('v1.2', target)).toContain('does not match the tag regex');
  });
});

describe('rollbackTo', () => {
  const config = loadConfig('ebship.yml');

  it.each([
    ['a 150,000-character label', 'v'.repeat(150_000), 'EB version labels are 1-100 characters'],
    ['a newline that would forge alert lines', 'v9\nROLLED BACK: all good', 'no control characters'],
  ])('refuses %s without echoing it', (_what, rollbackTo, message) => {
    const run = () => parseRequest({ target: 'antenna-prod', rollbackTo }, config);

    expect(run).toThrow(message);
    expect(() => run()).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('vvvvvvvvvv') }),
    );
  });
});
