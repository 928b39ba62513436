import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Command } from 'commander';
import { imageUri } from '../../lib/aws/ecr-images.js';
import { BundleInvalid } from '../../lib/bundle/errors.js';
import { readIncludeDir, resolveIncludeDir } from '../../lib/bundle/include.js';
import { renderBundle } from '../../lib/bundle/render.js';
import { zipBundle } from '../../lib/bundle/zip.js';
import type { Target } from '../../lib/config/schema.js';
import { lintBundle } from '../../lib/preflight/bundle-rules.js';
import { formatFindings, hasErrors } from '../../lib/preflight/format.js';
import { DIGEST, TAG } from '../../lib/release/image-ref.js';
import { versionLabel } from '../../lib/release/version-label.js';
import { type Act, examples } from '../command.js';
import type { Context } from '../context.js';
import { CliError, usage } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { formatDuration, table } from '../output.js';

interface PlanOptions {
  tag?: string;
  digest?: string;
  out?: string;
}

/** Stands in for the AWS account in a plan's image URI and secret ARNs: no AWS call is made. */
const PLACEHOLDER_ACCOUNT = '000000000000';

export function registerPlan(program: Command, act: Act): void {
  program
    .command('plan')
    .description(
      'Render the EB bundle a deploy would build, write it as a zip and list the checks it would run. No AWS needed.',
    )
    .argument('<target>', 'target name from ebship.yml')
    .option('--tag <tag>', 'image tag to plan for')
    .option('--digest <digest>', 'the real image digest (default: a placeholder derived from the tag)')
    .option('-o, --out <file.zip>', 'where to write the bundle (default: ./<target>-<version label>.zip)')
    .addHelpText(
      'after',
      `${examples(
        'ebship plan antenna-prod --tag v1.4.2',
        'ebship plan treasury-plane-dev --tag v2.0.0 --out /tmp/bundle.zip --json',
        'unzip -l antenna-prod-v1.4.2-*.zip',
      )}\nExit 1 when the bundle has error findings (the deploy would stop at BuildBundle).\n`,
    )
    .action(act<[string, PlanOptions]>((ctx, target, opts) => plan(ctx, target, opts)));
}

export async function plan(ctx: Context, targetName: string, opts: PlanOptions): Promise<number> {
  if (opts.tag === undefined && opts.digest === undefined)
    throw usage('tag-required', 'give --tag <tag> (and optionally --digest)');
  if (opts.tag !== undefined && !TAG.test(opts.tag)) {
    throw usage('malformed-tag', `tag "${opts.tag}" is not a valid ECR tag (up to 128 of A-Z a-z 0-9 _ . -)`);
  }
  if (opts.digest !== undefined && !DIGEST.test(opts.digest)) {
    throw usage(
      'malformed-digest',
      `digest "${opts.digest}" is malformed; it must be "sha256:" followed by 64 lowercase hex digits`,
    );
  }
  const target = ctx.target(targetName);
  const region = ctx.options.region ?? ctx.io.env.AWS_REGION ?? ctx.io.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const placeholder = opts.digest === undefined;
  const digest = opts.digest ?? placeholderDigest(target.source.repository, opts.tag ?? '');
  const label = versionLabel(opts.tag, digest);
  const uri = imageUri(PLACEHOLDER_ACCOUNT, region, target.source.repository, digest);

  let files: Record<string, string>;
  try {
    const includeFiles = target.include
      ? readIncludeDir(resolveIncludeDir(dirname(ctx.configPath), target.include))
      : undefined;
    files = renderBundle({
      target,
      imageUri: uri,
      versionLabel: label,
      secretArns: placeholderSecretArns(target, region),
      includeFiles,
    });
  } catch (err) {
    if (err instanceof BundleInvalid) throw new CliError(err.message, ExitCode.Findings, 'bundle-invalid');
    throw err;
  }
  const zip = zipBundle(files);
  const sha256 = createHash('sha256').update(zip).digest('hex');
  const outPath = opts.out ?? `${targetName}-${label}.zip`;
  await writeFile(isAbsolute(outPath) ? outPath : resolve(ctx.io.cwd, outPath), zip);

  const findings = lintBundle(files, target);
  const errors = findings.filter((f) => f.severity === 'error').length;
  const checks = checksFor(target);
  const exitCode = hasErrors(findings) ? ExitCode.Findings : ExitCode.Ok;
  const fileList = Object.entries(files).map(([path, text]) => ({ path, bytes: Buffer.byteLength(text) }));

  if (ctx.json) {
    ctx.out.json({
      target: targetName,
      application: target.application,
      environment: target.environment,
      image: {
        repository: target.source.repository,
        tag: opts.tag,
        digest,
        digestIsPlaceholder: placeholder,
        uri,
      },
      versionLabel: label,
      bundle: { path: outPath, bytes: zip.length, sha256, files: fileList },
      checks,
      findings,
      errors,
      warnings: findings.length - errors,
      exitCode,
    });
    return exitCode;
  }
  const { out } = ctx;
  out.line(
    `${out.paint('bold', `Plan for ${targetName}`)}  (${target.application}/${target.environment}, ${target.platform} platform)`,
  );
  for (const line of table([
    ['  image', `${target.source.repository}${opts.tag ? `:${opts.tag}` : ''}`],
    [
      '  digest',
      placeholder
        ? `${digest}  ${out.paint('yellow', '(PLACEHOLDER derived from the tag, not the image; pass --digest for the real one)')}`
        : digest,
    ],
    ['  version', label],
    ['  bundle', `${outPath}  (${zip.length} bytes, sha256 ${sha256})`],
  ])) {
    out.line(line);
  }
  out.line(
    out.paint(
      'dim',
      `  account ${PLACEHOLDER_ACCOUNT} in the image URI and secret ARNs is a placeholder too.`,
    ),
  );
  out.line();
  out.line(out.paint('bold', 'Files'));
  for (const line of table(fileList.map((f) => [`  ${f.path}`, `${f.bytes} bytes`]))) out.line(line);
  out.line();
  out.line(out.paint('bold', 'Checks'));
  for (const c of checks.local) out.line(`  here          ${c}`);
  for (const c of checks.aws) out.line(`  runs in AWS   ${c}`);
  out.line();
  out.line(out.paint('bold', 'Findings'));
  out.line(formatFindings(findings, { color: out.color }));
  return exitCode;
}

/** What a deploy checks: what this plan just ran, and what only AWS can answer. */
function checksFor(target: Target): { local: string[]; aws: string[] } {
  const secrets = Object.keys(target.secrets);
  const h = target.health;
  const aws = [
    secrets.length > 0
      ? `ValidateSecrets: ${secrets.length} secret(s) exist, are readable and match their format (${secrets.sort().join(', ')})`
      : 'ValidateSecrets: no secrets configured',
    'CreateAppVersion preflight: environment settings, platform, instance profile and the application version quota',
    'CreateAppVersion: EB processes the bundle (.ebextensions validated, Process=true)',
    ...(target.release
      ? [
          `Release phase: \`${target.release.command.join(' ')}\` in a one-off container of the new image, env of ${target.release.container}, before the update (within ${formatDuration(target.release.timeoutSeconds)}; no healthy instance: ${target.release.onEmptyEnvironment})`,
        ]
      : []),
    `Health watch: ${h.allowedColors.join(' or ')} on the new version for ${formatDuration(h.bakeSeconds)}, within ${formatDuration(h.timeoutSeconds)}; otherwise roll back`,
  ];
  if (target.migrationCheck) {
    aws.push(
      `Migration check: \`${target.migrationCheck.command.join(' ')}\` in container ${target.migrationCheck.container} via SSM`,
    );
  }
  for (const c of target.checks) {
    aws.push(
      `Check ${c.name}: \`${c.command.join(' ')}\` in container ${c.container} on ${c.on === 'all' ? 'every healthy instance' : 'one healthy instance'}; failure: ${c.onFailure === 'warn' ? 'warn only' : 'roll back'}`,
    );
  }
  return {
    local: ['Bundle lint: the preflight rules on every file below (findings listed at the end)'],
    aws,
  };
}

/** A stable, clearly fake digest for a tag: the same tag always plans the same bundle bytes. */
function placeholderDigest(repository: string, tag: string): string {
  return `sha256:${createHash('sha256').update(`ebship plan placeholder ${repository}:${tag}`).digest('hex')}`;
}

function placeholderSecretArns(target: Target, region: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(target.secrets).map(([name, s]) => [
      name,
      s.secretId.startsWith('arn:')
        ? s.secretId
        : `arn:aws:secretsmanager:${region}:${PLACEHOLDER_ACCOUNT}:secret:${s.secretId}`,
    ]),
  );
}
