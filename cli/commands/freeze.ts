import type { Command } from 'commander';
import { parseWindow } from '../../lib/stats/delivery.js';
import { startHeldPush } from '../../lib/steps/freeze.js';
import { deleteFreeze, getFreeze, getHeld, isFrozen, putFreeze } from '../../lib/store/freeze.js';
import { findStateMachine } from '../aws/executions.js';
import { withTable } from '../aws/store.js';
import { type Act, examples } from '../command.js';
import type { Context } from '../context.js';
import { usage } from '../errors.js';
import { ExitCode } from '../exit-codes.js';

interface FreezeOptions {
  reason: string;
  until?: string;
}

export function registerFreeze(program: Command, act: Act): void {
  program
    .command('freeze')
    .description(
      'Stop automatic deploys to a target: pushes are held (the newest wins) and deploy on unfreeze; manual deploys need --force; rollbacks always run.',
    )
    .argument('<target>', 'target name from ebship.yml')
    .requiredOption('--reason <text>', 'why, shown in status, history and to anyone who deploys')
    .option('--until <time>', 'end the freeze by itself: an ISO time, or a duration such as 4h, 2d, 1w')
    .addHelpText(
      'after',
      examples(
        'ebship freeze antenna-prod --reason "prod incident INC-123: stop shipping"',
        'ebship freeze antenna-prod --reason "holiday freeze" --until 2026-12-28T08:00:00Z',
      ),
    )
    .action(act<[string, FreezeOptions]>((ctx, target, opts) => freeze(ctx, target, opts)));
  program
    .command('unfreeze')
    .description('End a freeze; the newest push it held starts deploying.')
    .argument('<target>', 'target name from ebship.yml')
    .addHelpText('after', examples('ebship unfreeze antenna-prod'))
    .action(act<[string]>((ctx, target) => unfreeze(ctx, target)));
}

/** `--until`: an ISO time in the future, or a duration from now. */
function untilOf(text: string, now: Date): string {
  const seconds = parseWindow(text);
  const at = seconds !== undefined ? now.getTime() + seconds * 1000 : Date.parse(text);
  if (Number.isNaN(at) || !/\d/.test(text)) {
    throw usage(
      'bad-until',
      `--until must be an ISO time (2026-12-28T08:00:00Z) or a duration (4h, 2d, 1w); got "${text}"`,
    );
  }
  if (at <= now.getTime())
    throw usage('bad-until', `--until ${text} is in the past; a freeze must end later than now`);
  return new Date(at).toISOString();
}

export async function freeze(ctx: Context, targetName: string, opts: FreezeOptions): Promise<number> {
  const reason = opts.reason.replace(/\s+/g, ' ').trim();
  if (reason.length === 0 || reason.length > 300) {
    throw usage('bad-reason', '--reason must be 1-300 characters: what on-call and deployers should read');
  }
  const target = ctx.target(targetName);
  const now = new Date();
  const until = opts.until === undefined ? undefined : untilOf(opts.until, now);
  const entry = {
    reason,
    // Self-reported (the OS user of the CLI); CloudTrail has the IAM identity of the PutItem.
    by: ctx.io.env.USER ?? ctx.io.env.USERNAME ?? 'unknown',
    frozenAt: now.toISOString(),
    ...(until ? { until } : {}),
  };
  await withTable(ctx, () => putFreeze(ctx.aws().db, ctx.names.table, target, entry));
  if (ctx.json) ctx.out.json({ target: targetName, frozen: entry });
  else {
    ctx.out.line(
      `Froze ${ctx.out.paint('bold', targetName)} (${target.application}/${target.environment})${until ? ` until ${until}` : ''}: ${reason}`,
    );
    ctx.out.line(
      `  pushes are held and deploy on \`ebship unfreeze ${targetName}\`; manual deploys need --force; rollbacks still run`,
    );
  }
  return ExitCode.Ok;
}

export async function unfreeze(ctx: Context, targetName: string): Promise<number> {
  const target = ctx.target(targetName);
  const { db, sfn } = ctx.aws();
  const table = ctx.names.table;
  const was = await withTable(ctx, () => deleteFreeze(db, table, target));
  const held = await getHeld(db, table, target);
  let started: { executionArn: string; name: string } | undefined;
  if (held) {
    const region = await ctx.region();
    const stateMachineArn = await findStateMachine(sfn, ctx.names.stateMachine, {
      region,
      stage: ctx.names.stage,
    });
    started = await startHeldPush({ db, sfn }, table, stateMachineArn, target, held);
  }
  if (ctx.json) {
    ctx.out.json({
      target: targetName,
      wasFrozen: isFrozen(was, new Date()),
      ...(held ? { released: held, started } : {}),
    });
    return ExitCode.Ok;
  }
  ctx.out.line(
    was
      ? `Unfroze ${ctx.out.paint('bold', targetName)} (was: "${was.reason}")`
      : `${targetName} was not frozen`,
  );
  if (held && started) {
    ctx.out.line(`  deploying the held push ${held.versionLabel}: ${started.name}`);
    ctx.out.line(`  follow it: ebship follow ${started.name}${ctx.stageFlag}`);
  }
  return ExitCode.Ok;
}

/** For `deploy` and `status`: the freeze in force on a target, if any. */
export async function activeFreeze(ctx: Context, target: Parameters<typeof getFreeze>[2]) {
  const f = await withTable(ctx, () => getFreeze(ctx.aws().db, ctx.names.table, target));
  return isFrozen(f, new Date()) ? f : undefined;
}
