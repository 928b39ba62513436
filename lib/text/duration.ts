/**
 * A duration for people, the same in alerts, history and the CLI: 75 → "1m 15s", 3725 → "1h 2m 5s",
 * negative → "0s". The alert format on-call already reads (README, "What on-call receives").
 */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h}h ${m}m ${sec}s`;
  if (m > 0) return `${m}m ${sec}s`;
  return `${sec}s`;
}
