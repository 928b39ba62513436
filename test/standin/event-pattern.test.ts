import { describe, expect, it } from 'vitest';
import { fallbackEcrPattern } from '../../standin/ecr-rule.js';
import { matchesPattern } from '../../standin/event-pattern.js';

const push = (detail: Record<string, unknown>) => ({
  source: 'aws.ecr',
  'detail-type': 'ECR Image Action',
  detail: {
    'action-type': 'PUSH',
    result: 'SUCCESS',
    'repository-name': 'antenna-backend',
    'image-tag': 'v1.2.0',
    ...detail,
  },
});

describe('EventBridge pattern matching', () => {
  const rule = fallbackEcrPattern(['antenna-backend', 'treasury-plane-api']);

  it('matches a successful push to a configured repository', () => {
    expect(matchesPattern(push({}), rule)).toBe(true);
  });

  it.each([
    ['another repository', { 'repository-name': 'other' }],
    ['a failed push', { result: 'FAILURE' }],
    ['a delete', { 'action-type': 'DELETE' }],
  ])('does not match %s', (_name, detail) => {
    expect(matchesPattern(push(detail), rule)).toBe(false);
  });

  it('matches prefixes, anything-but and exists', () => {
    const pattern = {
      detail: {
        'image-tag': [{ prefix: 'v' }],
        result: [{ 'anything-but': ['FAILURE'] }],
        'image-digest': [{ exists: false }],
      },
    };
    expect(matchesPattern(push({}), pattern)).toBe(true);
    expect(matchesPattern(push({ 'image-tag': 'main-abc1234' }), pattern)).toBe(false);
    expect(matchesPattern(push({ 'image-digest': 'sha256:00' }), pattern)).toBe(false);
  });

  it('matches an anything-but prefix and any element of an array field', () => {
    expect(matchesPattern({ tags: ['a', 'latest'] }, { tags: ['latest'] })).toBe(true);
    expect(matchesPattern({ tag: 'latest' }, { tag: [{ 'anything-but': { prefix: 'lat' } }] })).toBe(false);
  });

  it('requires a nested object where the pattern nests', () => {
    expect(matchesPattern({ detail: 'flat' }, { detail: { result: ['SUCCESS'] } })).toBe(false);
  });
});

// Operators as the EventBridge user guide documents them ("Content filtering in Amazon EventBridge
// event patterns"): prefix, wildcard and anything-but, the ones a tag filter needs.
describe('EventBridge content filters', () => {
  const tagged = (tag: string) => push({ 'image-tag': tag });
  const only = (filter: unknown) => ({ detail: { 'image-tag': [filter] } }) as never;

  it('prefix, and prefix ignoring case', () => {
    expect(matchesPattern(tagged('v1.4.0'), only({ prefix: 'v1.' }))).toBe(true);
    expect(matchesPattern(tagged('latest'), only({ prefix: 'v1.' }))).toBe(false);
    expect(matchesPattern(tagged('V1.4.0'), only({ prefix: { 'equals-ignore-case': 'v1.' } }))).toBe(true);
  });

  it('wildcard: * is any run of characters, \\* a literal star', () => {
    expect(matchesPattern(tagged('release-2026-12-01'), only({ wildcard: 'release-*-01' }))).toBe(true);
    expect(matchesPattern(tagged('release-01'), only({ wildcard: 'release-*-01' }))).toBe(false);
    expect(matchesPattern(tagged('a.b'), only({ wildcard: 'a?b' }))).toBe(false);
    expect(matchesPattern(tagged('v*'), only({ wildcard: 'v\\*' }))).toBe(true);
    expect(matchesPattern(tagged('v1'), only({ wildcard: 'v\\*' }))).toBe(false);
  });

  it('anything-but: a value, a list, a prefix, a suffix, a wildcard', () => {
    expect(matchesPattern(tagged('v1'), only({ 'anything-but': 'latest' }))).toBe(true);
    expect(matchesPattern(tagged('latest'), only({ 'anything-but': ['latest', 'dev'] }))).toBe(false);
    expect(matchesPattern(tagged('sha-abc'), only({ 'anything-but': { prefix: 'sha-' } }))).toBe(false);
    expect(matchesPattern(tagged('v1-rc'), only({ 'anything-but': { suffix: ['-rc', '-beta'] } }))).toBe(
      false,
    );
    expect(matchesPattern(tagged('v1'), only({ 'anything-but': { suffix: ['-rc', '-beta'] } }))).toBe(true);
    expect(matchesPattern(tagged('pr-12-build'), only({ 'anything-but': { wildcard: 'pr-*' } }))).toBe(false);
    expect(
      matchesPattern(tagged('LATEST'), only({ 'anything-but': { 'equals-ignore-case': 'latest' } })),
    ).toBe(false);
  });

  it('anything-but does not match an absent field; exists: false does', () => {
    const untagged = push({ 'image-tag': undefined });
    delete (untagged.detail as Record<string, unknown>)['image-tag'];
    expect(matchesPattern(untagged, only({ 'anything-but': 'latest' }))).toBe(false);
    expect(matchesPattern(untagged, only({ exists: false }))).toBe(true);
  });

  it('numeric ranges', () => {
    const event = { detail: { size: 250 } };
    expect(matchesPattern(event, { detail: { size: [{ numeric: ['>', 0, '<=', 250] }] } })).toBe(true);
    expect(matchesPattern(event, { detail: { size: [{ numeric: ['<', 100] }] } })).toBe(false);
  });
});

describe('EventBridge wildcard filter', () => {
  // "wildcard": `*` matches any run of characters (EventBridge content filtering).
  it('matches * anywhere and nothing else as a pattern', () => {
    const pattern = { detail: { 'image-tag': [{ wildcard: 'v*-prod' }] } };
    expect(matchesPattern(push({ 'image-tag': 'v1.2-prod' }), pattern)).toBe(true);
    expect(matchesPattern(push({ 'image-tag': 'v1.2-staging' }), pattern)).toBe(false);
    expect(
      matchesPattern(push({ 'image-tag': 'v1.2-prodX' }), {
        detail: { 'image-tag': [{ wildcard: 'v1.2-prod' }] },
      }),
    ).toBe(false);
    expect(
      matchesPattern(push({ 'image-tag': 'v1x2-prod' }), {
        detail: { 'image-tag': [{ wildcard: 'v1.2*' }] },
      }),
    ).toBe(false);
  });
});
