import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { IN_WORDS, issueLines } from '../../../lib/text/schema-issues.js';

const request = v.strictObject({ target: v.string(), tags: v.optional(v.array(v.string())) });

function linesFor(input: unknown): string[] {
  const parsed = v.safeParse(request, input, IN_WORDS);
  return parsed.success ? [] : issueLines(parsed.issues, 'input');
}

describe('schema issues in words', () => {
  it('says where and what is expected, one line per field', () => {
    expect(linesFor({ tags: ['a', 2, 3] })).toEqual([
      'target: is required',
      'tags.1: expected a string, received a number',
      'tags.2: expected a string, received a number',
    ]);
    expect(linesFor(null)).toEqual(['input: expected an object, received null']);
  });

  it('keeps a key the input made up on one line and within 100 characters', () => {
    const [line] = linesFor({ target: 'a', [`x\n${'y'.repeat(500)}`]: 1 });
    expect(line).toMatch(/^x\?y+…: is not a field ebship knows$/);
    expect(line?.split(':')[0]?.length).toBe(100);
  });
});
