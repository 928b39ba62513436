import * as v from 'valibot';
import { maskAppText } from '../text/mask.js';
import type { InstanceLogTail, InstanceVersion } from './model.js';

/**
 * What the log-tail steps (lib/alerts/log-tail.ts, on the rollback path) leave in the state under
 * `$.diagnostics` for the alert, the history and `ebship follow`: the environment's id (console
 * links), each instance and the version it runs, and the last lines each one's app printed.
 */
export const diagnosticsSchema = v.looseObject({
  environmentId: v.optional(v.string()),
  /**
   * Where the tail comes from: EB's tail logs (RequestEnvironmentInfo), or CloudWatch Logs when the
   * environment streams its instance logs there (lib/aws/log-groups.ts). Absent: EB (older states).
   */
  source: v.optional(v.picklist(['eb', 'cloudwatch'])),
  /** CloudWatch Logs: the groups read, the app's own output first. */
  logGroups: v.optional(v.array(v.string())),
  /** ISO time RequestEnvironmentInfo was called: EB's tail files for this request are newer. */
  requestedAt: v.optional(v.string()),
  /** Polls of RetrieveEnvironmentInfo so far, and how many the state machine allows. */
  polls: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(0)), 0),
  maxPolls: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(1)), 4),
  nextPollSeconds: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(1)), 15),
  /** True when the tail is complete (every instance answered) or will not come: stop polling. */
  done: v.optional(v.boolean(), false),
  instances: v.optional(
    v.array(
      v.object({
        instanceId: v.string(),
        versionLabel: v.optional(v.string()),
        deploymentStatus: v.optional(v.string()),
        color: v.optional(v.string()),
      }),
    ),
    () => [],
  ),
  logTails: v.optional(
    v.array(
      v.object({
        instanceId: v.string(),
        source: v.string(),
        lines: v.string(),
        truncated: v.boolean(),
      }),
    ),
    () => [],
  ),
  note: v.optional(v.string()),
});

export type Diagnostics = v.InferOutput<typeof diagnosticsSchema>;

export function diagnosticsOf(state: unknown): Diagnostics | undefined {
  const raw = (state as { diagnostics?: unknown } | undefined)?.diagnostics;
  if (raw === undefined || raw === null) return undefined;
  const parsed = v.safeParse(diagnosticsSchema, raw);
  return parsed.success ? parsed.output : undefined;
}

/** Lines kept per instance, and bytes: a 100 KB tail ends up as its last lines, cut at a line. */
export const TAIL_MAX_LINES = 100;
export const TAIL_MAX_BYTES = 6_000;
/** All instances together, so the alert keeps room for everything else. */
export const TAILS_MAX_BYTES = 18_000;

/**
 * App output for an alert: masked (lib/text/mask.ts), then its last lines within the caps. The cut is
 * at a line boundary and said in the text, so nobody mistakes a cut line for what the app printed.
 */
export function capTail(
  raw: string,
  maxLines = TAIL_MAX_LINES,
  maxBytes = TAIL_MAX_BYTES,
): { lines: string; truncated: boolean } {
  const all = maskAppText(raw).replace(/\n+$/, '').split('\n');
  const kept: string[] = [];
  let bytes = 0;
  for (let i = all.length - 1; i >= 0 && kept.length < maxLines; i--) {
    const line = all[i] ?? '';
    const size = Buffer.byteLength(line, 'utf8') + 1;
    if (bytes + size > maxBytes) {
      // One enormous line (a minified dump): keep its end rather than nothing at all.
      if (kept.length === 0) kept.unshift(`…${tailBytes(line, maxBytes - 4)}`);
      break;
    }
    kept.unshift(line);
    bytes += size;
  }
  const dropped = all.length - kept.length;
  if (dropped > 0) kept.unshift(`(${dropped} earlier line${dropped === 1 ? '' : 's'} not shown)`);
  return { lines: kept.join('\n'), truncated: dropped > 0 };
}

function tailBytes(text: string, maxBytes: number): string {
  const b = Buffer.from(text, 'utf8');
  return b
    .subarray(Math.max(0, b.length - maxBytes))
    .toString('utf8')
    .replace(/^\uFFFD+/, '');
}

/** Keeps instances' tails within TAILS_MAX_BYTES together: failing instances first, as given. */
export function capTails(tails: InstanceLogTail[], maxBytes = TAILS_MAX_BYTES): InstanceLogTail[] {
  const kept: InstanceLogTail[] = [];
  let bytes = 0;
  for (const t of tails) {
    const size = Buffer.byteLength(t.lines, 'utf8');
    if (bytes + size > maxBytes) break;
    kept.push(t);
    bytes += size;
  }
  return kept;
}

export type { InstanceLogTail, InstanceVersion };
