import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  type ExecutionListItem,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { executionArnOf } from '../../lib/workflow/arns.js';
import { usage } from '../errors.js';

/** The ARN of a stage's state machine, or a usage error that says how to deploy it. */
export async function findStateMachine(
  sfn: SFNClient,
  name: string,
  where: { region: string; stage: string },
): Promise<string> {
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new ListStateMachinesCommand({ nextToken, maxResults: 1000 }));
    const found = page.stateMachines?.find((m) => m.name === name);
    if (found?.stateMachineArn) return found.stateMachineArn;
    nextToken = page.nextToken;
  } while (nextToken);
  throw usage(
    'not-deployed',
    `state machine ${name} is not deployed in ${where.region}; deploy with \`npx serverless deploy --stage ${where.stage}\``,
    'Or pass the --stage / --region it was deployed with.',
  );
}

/**
 * An execution ARN from an ARN or a bare name: execution ARNs are the state machine's ARN with
 * `stateMachine` replaced by `execution` and the name appended.
 */
export function executionArn(stateMachineArn: string, nameOrArn: string): string {
  if (nameOrArn.startsWith('arn:')) return nameOrArn;
  return executionArnOf(stateMachineArn, nameOrArn);
}

export function executionName(arn: string): string {
  return arn.slice(arn.lastIndexOf(':') + 1);
}

export async function runningExecutions(
  sfn: SFNClient,
  stateMachineArn: string,
): Promise<ExecutionListItem[]> {
  const out: ExecutionListItem[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn, statusFilter: 'RUNNING', maxResults: 100, nextToken }),
    );
    out.push(...(page.executions ?? []));
    nextToken = page.nextToken;
  } while (nextToken && out.length < 1000);
  return out;
}

/** DescribeExecution, or undefined when the execution does not exist (or is older than 90 days). */
export async function describeExecution(
  sfn: SFNClient,
  arn: string,
): Promise<DescribeExecutionCommandOutput | undefined> {
  try {
    return await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
  } catch (err) {
    const name = (err as Error).name;
    if (name === 'ExecutionDoesNotExist' || name === 'InvalidArn') return undefined;
    throw err;
  }
}

export async function startExecution(
  sfn: SFNClient,
  stateMachineArn: string,
  name: string,
  input: Record<string, unknown>,
): Promise<{ executionArn: string; startDate?: Date }> {
  const out = await sfn.send(
    new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
  );
  return { executionArn: out.executionArn ?? executionArn(stateMachineArn, name), startDate: out.startDate };
}

// Execution names: 1-80 characters; ebship keeps to [A-Za-z0-9-_] so names are safe in every console and URL.
const MAX_NAME = 80;

/**
 * A readable, unique execution name: `<target>-<trigger>-<what>-<yyyymmddThhmmss>[-<nonce>]`, e.g.
 * `antenna-prod-manual-3f2a9c1b7d4e-20250602T090000`. The target is shortened first when too long.
 * A nonce keeps two starts in the same second apart (names are unique per state machine for 90 days).
 */
export function readableExecutionName(
  target: string,
  trigger: string,
  what: string,
  now: Date,
  nonce?: string,
): string {
  const stamp = now.toISOString().slice(0, 19).replace(/[-:]/g, '') + (nonce ? `-${nonce}` : '');
  const clean = (s: string) => s.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '');
  const tail = `-${clean(trigger)}-${clean(what).slice(0, 40)}-${stamp}`.replace(/--+/g, '-');
  return `${clean(target).slice(0, Math.max(1, MAX_NAME - tail.length))}${tail}`.slice(0, MAX_NAME);
}
