import type { Command } from 'commander';
import { type Act, examples } from '../command.js';
import type { Context } from '../context.js';
import { type Check, diagnose } from '../doctor/checks.js';
import { ExitCode } from '../exit-codes.js';

export function registerDoctor(program: Command, act: Act): void {
  program
    .command('doctor')
    .description(
      "Check a real AWS account before the first deploy, read-only: each target's environment exists and runs the right platform, enhanced health is on, ebship's operations role is associated, the platform supports environmentsecrets, instances are SSM-managed, the version quota has room, and (through IAM's policy simulator) the instances can read the secrets and pull the image and ebship's roles can make every call a deploy makes. Each failure names the command that fixes it.",
    )
    .argument('[target]', 'one target (default: every target in ebship.yml)')
    .addHelpText(
      'after',
      `${examples('ebship doctor --stage prod', 'ebship doctor antenna-prod --json')}\nExit 0 when every check passes (warnings allowed), 1 when one fails.\n`,
    )
    .action(act<[string | undefined]>((ctx, target) => doctor(ctx, target)));
}

export async function doctor(ctx: Context, only: string | undefined): Promise<number> {
  const names = only === undefined ? Object.keys(ctx.config().targets).sort() : [only];
  const aws = ctx.aws();
  const region = await aws.region();
  const results: { target: string; checks: Check[] }[] = [];
  for (const name of names) {
    results.push({
      target: name,
      checks: await diagnose(aws, { name, target: ctx.target(name), stage: ctx.names.stage, region }),
    });
  }
  const failed = results.some((r) => r.checks.some((c) => !c.ok && !c.warning));
  if (ctx.json) {
    ctx.out.json({
      stage: ctx.names.stage,
      targets: results,
      exitCode: failed ? ExitCode.Findings : ExitCode.Ok,
    });
  } else {
    const { out } = ctx;
    results.forEach((r, i) => {
      if (i > 0) out.line();
      out.line(out.paint('bold', r.target));
      for (const c of r.checks) {
        const mark = c.ok
          ? out.paint('green', 'ok  ')
          : c.warning
            ? out.paint('yellow', 'warn')
            : out.paint('red', 'FAIL');
        out.line(`  ${mark} ${c.id}: ${c.message}`);
        if (!c.ok && c.fix) out.line(`       fix: ${c.fix}`);
      }
    });
  }
  return failed ? ExitCode.Findings : ExitCode.Ok;
}
