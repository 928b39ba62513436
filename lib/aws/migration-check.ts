import { SendCommandCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { MigrationCheck } from '../config/schema.js';
import { MigrationCheckFailed, MigrationsPending } from '../errors.js';
import type { InstanceSnapshot } from '../health/verdict.js';
import type { MigrationResult } from '../workflow-state.js';
import { readInvocation } from './run-command.js';

/**
 * The check runs through its target's own SSM document (generated from ebship.yml at package time by
 * infra/config-vars.cjs): the container and argv are fixed in the document, so SendCommand passes no
 * parameters and nothing here is ever shell text. The script reports what happened by exit code;
 * keep these in step with infra/migration-check-script.cjs.
 */
export const CHECK_EXIT = { passed: 0, checkFailed: 3, noContainer: 4, cannotStart: 5 } as const;

/** `<stack>-migration-check` + `-<target>`: the document infra/config-vars.cjs generates for a target. */
export function migrationDocumentFor(prefix: string, target: string): string {
  return `${prefix}-${target}`;
}

/**
 * Right after SendCommand, GetCommandInvocation answers InvocationDoesNotExist for a while (SSM API
 * reference, GetCommandInvocation errors): these polls are allowed on top of the check's own timeout.
 */
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
  let out: { Command?: { CommandId?: string } };
  try {
    out = await client.send(
      new SendCommandCommand({
        DocumentName: p.documentName,
        InstanceIds: [p.instanceId],
        TimeoutSeconds: p.check.timeoutSeconds,
        Comment: `ebship migration check ${p.environment} ${p.versionLabel}`.slice(0, 100),
      }),
    );
  } catch (err) {
    const name = (err as Error).name;
    // SendCommand refuses an instance that is not a managed node (no agent, no instance profile permission).
    // https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html
    if (name === 'InvalidInstanceId') {
      throw new MigrationCheckFailed(
        `instance ${p.instanceId} of ${p.environment} is not SSM-managed, so the migration check cannot run: attach AmazonSSMManagedInstanceCore to the environment's instance profile and make sure the SSM agent runs`,
      );
    }
    if (name === 'InvalidDocument') {
      throw new MigrationCheckFailed(
        `SSM document ${p.documentName} does not exist: redeploy ebship (serverless deploy) after adding migrationCheck to ebship.yml`,
      );
    }
    throw err;
  }
  const commandId = out.Command?.CommandId;
  if (!commandId) throw new MigrationCheckFailed('SSM accepted the command but returned no command id');
  return { status: 'pending', commandId, instanceId: p.instanceId, polls: 0, nextPollSeconds: POLL_SECONDS };
}

/**
 * One poll of the check. A failed or throttled read is "no data", never a verdict: polling goes on
 * until the check's own deadline. Judged by Status and the script's exit code, never by parsing the
 * output, and each outcome is reported as what it is: the check failed (MigrationsPending), or it
 * could not run: no container, instance not SSM-managed, timed out, cancelled, could not read.
 */
export async function pollMigrationCheck(
  client: SSMClient,
  previous: MigrationResult,
  check: MigrationCheck,
): Promise<MigrationResult> {
  const polls = previous.polls + 1;
  const maxPolls = Math.ceil(check.timeoutSeconds / POLL_SECONDS) + MAX_NOT_YET;
  const overdue = polls > maxPolls;
  const pending = { ...previous, polls, nextPollSeconds: POLL_SECONDS };
  const where = `on ${previous.instanceId} (command ${previous.commandId})`;
  // The one reader of an invocation (lib/aws/run-command.ts), also the release phase's and the checks'.
  const read = await readInvocation(client, previous.commandId, previous.instanceId, check.timeoutSeconds);
  if (read.kind === 'pending') {
    if (!overdue) return pending;
    if (read.why === 'not-yet')
      throw new MigrationCheckFailed(
        `SSM never registered the migration check ${where} within ${check.timeoutSeconds}s: is the instance SSM-managed (SSM agent running, AmazonSSMManagedInstanceCore on the instance profile)?`,
      );
    if (read.why === 'unread')
      throw new MigrationCheckFailed(
        `could not read the migration check's result ${where} before its ${check.timeoutSeconds}s deadline (last error: ${read.error}); the check may still be running on the instance`,
      );
    throw new MigrationCheckFailed(
      `the migration check timed out: it did not finish within ${check.timeoutSeconds}s ${where} (last status ${read.status})`,
    );
  }
  const output = read.output;
  const details = read.details ? ` (${read.details})` : '';
  if (read.kind === 'not-run') {
    switch (read.reason) {
      case 'timed-out':
        throw new MigrationCheckFailed(
          `the migration check timed out ${where}${details}: it did not finish within ${check.timeoutSeconds}s; raise migrationCheck.timeoutSeconds or make the check faster`,
        );
      case 'cancelled':
        throw new MigrationCheckFailed(`the migration check was cancelled ${where} before it finished`);
      // StatusDetails says whether it ran at all (Undeliverable, Terminated) before any exit code.
      // https://docs.aws.amazon.com/systems-manager/latest/userguide/monitor-commands.html
      case 'undeliverable':
        throw new MigrationCheckFailed(
          `the migration check could not be delivered ${where}: the instance is not SSM-managed or its SSM agent is unreachable`,
        );
      case 'terminated':
        throw new MigrationCheckFailed(`the instance was terminated while the migration check ran ${where}`);
    }
  }
  const code = read.code ?? -1;
  if (read.kind === 'exited' && read.status === 'Success' && code === CHECK_EXIT.passed)
    return { ...pending, status: 'passed', output };
  switch (code) {
    case CHECK_EXIT.checkFailed: {
      const own = /ebship-check-exit=(\d+)/.exec(output)?.[1];
      throw new MigrationsPending(
        `"${check.command.join(' ')}" exited ${own ?? 'non-zero'} in container ${check.container} ${where}: the database schema does not match the new version. Output:\n${output}`,
      );
    }
    case CHECK_EXIT.noContainer:
      throw new MigrationCheckFailed(
        `no running container named "${check.container}" ${where}, so the migration check could not run; check migrationCheck.container in ebship.yml. Output:\n${output}`,
      );
    case CHECK_EXIT.cannotStart:
      throw new MigrationCheckFailed(
        `the migration check could not start ${where}: docker is missing or its daemon is down. Output:\n${output}`,
      );
  }
  throw new MigrationCheckFailed(
    `the migration check ended ${read.status ?? 'unknown'}${details} with exit ${code} ${where}; ${code === -1 ? 'it never ran' : 'the check script itself failed'}. Output:\n${output}`,
  );
}
