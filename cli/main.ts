import { Command, CommanderError } from 'commander';
import type { Act } from './command.js';
import { registerApprove } from './commands/approve.js';
import { registerDeploy } from './commands/deploy.js';
import { registerDoctor } from './commands/doctor.js';
import { registerFollow } from './commands/follow.js';
import { registerFreeze } from './commands/freeze.js';
import { registerHistory } from './commands/history.js';
import { registerLint } from './commands/lint.js';
import { registerLogs } from './commands/logs.js';
import { registerPlan } from './commands/plan.js';
import { registerRollback } from './commands/rollback.js';
import { registerStats } from './commands/stats.js';
import { registerStatus } from './commands/status.js';
import { registerTrace } from './commands/trace.js';
import { registerValidate } from './commands/validate.js';
import { Context, type GlobalOptions, type Io } from './context.js';
import { toCliError } from './errors.js';
import { EXIT_CODE_HELP, ExitCode } from './exit-codes.js';
import { Printer, wantsColor } from './output.js';

export type { Io } from './context.js';

const VERSION = '0.1.0';

/**
 * Runs `ebship` with `argv` (the arguments after the program name) and returns the exit code.
 * Nothing here touches process.* directly: bin/ebship.js passes the real streams, environment and
 * a Ctrl-C signal; tests pass buffers.
 */
export async function run(argv: string[], io: Io): Promise<number> {
  let exitCode: number = ExitCode.Ok;
  let json = argv.includes('--json');

  const act: Act =
    (body) =>
    async (...args) => {
      const command = args[args.length - 1] as Command;
      const options = command.optsWithGlobals<GlobalOptions>();
      json = options.json === true;
      const ctx = new Context(io, options);
      exitCode = await (body as (c: Context, ...a: unknown[]) => Promise<number>)(ctx, ...args.slice(0, -1));
    };

  const program = buildProgram(io, act);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and --version are successes; everything else commander rejects is usage.
      return err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    const error = toCliError(err);
    if (json) {
      io.stdout.write(
        `${JSON.stringify({ error: { code: error.code, message: error.message, hint: error.hint, ...error.details }, exitCode: error.exitCode }, null, 2)}\n`,
      );
    } else {
      const err = new Printer(io.stderr, wantsColor(io.stderr, io.env));
      err.line(`${err.paint('red', 'ebship: error:')} ${error.message}`);
      if (error.hint) err.line(`  ${error.hint}`);
    }
    return error.exitCode;
  }
  return exitCode;
}

export function buildProgram(io: Io, act: Act): Command {
  const program = new Command('ebship')
    .description(
      'Ship container images to AWS Elastic Beanstalk through the ebship state machine: deploy, follow, roll back, and check bundles before they ship.',
    )
    .version(VERSION, '-V, --version')
    .option(
      '--stage <stage>',
      'the deployed ebship stage (serverless --stage; default: EBSHIP_STAGE, then dev)',
      io.env.EBSHIP_STAGE || 'dev',
    )
    .option('--region <region>', 'AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, then the profile)')
    .option('--profile <name>', 'AWS profile (default: AWS_PROFILE)')
    .option('-c, --config <path>', 'ebship.yml to read (default: EBSHIP_CONFIG, then ./ebship.yml)')
    .option('--json', 'print one JSON document on stdout, for scripts and CI')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride()
    .addHelpText('after', `\n${EXIT_CODE_HELP}\n\nRun \`ebship <command> --help\` for examples.\n`);

  for (const register of [
    registerDeploy,
    registerFollow,
    registerStatus,
    registerHistory,
    registerStats,
    registerFreeze,
    registerApprove,
    registerLogs,
    registerRollback,
    registerPlan,
    registerLint,
    registerValidate,
    registerDoctor,
    registerTrace,
  ]) {
    register(program, act);
  }
  return program;
}
