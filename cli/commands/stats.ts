import type { Command } from 'commander';
import {
  type DeliveryStats,
  deliveryStats,
  type Percentiles,
  parseWindow,
} from '../../lib/stats/delivery.js';
import { listHistorySince } from '../../lib/store/deployments.js';
import { formatDuration } from '../../lib/text/duration.js';
import { withTable } from '../aws/store.js';
import { type Act, examples } from '../command.js';
import type { Context } from '../context.js';
import { usage } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { table } from '../output.js';

interface StatsOptions {
  since: string;
  from?: string;
}

export function registerStats(program: Command, act: Act): void {
  program
    .command('stats')
    .description(
      'Delivery metrics from history: deploys per week, lead time (push to healthy), change failure rate, time to restore, and promotion time with --from.',
    )
    .argument('[target]', 'target name from ebship.yml (default: every target)')
    .option('--since <window>', 'how far back: hours, days or weeks, e.g. 12h, 30d, 2w', '30d')
    .option(
      '--from <target>',
      "also time each digest from its success on this target (staging → production); default: the target's promote.from",
    )
    .addHelpText(
      'after',
      examples(
        'ebship stats',
        'ebship stats antenna-prod --since 90d',
        'ebship stats antenna-prod --from antenna-staging --json',
      ),
    )
    .action(act<[string | undefined, StatsOptions]>((ctx, target, opts) => stats(ctx, target, opts)));
}

export async function stats(
  ctx: Context,
  targetName: string | undefined,
  opts: StatsOptions,
): Promise<number> {
  const windowSeconds = parseWindow(opts.since);
  if (windowSeconds === undefined) {
    throw usage(
      'bad-window',
      `--since must be a number of hours, days or weeks such as 12h, 30d or 2w; got "${opts.since}"`,
    );
  }
  const names = targetName ? [targetName] : Object.keys(ctx.config().targets).sort();
  // One promoted target: its staging → production time, without being asked (issue 14).
  const fromName = opts.from ?? (targetName ? ctx.target(targetName).promote?.from : undefined);
  if (opts.from && names.includes(opts.from)) {
    throw usage(
      'bad-from',
      `--from ${opts.from} is the target being measured; name the target its digests come from`,
    );
  }
  const until = new Date();
  const since = new Date(until.getTime() - windowSeconds * 1000);
  const window = { since: since.toISOString(), until: until.toISOString() };
  const read = (name: string) => {
    const target = ctx.target(name);
    return withTable(ctx, () => listHistorySince(ctx.aws().db, ctx.names.table, target, window.since));
  };
  // The upstream target's successes may predate the window: read it back one more window.
  const from = fromName
    ? {
        target: fromName,
        entries: await withTable(ctx, () =>
          listHistorySince(
            ctx.aws().db,
            ctx.names.table,
            ctx.target(fromName),
            new Date(since.getTime() - windowSeconds * 1000).toISOString(),
          ),
        ),
      }
    : undefined;
  const results: DeliveryStats[] = [];
  for (const name of names) results.push(deliveryStats(name, await read(name), window, from));

  if (ctx.json) {
    ctx.out.json({ since: window.since, until: window.until, targets: results });
    return ExitCode.Ok;
  }
  const { out } = ctx;
  out.line(`Delivery since ${window.since.slice(0, 10)} (${opts.since})`);
  const rows = [
    [
      'TARGET',
      'DEPLOYS',
      'PER WEEK',
      'LEAD TIME p50/p90',
      'FAILURE RATE',
      'RESTORE p50/p90',
      ...(from ? [`FROM ${from.target} p50`] : []),
    ],
  ];
  for (const s of results) {
    rows.push([
      s.target,
      String(s.deployments),
      s.deploysPerWeek.toFixed(1),
      spread(s.leadTime),
      s.changeFailureRate === null
        ? '-'
        : `${Math.round(s.changeFailureRate * 100)}% (${s.failed} of ${s.deployments})`,
      `${spread(s.timeToRestore)}${s.timeToRestore.open > 0 ? `, ${s.timeToRestore.open} open` : ''}`,
      ...(s.promotion
        ? [s.promotion.p50Seconds === null ? '-' : formatDuration(s.promotion.p50Seconds)]
        : []),
    ]);
  }
  for (const line of table(rows)) out.line(`  ${line}`);
  const withoutPush = results.reduce((n, s) => n + s.leadTime.withoutPushTime, 0);
  if (withoutPush > 0) {
    out.line(`  (${withoutPush} deploy(s) recorded without a push time have no lead time)`);
  }
  return ExitCode.Ok;
}

function spread(p: Percentiles): string {
  if (p.p50Seconds === null || p.p90Seconds === null) return '-';
  return `${formatDuration(p.p50Seconds)} / ${formatDuration(p.p90Seconds)}`;
}
