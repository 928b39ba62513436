import { GetCommandInvocationCommand, SendCommandCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { MigrationCheck } from '../config/schema.js';
import { MigrationCheckFailed, MigrationsPending } from '../errors.js';
import type { InstanceSnapshot } from '../health/verdict.js';
import type { MigrationResult } from '../workflow-state.js';

/**
 * The check runs through ebship's own SSM document (infra/ssm.yml). Its parameters arrive on the
 * instance as environment variables (interpolationType ENV_VAR) and are checked by allowedPattern,
 * so nothing here is ever shell text: the container name comes from ebship.yml and the argv is
 * sent as base64 of NUL-joined arguments, decoded into a bash array on the instance.
 */
export function encodeArgv(argv: string[]): string {
  return Buffer.from(argv.join('\0'), 'utf8').toString('base64');
}

/** Right after SendCommand, GetCommandInvocation answers InvocationDoesNotExist for a while (eb-facts.md). */
const MAX_NOT_YET = 10;
const POLL_SECONDS = 5;

/** Picks an instance that runs the expected version and is not red. */
export function pickInstance(instances: InstanceSnapshot[], expectedVersion: string): string | undefined {
  const deployed = instances.filter(
    (i) => i.versionLabel === expectedVersion && i.deploymentStatus === 'Deployed',
  );
  const healthy = deployed.find(
    (i) => i.color === 'Green' || i.healthStatus === 'Ok' || i.healthStatus === 'Info',
  );
  return (healthy ?? deployed[0])?.id;
}

export async function startMigrationCheck(
  client: SSMClient,
  p: {
    documentName: string;
    instanceId: string;
    check: MigrationCheck;
    environment: string;
    versionLabel: string;
  },
): Promise<MigrationResult> {
  const out = await client.send(
    new SendCommandCommand({
      DocumentName: p.documentName,
      InstanceIds: [p.instanceId],
      Parameters: { ContainerName: [p.check.container], CheckCommand: [encodeArgv(p.check.command)] },
      TimeoutSeconds: p.check.timeoutSeconds,
      Comment: `ebship migration check ${p.environment} ${p.versionLabel}`.slice(0, 100),
    }),
  );
  const commandId = out.Command?.CommandId;
  if (!commandId) throw new MigrationCheckFailed('SSM accepted the command but returned no command id');
  return { status: 'pending', commandId, instanceId: p.instanceId, polls: 0, nextPollSeconds: POLL_SECONDS };
}

/**
 * Judges the check by the invocation's Status and ResponseCode only, never by parsing its output:
 * exit 0 passes; any other exit means unapplied migrations; never-ran (-1), cancelled or timed out
 * means the check itself failed.
 */
export async function pollMigrationCheck(
  client: SSMClient,
  previous: MigrationResult,
  check: MigrationCheck,
): Promise<MigrationResult> {
  const polls = previous.polls + 1;
  const maxPolls = Math.ceil(check.timeoutSeconds / POLL_SECONDS) + MAX_NOT_YET;
  const pending = { ...previous, polls, nextPollSeconds: POLL_SECONDS };
  let inv: {
    Status?: string;
    ResponseCode?: number;
    StandardOutputContent?: string;
    StandardErrorContent?: string;
    StatusDetails?: string;
  };
  try {
    inv = await client.send(
      new GetCommandInvocationCommand({ CommandId: previous.commandId, InstanceId: previous.instanceId }),
    );
  } catch (err) {
    if ((err as Error).name === 'InvocationDoesNotExist' && polls <= MAX_NOT_YET) return pending;
    if ((err as Error).name === 'InvocationDoesNotExist') {
      throw new MigrationCheckFailed(
        `SSM never registered the check on ${previous.instanceId} (command ${previous.commandId}); is the SSM agent running and the instance profile allowed AmazonSSMManagedInstanceCore?`,
      );
    }
    throw err;
  }
  const output = tail(`${inv.StandardOutputContent ?? ''}\n${inv.StandardErrorContent ?? ''}`.trim());
  switch (inv.Status) {
    case 'Success':
      if (inv.ResponseCode === 0) return { ...pending, status: 'passed', output };
      break;
    case 'Pending':
    case 'InProgress':
    case 'Delayed':
    case 'Cancelling':
      if (polls > maxPolls) {
        throw new MigrationCheckFailed(
          `the migration check did not finish within ${check.timeoutSeconds}s (command ${previous.commandId})`,
        );
      }
      return pending;
  }
  const code = inv.ResponseCode ?? -1;
  if (inv.Status === 'Failed' && code > 0) {
    throw new MigrationsPending(
      `"${check.command.join(' ')}" exited ${code} in container ${check.container} on ${previous.instanceId}: the database schema does not match the new version. Output:\n${output}`,
    );
  }
  throw new MigrationCheckFailed(
    `the migration check ended ${inv.Status ?? 'unknown'}${inv.StatusDetails ? ` (${inv.StatusDetails})` : ''} with exit ${code} on ${previous.instanceId}; ${code === -1 ? 'it never ran' : 'see the output'}:\n${output}`,
  );
}

/** Last lines only: enough for on-call, small enough for state (SSM already cuts stdout at 24,000 chars). */
function tail(text: string, lines = 15, chars = 1500): string {
  return text.split('\n').slice(-lines).join('\n').slice(-chars);
}
