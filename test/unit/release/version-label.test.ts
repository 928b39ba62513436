import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  digestFromDescription,
  versionDescription,
  versionLabel,
} from '../../../lib/release/version-label.js';

const DIGEST = `sha256:${'ab12'.repeat(16)}`;

describe('versionLabel', () => {
  it('is the tag and the short digest', () => {
    expect(versionLabel('v10', DIGEST)).toBe('v10-ab12ab12ab12');
  });

  it('names an untagged image "untagged", and turns characters EB labels cannot hold into "-"', () => {
    expect(versionLabel(undefined, DIGEST)).toBe('untagged-ab12ab12ab12');
    expect(versionLabel('feature/x+y', DIGEST)).toBe('feature-x-y-ab12ab12ab12');
  });

  it('cuts a long tag so the label is exactly 100 characters, the EB maximum', () => {
    const label = versionLabel('t'.repeat(128), DIGEST);
    expect(label).toHaveLength(100);
    expect(label).toBe(`${'t'.repeat(87)}-ab12ab12ab12`);
  });

  it('is the same for the same tag and digest, so a re-push reuses the version', () => {
    expect(versionLabel('v10', DIGEST)).toBe(versionLabel('v10', DIGEST));
  });

  it('always fits EB: 1-100 characters and no "/"', () => {
    fc.assert(
      fc.property(
        fc.option(fc.string({ maxLength: 300 }), { nil: undefined }),
        fc.stringMatching(/^[a-f0-9]{64}$/),
        (tag, hex) => {
          const label = versionLabel(tag, `sha256:${hex}`);
          return (
            label.length >= 1 &&
            label.length <= 100 &&
            !label.includes('/') &&
            label.endsWith(hex.slice(0, 12))
          );
        },
      ),
    );
  });

  it('keeps the digest readable from the version description', () => {
    expect(digestFromDescription(versionDescription('antenna-backend', 'v10', DIGEST))).toBe(DIGEST);
    expect(versionDescription('antenna-backend', 'v10', DIGEST)).toBe(`ebship antenna-backend:v10 ${DIGEST}`);
  });
});
