import { describe, expect, it } from 'vitest';
import { findDigest, isDigest, isTag, PINNED_IMAGE } from '../../../lib/release/image-ref.js';

const HEX = 'a'.repeat(64);

describe('image references (ECR API reference, ImageIdentifier)', () => {
  it.each([
    [`sha256:${HEX}`, true],
    [`sha256:${'A'.repeat(64)}`, false],
    [`sha256:${HEX.slice(1)}`, false],
    [`sha256:${HEX}0`, false],
    [`sha512:${HEX}`, false],
    [`image@sha256:${HEX}`, false],
    [HEX, false],
    [undefined, false],
  ])('digest %s: %s', (value, ok) => {
    expect(isDigest(value)).toBe(ok);
  });

  it.each([
    ['v1.2.0', true],
    ['latest', true],
    ['_build-7', true],
    ['x'.repeat(128), true],
    ['x'.repeat(129), false],
    ['.hidden', false],
    ['-dash', false],
    ['has space', false],
    ['', false],
  ])('tag %j: %s', (value, ok) => {
    expect(isTag(value)).toBe(ok);
  });

  it('finds the digest ebship wrote into a version description, and only a whole one', () => {
    expect(findDigest(`ebship antenna-backend:v9 sha256:${HEX}`)).toBe(`sha256:${HEX}`);
    expect(findDigest(`ebship antenna-backend:v9 sha256:${HEX.slice(8)}`)).toBeUndefined();
    expect(findDigest(undefined)).toBeUndefined();
  });

  it('tells an image pinned by digest from one pinned by tag', () => {
    expect(PINNED_IMAGE.test(`123.dkr.ecr.us-east-1.amazonaws.com/app@sha256:${HEX}`)).toBe(true);
    expect(PINNED_IMAGE.test('123.dkr.ecr.us-east-1.amazonaws.com/app:v1')).toBe(false);
  });
});
