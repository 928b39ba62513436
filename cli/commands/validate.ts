import type { Command } from 'commander';
import { type Act, examples } from '../command.js';
import type { Context } from '../context.js';
import { ExitCode } from '../exit-codes.js';

export function registerValidate(program: Command, act: Act): void {
  program
    .command('validate')
    .description(
      'Check ebship.yml against the config rules and print every problem with its line. No AWS needed; `serverless package` and `deploy` run it too.',
    )
    .addHelpText(
      'after',
      `${examples('ebship validate', 'ebship validate --config deploy/ebship.yml')}\nExit 0 when the file is valid, 2 when it is not.\n`,
    )
    .action(act<[]>((ctx) => validate(ctx)));
}

export async function validate(ctx: Context): Promise<number> {
  // Throws ConfigInvalid listing every problem (path, line, rule); main prints it like every command.
  const config = ctx.config();
  const targets = Object.keys(config.targets).sort();
  if (ctx.json) {
    // `resolved`: the config with every default applied, which packaging embeds in the Lambdas
    // (infra/config-vars.cjs), so they need not build the config schema at cold start.
    ctx.out.json({ config: ctx.configPath, valid: true, targets, resolved: config });
  } else {
    ctx.out.line(`${ctx.configPath} is valid: ${targets.length} target(s): ${targets.join(', ')}`);
  }
  return ExitCode.Ok;
}
