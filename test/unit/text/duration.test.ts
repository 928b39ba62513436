import { describe, expect, it } from 'vitest';
import { formatDuration } from '../../../lib/text/duration.js';

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [59.4, '59s'],
    [60, '1m 0s'],
    [616, '10m 16s'],
    [3725, '1h 2m 5s'],
    [-5, '0s'],
  ])('%s s → %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});
