import { isAbsolute, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Target } from '../../lib/config/schema.js';
import { lintDirectory } from '../../lib/preflight/directory.js';
import { formatFindings, hasErrors } from '../../lib/preflight/format.js';
import { FAMILIES, RULES } from '../../lib/preflight/rules.js';
import { type Act, examples } from '../command.js';
import type { Context } from '../context.js';
import { ExitCode } from '../exit-codes.js';

interface LintOptions {
  target?: string;
  rules?: boolean;
}

export function registerLint(program: Command, act: Act): void {
  program
    .command('lint')
    .description(
      "Check an existing EB bundle or project directory (.ebextensions/, .platform/, Procfile, Dockerrun.aws.json, docker-compose.yml) with ebship's preflight rules. No AWS needed.",
    )
    .argument('[dir]', 'directory to check', '.')
    .option('-t, --target <target>', "also check against this target's settings in ebship.yml")
    .option('--rules', 'list every preflight rule (id, severity, what it finds, the fix) and exit')
    .addHelpText(
      'after',
      `${examples(
        'ebship lint',
        'ebship lint ./deploy/eb --target antenna-prod',
        'ebship lint ./deploy/eb --json > lint.json   # CI: exit 1 on error findings',
        'ebship lint --rules',
      )}\nExit 0 when there are no error findings (warnings allowed), 1 when there are, 2 on bad usage.\n`,
    )
    .action(act<[string, LintOptions]>((ctx, dir, opts) => lint(ctx, dir, opts)));
}

export async function lint(ctx: Context, dir: string, opts: LintOptions): Promise<number> {
  if (opts.rules) return listRules(ctx);
  const target: Target | undefined = opts.target === undefined ? undefined : ctx.target(opts.target);
  const path = isAbsolute(dir) ? dir : resolve(ctx.io.cwd, dir);
  const { files, findings } = await lintDirectory(path, target);
  const errors = findings.filter((f) => f.severity === 'error').length;
  const failed = hasErrors(findings);
  if (ctx.json) {
    ctx.out.json({
      dir,
      target: opts.target,
      files,
      findings,
      errors,
      warnings: findings.length - errors,
      exitCode: failed ? ExitCode.Findings : ExitCode.Ok,
    });
  } else {
    const { out } = ctx;
    if (files.length > 0) {
      out.line(
        `Checked ${files.length} file${files.length === 1 ? '' : 's'} in ${dir}${opts.target ? ` against target ${opts.target}` : ''}:`,
      );
      for (const f of files) out.line(`  ${f}`);
      out.line();
    }
    out.line(formatFindings(findings, { color: out.color }));
  }
  return failed ? ExitCode.Findings : ExitCode.Ok;
}

/** The rule registry (lib/preflight/rules.ts), grouped by family. */
function listRules(ctx: Context): number {
  if (ctx.json) {
    ctx.out.json({ rules: RULES });
    return ExitCode.Ok;
  }
  const { out } = ctx;
  for (const [family, title] of Object.entries(FAMILIES)) {
    const rules = RULES.filter((r) => r.family === family);
    if (rules.length === 0) continue;
    out.line(`${title}:`);
    for (const r of rules) {
      out.line(`  ${r.id} (${r.severity}${r.warningWhen ? `; warning ${r.warningWhen}` : ''})`);
      out.line(`    finds: ${r.summary}`);
      out.line(`    fix:   ${r.fix}`);
    }
    out.line();
  }
  out.line(
    `${RULES.length} rules. Findings name the rule id; errors stop a deploy, warnings go into the alert.`,
  );
  return ExitCode.Ok;
}
