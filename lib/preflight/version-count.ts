/**
 * The region's count of application versions, shared by every deploy for a while. Counting pages
 * through every version in the region (DescribeApplicationVersions, 1,000 a call): fifty deploys at
 * once, each counting, would spend EB's shared Describe budget for nothing, since the count moves by
 * one per deploy. One deploy counts; the others reuse its count for `VERSION_COUNT_TTL_SECONDS`, and
 * the finding says how old the count is.
 */
export const VERSION_COUNT_TTL_SECONDS = 900;
/** How far apart two hosts' clocks may be for a count to still be taken as fresh. */
const CLOCK_SKEW_MS = 60_000;

export interface VersionCount {
  count: number;
  countedAt: string;
  /** Seconds between the count and now: 0 when this call counted. */
  ageSeconds: number;
}

/** Where the last count is kept (an item in the table: lib/store/version-count.ts). */
export interface CountStore {
  read(): Promise<{ count: number; countedAt: string } | undefined>;
  write(value: { count: number; countedAt: string }): Promise<void>;
}

export async function cachedVersionCount(
  store: CountStore,
  count: () => Promise<number>,
  now = new Date(),
): Promise<VersionCount> {
  const kept = await store.read();
  if (kept) {
    const ageMs = now.getTime() - Date.parse(kept.countedAt);
    // Another Lambda host counted it, by its own clock: a count stamped a moment ahead of this one
    // is fresh, not invalid. One stamped far ahead (a broken clock) is counted again.
    if (ageMs > -CLOCK_SKEW_MS && ageMs < VERSION_COUNT_TTL_SECONDS * 1000)
      return { ...kept, ageSeconds: Math.max(0, Math.floor(ageMs / 1000)) };
  }
  const fresh = { count: await count(), countedAt: now.toISOString() };
  await store.write(fresh);
  return { ...fresh, ageSeconds: 0 };
}
