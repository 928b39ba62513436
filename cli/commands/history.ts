import type { Command } from 'commander';
import type { HistoryEntry } from '../../lib/store/deployments.js';
import { maskAppText } from '../../lib/text/mask.js';
import { history as readHistory } from '../aws/store.js';
import { type Act, examples } from '../command.js';
import type { Context } from '../context.js';
import { usage } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { formatDuration, formatTime, type Style, table } from '../output.js';

interface HistoryOptions {
  limit: string;
}

const MAX_LIMIT = 200;

export function registerHistory(program: Command, act: Act): void {
  program
    .command('history')
    .description('List recent deployments of a target: when, trigger, from -> to, outcome, duration and why.')
    .argument('<target>', 'target name from ebship.yml')
    .option('-n, --limit <n>', `how many, newest first (1-${MAX_LIMIT})`, '10')
    .addHelpText(
      'after',
      examples(
        'ebship history antenna-prod',
        'ebship history antenna-prod --limit 50 --stage prod',
        'ebship history antenna-prod --json | jq -r \'.entries[] | select(.outcome=="ROLLED_BACK") | .reason\'',
      ),
    )
    .action(act<[string, HistoryOptions]>((ctx, target, opts) => history(ctx, target, opts)));
}

const OUTCOME_TEXT: Record<HistoryEntry['outcome'], [string, Style]> = {
  SUCCEEDED: ['deployed', 'green'],
  ROLLED_BACK: ['rolled back', 'yellow'],
  FAILED_BEFORE_DEPLOY: ['failed before deploy', 'yellow'],
  ROLLBACK_FAILED: ['ROLLBACK FAILED', 'red'],
  OVERRIDDEN: ['overridden by another deploy', 'yellow'],
  NOT_APPROVED: ['not approved', 'cyan'],
  ABORTED: ['stopped from outside', 'red'],
  TIMED_OUT: ['execution timed out', 'red'],
  SKIPPED: ['skipped', 'cyan'],
  RUNNING: ['running', 'cyan'],
};

export async function history(ctx: Context, targetName: string, opts: HistoryOptions): Promise<number> {
  const limit = Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw usage('bad-limit', `--limit must be a whole number from 1 to ${MAX_LIMIT}, got "${opts.limit}"`);
  }
  const target = ctx.target(targetName);
  const entries = await readHistory(ctx, target, limit);
  if (ctx.json) {
    ctx.out.json({
      target: targetName,
      application: target.application,
      environment: target.environment,
      entries,
    });
    return ExitCode.Ok;
  }
  const { out } = ctx;
  out.line(`${out.paint('bold', targetName)}  (${target.application}/${target.environment})`);
  if (entries.length === 0) {
    out.line('  No deployments recorded yet.');
    return ExitCode.Ok;
  }
  const rows = [['WHEN', 'TRIGGER', 'FROM -> TO', 'OUTCOME', 'TOOK', 'WHY']];
  for (const e of entries) {
    const [text, style] = OUTCOME_TEXT[e.outcome];
    rows.push([
      formatTime(e.startedAt),
      e.trigger,
      `${e.fromVersion ?? '(unknown)'} -> ${e.toVersion}`,
      out.paint(style, text),
      e.durationSeconds === undefined ? '-' : formatDuration(e.durationSeconds),
      // Issue 14: who let a promotion through manual approval.
      oneLine(`${e.approvedBy ? `approved by ${e.approvedBy}; ` : ''}${e.reason ?? ''}`),
    ]);
  }
  for (const line of table(rows)) out.line(`  ${line}`);
  return ExitCode.Ok;
}

/** A reason quotes the app and EB: masked (lib/text/mask.ts), then flattened and capped. */
function oneLine(text: string): string {
  const flat = maskAppText(text).replace(/\s+/g, ' ').trim();
  return flat.length > 160 ? `${flat.slice(0, 159)}…` : flat;
}
