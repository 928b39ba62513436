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
