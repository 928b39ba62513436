import type { Command } from 'commander';
import { describeImage } from '../../lib/aws/ecr-images.js';
import { DIGEST, TAG } from '../../lib/release/image-ref.js';
import { shortDigest, versionLabel } from '../../lib/release/version-label.js';
import { getProof } from '../../lib/store/promotion.js';
import { findBusy } from '../aws/busy.js';
import { findStateMachine, readableExecutionName, startExecution } from '../aws/executions.js';
import { withTable } from '../aws/store.js';
import { type Act, examples } from '../command.js';
import type { Context } from '../context.js';
import { usage } from '../errors.js';
import { EXIT_CODE_HELP, ExitCode } from '../exit-codes.js';
import { followExecution } from '../follow/watch.js';
import { busyError } from './busy-message.js';
import { activeFreeze } from './freeze.js';

interface DeployOptions {
  tag?: string;
  digest?: string;
  follow?: boolean;
  force?: boolean;
}

export function registerDeploy(program: Command, act: Act): void {
  program
    .command('deploy')
    .description('Deploy an image (by tag or digest) to a target through the ebship state machine.')
    .argument('<target>', 'target name from ebship.yml')
    .option('--tag <tag>', "image tag in the target's ECR repository")
    .option('--digest <digest>', 'image digest, sha256:<64 hex>')
    .option('--follow', 'follow the execution until it ends (exit code says how)')
    .option(
      '--force',
      'deploy through a freeze (`ebship freeze`), or a digest that never succeeded on the target it promotes from; history and the alert record it',
    )
    .addHelpText(
      'after',
      `${examples(
        'ebship deploy antenna-prod --tag v1.4.2 --follow',
        'ebship deploy treasury-plane-dev --digest sha256:3f2a...c1b7 --stage prod --region eu-west-1',
        '# without --follow it prints the execution name; attach later with `ebship follow <name>`',
      )}\nChecks before starting: the target exists, the image is in ECR, the state machine is deployed,\nand no other execution is deploying the environment (exit 7).\n\n${EXIT_CODE_HELP}\n`,
    )
    .action(act<[string, DeployOptions]>((ctx, target, opts) => deploy(ctx, target, opts)));
}

export async function deploy(ctx: Context, targetName: string, opts: DeployOptions): Promise<number> {
  if ((opts.tag === undefined) === (opts.digest === undefined)) {
    throw usage('tag-or-digest', 'give exactly one of --tag <tag> or --digest <sha256:...>');
  }
  if (opts.digest !== undefined && !DIGEST.test(opts.digest)) {
    throw usage(
      'malformed-digest',
      `digest "${opts.digest}" is malformed; it must be "sha256:" followed by 64 lowercase hex digits`,
      'Copy it from `aws ecr describe-images --repository-name <repo>` (imageDigest).',
    );
  }
  if (opts.tag !== undefined && !TAG.test(opts.tag)) {
    throw usage('malformed-tag', `tag "${opts.tag}" is not a valid ECR tag (up to 128 of A-Z a-z 0-9 _ . -)`);
  }
  const target = ctx.target(targetName);
  const aws = ctx.aws();
  const region = await ctx.region();
  const stateMachineArn = await findStateMachine(aws.sfn, ctx.names.stateMachine, {
    region,
    stage: ctx.names.stage,
  });
  const image = await describeImage(aws.ecr, target.source.repository, {
    imageTag: opts.tag,
    imageDigest: opts.digest,
  });
  const now = new Date();
  const busy = await withTable(ctx, () =>
    findBusy(aws, { table: ctx.names.table, stateMachineArn, targetName, target, now }),
  );
  if (busy) throw busyError(ctx, targetName, target, busy);
  const frozen = await activeFreeze(ctx, target);
  if (frozen && !opts.force) {
    throw usage(
      'frozen',
      `${targetName} is frozen since ${frozen.frozenAt} by ${frozen.by}: "${frozen.reason}"${frozen.until ? ` (until ${frozen.until})` : ''}`,
      `Deploy through it with --force (recorded in history and the alert), or \`ebship unfreeze ${targetName}\` first.`,
    );
  }
  // A promoted target takes only what succeeded on its promote.from (issue 14); AcquireLock checks
  // again, this is the early, clear answer.
  const from = target.promote?.from;
  const unproven =
    from !== undefined &&
    (await withTable(ctx, () => getProof(aws.db, ctx.names.table, ctx.target(from), image.digest))) ===
      undefined;
  if (unproven && !opts.force) {
    throw usage(
      'unproven',
      `${targetName} deploys only what succeeded on ${from} (promote.from), and ${image.digest} never did`,
      `Deploy it to ${from} first (a success there promotes it here), or deploy it here anyway with --force (recorded in history and the alert).`,
    );
  }

  const label = versionLabel(opts.tag ?? image.tags[0], image.digest);
  const name = readableExecutionName(targetName, 'manual', shortDigest(image.digest), now);
  // The digest resolved now is pinned: a tag moved between this check and the deploy must not
  // change what ships. ResolveRelease refuses a tag and digest that no longer match.
  const input = {
    target: targetName,
    ...(opts.tag ? { imageTag: opts.tag } : {}),
    imageDigest: image.digest,
    trigger: 'manual',
    ...(opts.force && (frozen || unproven) ? { force: true } : {}),
  };
  const started = await startExecution(aws.sfn, stateMachineArn, name, input);
  return reportStarted(ctx, {
    executionArn: started.executionArn,
    name,
    input,
    what: `${target.source.repository}${opts.tag ? `:${opts.tag}` : ''} @ ${shortDigest(image.digest)} as ${label} to ${target.application}/${target.environment}`,
    follow: opts.follow === true,
  });
}

/** Prints the started execution (and follows it when asked); shared with `ebship rollback`. */
export async function reportStarted(
  ctx: Context,
  s: { executionArn: string; name: string; input: Record<string, unknown>; what: string; follow: boolean },
): Promise<number> {
  const started = { executionArn: s.executionArn, name: s.name, input: s.input };
  const followHint = `ebship follow ${s.name}${ctx.stageFlag}`;
  if (!s.follow) {
    if (ctx.json) ctx.out.json({ started, exitCode: ExitCode.Ok });
    else {
      ctx.out.line(`Started ${ctx.out.paint('bold', s.name)}: ${s.what}`);
      ctx.out.line(`  follow it: ${followHint}`);
    }
    return ExitCode.Ok;
  }
  if (!ctx.json) ctx.out.line(`Started ${ctx.out.paint('bold', s.name)}: ${s.what}`);
  const result = await followExecution(ctx, s.executionArn);
  if (ctx.json) ctx.out.json({ started, ...result });
  return result.exitCode;
}
