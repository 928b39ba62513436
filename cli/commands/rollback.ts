import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { findVersion, getEnvironment } from '../../lib/aws/eb.js';
import { findBusy } from '../aws/busy.js';
import { findStateMachine, readableExecutionName, startExecution } from '../aws/executions.js';
import { lastGood, withTable } from '../aws/store.js';
import { type Act, examples } from '../command.js';
import type { Context } from '../context.js';
import { usage } from '../errors.js';
import { EXIT_CODE_HELP } from '../exit-codes.js';
import { busyError } from './busy-message.js';
import { reportStarted } from './deploy.js';

interface RollbackOptions {
  to?: string;
  follow?: boolean;
}

export function registerRollback(program: Command, act: Act): void {
  program
    .command('rollback')
    .description(
      'Roll a target back to its last good version (or --to a version label) through the state machine, with the same health checks as a deploy.',
    )
    .argument('<target>', 'target name from ebship.yml')
    .option('--to <label>', 'EB version label to go back to (default: the last good version)')
    .option('--follow', 'follow the execution until it ends')
    .addHelpText(
      'after',
      `${examples(
        'ebship rollback antenna-prod --follow',
        'ebship rollback antenna-prod --to v1.4.1-0b1c2d3e4f5a --follow',
        '# version labels: ebship history antenna-prod',
      )}\nA rollback is an execution like a deploy (lock, health watch, history, alert), never a bare\nUpdateEnvironment.\n\n${EXIT_CODE_HELP}\n`,
    )
    .action(act<[string, RollbackOptions]>((ctx, target, opts) => rollback(ctx, target, opts)));
}

export async function rollback(ctx: Context, targetName: string, opts: RollbackOptions): Promise<number> {
  if (opts.to !== undefined && (opts.to.length < 1 || opts.to.length > 100 || opts.to.includes('/'))) {
    throw usage('bad-label', `"${opts.to}" is not an EB version label (1-100 characters, no "/")`);
  }
  const target = ctx.target(targetName);
  const aws = ctx.aws();
  const region = await ctx.region();
  const stateMachineArn = await findStateMachine(aws.sfn, ctx.names.stateMachine, {
    region,
    stage: ctx.names.stage,
  });
  const history = `ebship history ${targetName}${ctx.stageFlag}`;
  let label = opts.to;
  if (label === undefined) {
    label = (await lastGood(ctx, target))?.versionLabel;
    if (!label) {
      throw usage(
        'no-last-good',
        `no last good version of ${targetName} is recorded (ebship has not deployed it successfully yet)`,
        `Pass --to <label>; see earlier versions with: ${history}`,
      );
    }
  } else if (!(await findVersion(aws.eb, target.application, label))) {
    throw usage(
      'unknown-version',
      `version "${label}" does not exist in EB application ${target.application}`,
      `See the versions ebship deployed with: ${history}`,
    );
  }
  const env = await getEnvironment(aws.eb, target);
  if (env.VersionLabel === label) {
    throw usage(
      'already-running',
      `${target.environment} already runs ${label}; nothing to roll back to`,
      `Pass --to <label> to choose another version; see: ${history}`,
    );
  }
  const now = new Date();
  const busy = await withTable(ctx, () =>
    findBusy(aws, { table: ctx.names.table, stateMachineArn, targetName, target, now }),
  );
  if (busy) throw busyError(ctx, targetName, target, busy);

  // Two rollbacks of one target within a second must not share a name: StartExecution would answer
  // ExecutionAlreadyExists (or, with the same input, hand back the first execution).
  const name = readableExecutionName(targetName, 'rollback', label, now, randomBytes(3).toString('hex'));
  // Without --to the state machine reads the last good version itself, at the time it runs.
  const input = { target: targetName, trigger: 'rollback', ...(opts.to ? { rollbackTo: opts.to } : {}) };
  const started = await startExecution(aws.sfn, stateMachineArn, name, input);
  return reportStarted(ctx, {
    executionArn: started.executionArn,
    name,
    input,
    what: `rolling ${target.application}/${target.environment} back from ${env.VersionLabel ?? '(unknown)'} to ${label}${opts.to ? '' : ' (last good)'}`,
    follow: opts.follow === true,
  });
}
