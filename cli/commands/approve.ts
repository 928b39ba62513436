import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { Command } from 'commander';
import { sendAnswer, tokenClosed } from '../../lib/aws/approval-answer.js';
import {
  type ApprovalAnswer,
  type ApprovalItem,
  deleteApproval,
  getApproval,
  markDelivered,
  recordAnswer,
} from '../../lib/store/approval.js';
import { executionName } from '../aws/executions.js';
import { withTable } from '../aws/store.js';
import { type Act, examples } from '../command.js';
import type { Context } from '../context.js';
import { CliError, usage } from '../errors.js';
import { ExitCode } from '../exit-codes.js';

/**
 * `ebship approve` / `ebship reject` (issue 14): answer a promotion waiting for manual approval.
 * The answer is a Step Functions call with the wait's task token (SendTaskSuccess /
 * SendTaskFailure), which IAM permits per state machine (docs/iam.md); the token is read from the
 * environment's APPROVAL item and never printed. Who answers is the caller's IAM identity (STS
 * GetCallerIdentity), recorded in history.
 */

interface ApproveOptions {
  comment?: string;
}
interface RejectOptions {
  reason?: string;
}

export function registerApprove(program: Command, act: Act): void {
  program
    .command('approve')
    .description('Approve the promotion waiting on a target: it deploys now (a freeze still holds it).')
    .argument('<target>', 'target name from ebship.yml')
    .option('--comment <text>', 'a note recorded with the approval (shown in the success alert)')
    .addHelpText(
      'after',
      examples(
        'ebship approve antenna-prod',
        'ebship approve antenna-prod --comment "staging checked by QA"',
      ),
    )
    .action(act<[string, ApproveOptions]>((ctx, target, opts) => approve(ctx, target, opts)));
  program
    .command('reject')
    .description('Reject the promotion waiting on a target: it ends not approved, the environment unchanged.')
    .argument('<target>', 'target name from ebship.yml')
    .option('--reason <text>', 'why (required): recorded in history and the alert')
    .addHelpText('after', examples('ebship reject antenna-prod --reason "release notes not signed off"'))
    .action(act<[string, RejectOptions]>((ctx, target, opts) => reject(ctx, target, opts)));
}

export async function approve(ctx: Context, targetName: string, opts: ApproveOptions): Promise<number> {
  const comment = opts.comment === undefined ? undefined : oneLine(opts.comment);
  if (comment !== undefined && (comment.length === 0 || comment.length > 300))
    throw usage('bad-comment', '--comment must be 1-300 characters');
  const { item, by } = await pending(ctx, targetName, 'approved');
  const approvedAt = new Date().toISOString();
  const sent = await deliver(ctx, targetName, item, {
    kind: 'approved',
    by,
    at: approvedAt,
    output: JSON.stringify({ approvedBy: by, approvedAt, ...(comment ? { comment } : {}) }),
  });
  const facts = {
    ...described(item),
    approvedBy: sent.by,
    approvedAt: sent.at,
    ...(comment ? { comment } : {}),
  };
  if (ctx.json) ctx.out.json({ target: targetName, approved: facts });
  else {
    ctx.out.line(
      `Approved ${ctx.out.paint('bold', item.versionLabel)} for ${ctx.out.paint('bold', targetName)} as ${sent.by}`,
    );
    printFacts(ctx, item);
    ctx.out.line(
      `  it deploys now (a freeze still holds it): ebship follow ${executionName(item.executionId)}${ctx.stageFlag}`,
    );
  }
  return ExitCode.Ok;
}

export async function reject(ctx: Context, targetName: string, opts: RejectOptions): Promise<number> {
  const reason = oneLine(opts.reason ?? '');
  if (reason.length === 0 || reason.length > 300) {
    throw usage(
      'reason-required',
      `ebship reject needs --reason "<why>" (1-300 characters): it is recorded in history and the alert`,
      `ebship reject ${targetName} --reason "<why>"`,
    );
  }
  const { item, by } = await pending(ctx, targetName, 'rejected');
  const sent = await deliver(ctx, targetName, item, {
    kind: 'rejected',
    by,
    at: new Date().toISOString(),
    error: 'ApprovalRejected',
    // Step Functions: cause is at most 32,768 characters; the reason is capped at 300 above.
    cause: JSON.stringify({ by, reason }),
  });
  const said = sent.kind === 'rejected' ? (JSON.parse(sent.cause) as { reason?: string }).reason : undefined;
  if (ctx.json)
    ctx.out.json({
      target: targetName,
      rejected: { ...described(item), rejectedBy: sent.by, reason: said ?? reason },
    });
  else {
    ctx.out.line(
      `Rejected ${ctx.out.paint('bold', item.versionLabel)} for ${ctx.out.paint('bold', targetName)} as ${sent.by}: ${said ?? reason}`,
    );
    printFacts(ctx, item);
    ctx.out.line(`  it ends not approved; ${targetName} is not changed`);
  }
  return ExitCode.Ok;
}

/**
 * The request waiting on the target (an expired one is an error saying when it expired; one
 * answered already says by whom), and who is asking.
 */
async function pending(
  ctx: Context,
  targetName: string,
  kind: ApprovalAnswer['kind'],
): Promise<{ item: ApprovalItem; by: string }> {
  const target = ctx.target(targetName);
  const now = new Date();
  const item = await withTable(ctx, () =>
    getApproval(ctx.aws().db, ctx.names.table, target, now, { includeExpired: true, includeAnswered: true }),
  );
  if (!item) {
    throw usage(
      'nothing-pending',
      `nothing waits for approval on ${targetName}`,
      `See where it is: ebship status ${targetName}${ctx.stageFlag}`,
    );
  }
  // Answered and delivered, or answered the other way: this answer cannot be given. The same answer
  // not yet delivered (the command that gave it was cut short) is sent again.
  if (item.answer && (item.answer.delivered || item.answer.kind !== kind))
    throw answeredAlready(ctx, targetName, item);
  if (item.expiresAt * 1000 <= now.getTime()) throw expired(targetName, item);
  const by = await callerArn(ctx);
  return { item, by };
}

/** A refused token may be one Step Functions is about to replace (a retried Lambda): look again. */
const RELOOKS = 5;
const RELOOK_MS = 1_000;

/**
 * Records the answer on the item, then sends it with the item's token. The record comes first: a
 * WaitForApproval attempt that fails after this answer reached it is retried by Step Functions with
 * a new token, and that retry forwards the recorded answer instead of asking on-call again.
 * Refused as closed, the item is read again: a retry's new token gets the answer (or the retry
 * forwarded it already). Returns the answer that was delivered (an earlier identical one, if any).
 */
async function deliver(
  ctx: Context,
  targetName: string,
  first: ApprovalItem,
  mine: ApprovalAnswer,
): Promise<ApprovalAnswer> {
  const target = ctx.target(targetName);
  const { db, sfn } = ctx.aws();
  const table = ctx.names.table;
  const recorded = await withTable(ctx, () => recordAnswer(db, table, target, first.executionId, mine));
  if (!recorded?.answer) {
    // Another request replaced it, or somebody answered the other way in between.
    const current = await withTable(ctx, () =>
      getApproval(db, table, target, new Date(), { includeExpired: true, includeAnswered: true }),
    );
    if (current?.executionId === first.executionId) throw answeredAlready(ctx, targetName, current);
    throw usage(
      'nothing-pending',
      `the approval of ${first.versionLabel} for ${targetName} is no longer pending: another promotion replaced it`,
      `See where it is: ebship status ${targetName}${ctx.stageFlag}`,
    );
  }
  const answer = recorded.answer;
  let item = recorded;
  for (let look = 0; ; look++) {
    try {
      await sendAnswer(sfn, item.taskToken, answer);
      await withTable(ctx, () => markDelivered(db, table, target, item.executionId));
      return answer;
    } catch (err) {
      // Never the SDK's message: it may quote the token.
      if (!tokenClosed(err)) throw err;
      const name = err instanceof Error ? err.name : '';
      let renewed: ApprovalItem | undefined;
      for (; look < RELOOKS && !renewed; look++) {
        await ctx.sleep(RELOOK_MS);
        const again = await withTable(ctx, () =>
          getApproval(db, table, target, new Date(), { includeExpired: true, includeAnswered: true }),
        );
        if (again?.executionId !== item.executionId) continue;
        // A retried wait forwarded the answer itself.
        if (again.answer?.delivered) return again.answer;
        if (again.taskToken !== item.taskToken) renewed = again;
      }
      if (!renewed) {
        await withTable(ctx, () => deleteApproval(db, table, target, { taskToken: item.taskToken }));
        throw expired(targetName, item, name);
      }
      item = renewed;
    }
  }
}

function answeredAlready(ctx: Context, targetName: string, item: ApprovalItem): CliError {
  const answer = item.answer;
  const how = answer ? `${answer.kind} by ${answer.by} at ${answer.at}` : 'answered';
  return new CliError(
    `the promotion of ${item.versionLabel} to ${targetName} was already ${how}${answer?.delivered ? '' : ' (its answer is being delivered)'}: nothing waits for another answer`,
    ExitCode.Usage,
    'already-answered',
    `See where it is: ebship follow ${executionName(item.executionId)}${ctx.stageFlag}`,
  );
}

function expired(targetName: string, item: ApprovalItem, name?: string): CliError {
  const at = new Date(item.expiresAt * 1000).toISOString();
  const when = item.expiresAt * 1000 <= Date.now() ? `it expired at ${at}` : `it was due to expire at ${at}`;
  return new CliError(
    `the approval of ${item.versionLabel} for ${targetName} can no longer be answered: ${when}${name ? ` (Step Functions: ${name})` : ''}; execution ${executionName(item.executionId)} already ended not approved, or was answered or stopped`,
    ExitCode.Usage,
    'approval-expired',
    `See how it ended: ebship history ${targetName}`,
  );
}

/** The caller's IAM identity: what history records as approvedBy / rejected by. */
async function callerArn(ctx: Context): Promise<string> {
  const sts = ctx.aws().sts ?? new STSClient({});
  const { Arn } = await sts.send(new GetCallerIdentityCommand({}));
  if (!Arn) throw new CliError('STS GetCallerIdentity returned no ARN', ExitCode.Findings, 'no-identity');
  return Arn;
}

/** What people see of a request: everything but the token. */
function described(item: ApprovalItem) {
  return {
    versionLabel: item.versionLabel,
    imageDigest: item.imageDigest,
    ...(item.imageTag ? { imageTag: item.imageTag } : {}),
    ...(item.promotedFrom ? { promotedFrom: item.promotedFrom } : {}),
    executionId: item.executionId,
    requestedAt: item.requestedAt,
    expiresAt: new Date(item.expiresAt * 1000).toISOString(),
  };
}

function printFacts(ctx: Context, item: ApprovalItem): void {
  ctx.out.line(`  digest    ${item.imageDigest}${item.imageTag ? ` (tag ${item.imageTag})` : ''}`);
  if (item.promotedFrom)
    ctx.out.line(
      `  from      ${item.promotedFrom.target} (execution ${executionName(item.promotedFrom.executionId)})`,
    );
  ctx.out.line(`  execution ${executionName(item.executionId)}`);
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
