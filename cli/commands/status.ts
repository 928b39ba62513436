import type { Command } from 'commander';
import { getEnvironment } from '../../lib/aws/eb.js';
import type { Target } from '../../lib/config/schema.js';
import { getApproval } from '../../lib/store/approval.js';
import type { LastGood } from '../../lib/store/deployments.js';
import { type Freeze, getHeld } from '../../lib/store/freeze.js';
import { describeExecution, executionName } from '../aws/executions.js';
import { drift, lastGood, lock, withTable } from '../aws/store.js';
import { type Act, examples } from '../command.js';
import type { Context } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { formatTime, table } from '../output.js';
import { activeFreeze } from './freeze.js';

interface TargetStatus {
  target: string;
  application: string;
  environment: string;
  deployed?: { versionLabel?: string; status?: string; health?: string; healthStatus?: string };
  /** Why the environment could not be read (not found, access denied). */
  deployedError?: string;
  lastGood?: LastGood;
  /** `ebship freeze`: automatic deploys held, and the newest push waiting for the unfreeze. */
  frozen?: Freeze & { held?: string };
  /** A version running that ebship did not deploy, as the reconciler last found it (DRIFT alert). */
  drift?: { versionLabel: string; recordedLabel: string; since: string };
  /** A promotion waiting for `ebship approve` / `ebship reject` (issue 14); never its task token. */
  awaitingApproval?: {
    versionLabel: string;
    imageDigest: string;
    promotedFrom?: { target: string; executionId: string };
    executionId: string;
    requestedAt: string;
    expiresAt: string;
  };
  running?: {
    executionArn: string;
    executionName: string;
    status: string;
    versionLabel: string;
    since: string;
    leaseUntil: string;
  };
}

export function registerStatus(program: Command, act: Act): void {
  program
    .command('status')
    .description(
      'Show what each target runs now (EB), its last good version, any drift from it and any running ebship execution.',
    )
    .argument('[target]', 'one target (default: every target in ebship.yml)')
    .addHelpText(
      'after',
      `${examples('ebship status', 'ebship status antenna-prod --stage prod', "ebship status --json | jq '.targets[].deployed.versionLabel'")}\nExit 1 when an environment could not be read.\n`,
    )
    .action(act<[string | undefined]>((ctx, target) => status(ctx, target)));
}

export async function status(ctx: Context, only: string | undefined): Promise<number> {
  const names = only === undefined ? Object.keys(ctx.config().targets).sort() : [only];
  const targets = names.map((name) => ({ name, target: ctx.target(name) }));
  const results: TargetStatus[] = [];
  for (const { name, target } of targets) results.push(await statusOf(ctx, name, target));
  const failed = results.some((r) => r.deployedError);
  if (ctx.json) {
    ctx.out.json({ stage: ctx.names.stage, targets: results });
  } else {
    results.forEach((r, i) => {
      if (i > 0) ctx.out.line();
      printStatus(ctx, r);
    });
  }
  return failed ? ExitCode.Findings : ExitCode.Ok;
}

async function statusOf(ctx: Context, name: string, target: Target): Promise<TargetStatus> {
  const aws = ctx.aws();
  const result: TargetStatus = {
    target: name,
    application: target.application,
    environment: target.environment,
  };
  try {
    const env = await getEnvironment(aws.eb, target);
    result.deployed = {
      versionLabel: env.VersionLabel,
      status: env.Status,
      health: env.Health,
      healthStatus: env.HealthStatus,
    };
  } catch (err) {
    const error = err as Error;
    if (error.name !== 'EnvironmentNotFound' && error.name !== 'AccessDeniedException') throw err;
    result.deployedError = error.message;
  }
  result.lastGood = await lastGood(ctx, target);
  const freeze = await activeFreeze(ctx, target);
  if (freeze) {
    const waiting = await getHeld(aws.db, ctx.names.table, target);
    result.frozen = { ...freeze, ...(waiting ? { held: waiting.versionLabel } : {}) };
  }
  const drifted = await drift(ctx, target);
  if (drifted)
    result.drift = {
      versionLabel: drifted.versionLabel,
      recordedLabel: drifted.recordedLabel,
      since: drifted.claimedAt,
    };
  const approval = await withTable(ctx, () => getApproval(aws.db, ctx.names.table, target));
  if (approval)
    result.awaitingApproval = {
      versionLabel: approval.versionLabel,
      imageDigest: approval.imageDigest,
      ...(approval.promotedFrom ? { promotedFrom: approval.promotedFrom } : {}),
      executionId: approval.executionId,
      requestedAt: approval.requestedAt,
      expiresAt: new Date(approval.expiresAt * 1000).toISOString(),
    };
  const held = await lock(ctx, target);
  if (held) {
    const exec = await describeExecution(aws.sfn, held.owner);
    result.running = {
      executionArn: held.owner,
      executionName: exec?.name ?? executionName(held.owner),
      status: exec?.status ?? 'UNKNOWN',
      versionLabel: held.versionLabel,
      since: held.acquiredAt,
      leaseUntil: held.leaseUntil,
    };
  }
  return result;
}

function printStatus(ctx: Context, r: TargetStatus): void {
  const { out } = ctx;
  out.line(`${out.paint('bold', r.target)}  (${r.application}/${r.environment})`);
  const rows: string[][] = [];
  if (r.deployed) {
    const d = r.deployed;
    const colour =
      d.health === 'Red' ? 'red' : d.health === 'Yellow' ? 'yellow' : d.health === 'Green' ? 'green' : 'dim';
    const health = `${out.paint(colour, d.health ?? '?')}${d.healthStatus ? ` (${d.healthStatus})` : ''}`;
    rows.push(['  deployed', d.versionLabel ?? '(none)', `${d.status ?? '?'}, ${health}`]);
  } else {
    rows.push(['  deployed', out.paint('red', 'unknown'), r.deployedError ?? '']);
  }
  rows.push(
    r.lastGood
      ? ['  last good', r.lastGood.versionLabel, `deployed ${formatTime(r.lastGood.deployedAt)}`]
      : ['  last good', '(none recorded)', ''],
  );
  if (r.drift) {
    rows.push([
      '  drift',
      out.paint('yellow', r.drift.versionLabel),
      `not deployed by ebship, found ${formatTime(r.drift.since)} (reconciler)`,
    ]);
  }
  if (r.running) {
    const stale =
      r.running.status !== 'RUNNING' ? ` (stale lock until ${formatTime(r.running.leaseUntil)})` : '';
    rows.push([
      '  running',
      r.running.executionName,
      `${r.running.status}${stale}, ${r.running.versionLabel} since ${formatTime(r.running.since)}`,
    ]);
  } else {
    rows.push(['  running', '(none)', '']);
  }
  if (r.frozen) {
    const f = r.frozen;
    rows.push([
      '  frozen',
      out.paint('yellow', `"${f.reason}"`),
      `by ${f.by} since ${formatTime(f.frozenAt)}${f.until ? `, until ${formatTime(f.until)}` : ''}${f.held ? `; holding ${f.held}` : ''}`,
    ]);
  }
  if (r.awaitingApproval) {
    const a = r.awaitingApproval;
    rows.push([
      '  approval',
      out.paint('yellow', a.versionLabel),
      `waits${a.promotedFrom ? ` (passed on ${a.promotedFrom.target})` : ''} since ${formatTime(a.requestedAt)}, expires ${formatTime(a.expiresAt)}`,
    ]);
  }
  for (const line of table(rows)) out.line(line);
  if (r.awaitingApproval)
    out.line(
      out.paint(
        'dim',
        `  answer it: ebship approve ${r.target}${ctx.stageFlag}  |  ebship reject ${r.target} --reason "<why>"${ctx.stageFlag}`,
      ),
    );
  if (r.running?.status === 'RUNNING')
    out.line(out.paint('dim', `  follow it: ebship follow ${r.running.executionName}${ctx.stageFlag}`));
}
