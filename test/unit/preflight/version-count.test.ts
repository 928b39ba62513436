import { describe, expect, it } from 'vitest';
import { type CountStore, cachedVersionCount } from '../../../lib/preflight/version-count.js';

/** The region's version count, shared between deploys through a store (an S3 object in AWS). */
function store(kept?: { count: number; countedAt: string }) {
  const writes: { count: number; countedAt: string }[] = [];
  const s: CountStore = { read: async () => kept, write: async (v) => void writes.push(v) };
  return { s, writes };
}
const NOW = new Date('2026-11-23T10:00:00.000Z');
const at = (ms: number) => new Date(NOW.getTime() + ms).toISOString();
const recount = async () => 7;

describe('cachedVersionCount', () => {
  it('reuses a count made less than 15 minutes ago, saying how old it is', async () => {
    const { s, writes } = store({ count: 985, countedAt: at(-125_000) });

    expect(await cachedVersionCount(s, recount, NOW)).toEqual({
      count: 985,
      countedAt: at(-125_000),
      ageSeconds: 125,
    });
    expect(writes).toEqual([]);
  });

  it('takes a count stamped a moment ahead of this clock (another host counted it) as fresh', async () => {
    const { s } = store({ count: 985, countedAt: at(3) });

    expect(await cachedVersionCount(s, recount, NOW)).toMatchObject({ count: 985, ageSeconds: 0 });
  });

  it('counts again when the kept count is stale, stamped far in the future, or missing, and keeps the new one', async () => {
    for (const kept of [
      { count: 985, countedAt: at(-900_000) },
      { count: 985, countedAt: at(3_600_000) },
      undefined,
    ]) {
      const { s, writes } = store(kept);

      expect(await cachedVersionCount(s, recount, NOW)).toEqual({
        count: 7,
        countedAt: at(0),
        ageSeconds: 0,
      });
      expect(writes).toEqual([{ count: 7, countedAt: at(0) }]);
    }
  });
});
