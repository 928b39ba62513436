import type { Command } from 'commander';
import type { Diagnostics } from '../../lib/alerts/diagnostics.js';
import { requestTail, retrieveTail, type TailSource } from '../../lib/alerts/log-tail.js';
import { type Act, examples } from '../command.js';
import type { Context } from '../context.js';
import { usage } from '../errors.js';
import { ExitCode } from '../exit-codes.js';

/** Between RetrieveEnvironmentInfo polls; EB's instances upload a tail within seconds of the request. */
const POLL_MS = 3_000;
const POLLS = 20;
/** `--follow`: a fresh tail this often (each one is a RequestEnvironmentInfo). */
const FOLLOW_MS = 30_000;

interface LogsOptions {
  instance?: string;
  follow?: boolean;
  source?: string;
}

export function registerLogs(program: Command, act: Act): void {
  program
    .command('logs')
    .description(
      "Print the last lines the target's app printed on each instance (EB tail logs, or CloudWatch Logs when the environment streams there; secrets masked): the tail an alert shows.",
    )
    .argument('<target>', 'target in ebship.yml')
    .option('--instance <id>', 'only this instance (i-...)')
    .option('--follow', 'fetch a fresh tail every 30 s and print new lines, until Ctrl-C')
    .option(
      '--source <source>',
      'eb (EB tail logs), cloudwatch (CloudWatch Logs), or auto: CloudWatch Logs when the environment streams there',
      'auto',
    )
    .addHelpText(
      'after',
      `${examples('ebship logs antenna-prod', 'ebship logs antenna-prod --instance i-0a1b2c3d4e5f60718', 'ebship logs antenna-prod --follow', 'ebship logs antenna-prod --source eb', 'ebship logs antenna-prod --json | jq -r .instances[].lines')}\nExit 1 when no instance sent its tail in time.\n`,
    )
    .action(act<[string, LogsOptions]>((ctx, target, options) => logs(ctx, target, options)));
}

export async function logs(ctx: Context, name: string, options: LogsOptions): Promise<number> {
  if (options.instance !== undefined && !/^i-[0-9a-f]{8,17}$/.test(options.instance)) {
    throw usage(
      'bad-instance',
      `"${options.instance}" is not an EC2 instance id`,
      'Instance ids look like i-0a1b2c3d4e5f60718.',
    );
  }
  const source = options.source ?? 'auto';
  if (source !== 'eb' && source !== 'cloudwatch' && source !== 'auto') {
    throw usage('bad-source', `"${source}" is not a log source`, 'Use --source eb, cloudwatch or auto.');
  }
  const target = ctx.target(name);
  const env = { application: target.application, environment: target.environment };
  const seen = new Map<string, Set<string>>();
  let code: number = ExitCode.Ok;
  for (let round = 0; ; round++) {
    const tail = await fetchTail(ctx, env, source);
    code = print(ctx, name, tail, options.instance, seen, round > 0);
    if (!options.follow || ctx.json) return code;
    for (let waited = 0; waited < FOLLOW_MS && !ctx.io.signal?.aborted; waited += 1000) await ctx.sleep(1000);
    if (ctx.io.signal?.aborted) return ExitCode.Detached;
  }
}

async function fetchTail(
  ctx: Context,
  env: { application: string; environment: string },
  source: TailSource,
): Promise<Diagnostics> {
  const { eb, logs } = ctx.aws();
  // Without a CloudWatch Logs client (a test double), EB's tail logs.
  let tail = await requestTail(eb, env, new Date(), logs ? source : 'eb');
  tail = { ...tail, maxPolls: POLLS };
  // CloudWatch Logs has the lines already: one read, no wait.
  if (tail.source === 'cloudwatch') return retrieveTail(eb, env, tail, undefined, logs);
  while (!tail.done && !ctx.io.signal?.aborted) {
    await ctx.sleep(POLL_MS);
    tail = await retrieveTail(eb, env, tail);
  }
  return tail;
}

function print(
  ctx: Context,
  name: string,
  tail: Diagnostics,
  only: string | undefined,
  seen: Map<string, Set<string>>,
  onlyNew: boolean,
): number {
  const tails = tail.logTails.filter((t) => !only || t.instanceId === only);
  const instances = tail.instances.filter((i) => !only || i.instanceId === only);
  if (ctx.json) {
    ctx.out.json({
      target: name,
      instances: instances.map((i) => ({ ...i, ...tails.find((t) => t.instanceId === i.instanceId) })),
      note: tail.note,
    });
    return tails.length > 0 ? ExitCode.Ok : ExitCode.Findings;
  }
  if (only && instances.length === 0) {
    throw usage(
      'unknown-instance',
      `${only} is not an instance of ${name}`,
      `Its instances: ${tail.instances.map((i) => i.instanceId).join(', ') || 'none'}.`,
    );
  }
  for (const t of tails) {
    const version = tail.instances.find((i) => i.instanceId === t.instanceId)?.versionLabel;
    const lines = t.lines.split('\n');
    const known = seen.get(t.instanceId) ?? new Set<string>();
    const fresh = onlyNew ? lines.filter((l) => !known.has(l)) : lines;
    for (const l of lines) known.add(l);
    seen.set(t.instanceId, known);
    if (fresh.length === 0) continue;
    if (!onlyNew)
      ctx.out.line(ctx.out.paint('bold', `${t.instanceId}${version ? ` (${version})` : ''}: ${t.source}`));
    for (const l of fresh) ctx.out.line(onlyNew ? `${t.instanceId}  ${l}` : `  ${l}`);
    if (!onlyNew) ctx.out.line();
  }
  if (tail.note) ctx.err.line(tail.note);
  return tails.length > 0 ? ExitCode.Ok : ExitCode.Findings;
}
