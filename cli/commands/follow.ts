import type { Command } from 'commander';
import { executionArn, findStateMachine } from '../aws/executions.js';
import { type Act, examples } from '../command.js';
import type { Context } from '../context.js';
import { usage } from '../errors.js';
import { EXIT_CODE_HELP } from '../exit-codes.js';
import { followExecution } from '../follow/watch.js';

export function registerFollow(program: Command, act: Act): void {
  program
    .command('follow')
    .description(
      'Attach to a running or finished execution and print its progress; Ctrl-C detaches (the execution keeps running).',
    )
    .argument('<execution>', "execution name (of the stage's state machine) or full execution ARN")
    .addHelpText(
      'after',
      `${examples(
        'ebship follow antenna-prod-manual-3f2a9c1b7d4e-20250602T090000',
        'ebship follow arn:aws:states:us-east-1:123456789012:execution:ebship-prod-deploy:antenna-prod-manual-3f2a9c1b7d4e-20250602T090000',
        'ebship follow antenna-prod-manual-3f2a9c1b7d4e-20250602T090000 --json | jq .outcome',
      )}\n${EXIT_CODE_HELP}\n`,
    )
    .action(act<[string]>((ctx, execution) => follow(ctx, execution)));
}

export async function follow(ctx: Context, execution: string): Promise<number> {
  if (!/^arn:aws[a-z-]*:states:/.test(execution) && !/^[A-Za-z0-9_-]{1,80}$/.test(execution)) {
    throw usage(
      'bad-execution',
      `"${execution}" is neither an execution name nor a Step Functions execution ARN`,
      'Use the name `ebship deploy` printed, or the ARN from the console.',
    );
  }
  let arn = execution;
  if (!execution.startsWith('arn:')) {
    const region = await ctx.region();
    const stateMachineArn = await findStateMachine(ctx.aws().sfn, ctx.names.stateMachine, {
      region,
      stage: ctx.names.stage,
    });
    arn = executionArn(stateMachineArn, execution);
  }
  const result = await followExecution(ctx, arn);
  if (ctx.json) ctx.out.json(result);
  return result.exitCode;
}
