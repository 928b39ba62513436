import { GetCommandInvocationCommand, SendCommandCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { MigrationCheck } from '../config/schema.js';
import { MigrationCheckFailed, MigrationsPending } from '../errors.js';
import type { InstanceSnapshot } from '../health/verdict.js';
import { maskAppText } from '../text/mask.js';
import type { MigrationResult } from '../workflow-state.js';

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
    const name = (err as Error).name;
    if (name === 'InvocationDoesNotExist') {
      if (!overdue) return pending;
      throw new MigrationCheckFailed(
        `SSM never registered the migration check ${where} within ${check.timeoutSeconds}s: is the instance SSM-managed (SSM agent running, AmazonSSMManagedInstanceCore on the instance profile)?`,
      );
    }
    if (isTransient(err)) {
      if (!overdue) return pending;
      throw new MigrationCheckFailed(
        `could not read the migration check's result ${where} before its ${check.timeoutSeconds}s deadline (last error: ${name}); the check may still be running on the instance`,
      );
    }
    throw err;
  }
  // The app's own output: masked here, before it enters execution state, history or an alert.
  const output = tail(
    maskAppText(`${inv.StandardOutputContent ?? ''}\n${inv.StandardErrorContent ?? ''}`).trim(),
  );
  const code = inv.ResponseCode ?? -1;
  switch (inv.Status) {
    case 'Pending':
    case 'InProgress':
    case 'Delayed':
    case 'Cancelling':
      if (!overdue) return pending;
      throw new MigrationCheckFailed(
        `the migration check timed out: it did not finish within ${check.timeoutSeconds}s ${where} (last status ${inv.Status})`,
      );
    case 'Success':
      if (code === CHECK_EXIT.passed) return { ...pending, status: 'passed', output };
      break;
    case 'TimedOut':
      throw new MigrationCheckFailed(
        `the migration check timed out ${where}${inv.StatusDetails ? ` (${inv.StatusDetails})` : ''}: it did not finish within ${check.timeoutSeconds}s; raise migrationCheck.timeoutSeconds or make the check faster`,
      );
    case 'Cancelled':
      throw new MigrationCheckFailed(`the migration check was cancelled ${where} before it finished`);
  }
  // Failed. StatusDetails says whether it ran at all (Undeliverable, Terminated) before the exit code is read.
  // https://docs.aws.amazon.com/systems-manager/latest/userguide/monitor-commands.html
  if (inv.StatusDetails === 'Undeliverable') {
    throw new MigrationCheckFailed(
      `the migration check could not be delivered ${where}: the instance is not SSM-managed or its SSM agent is unreachable`,
    );
  }
  if (inv.StatusDetails === 'Terminated') {
    throw new MigrationCheckFailed(`the instance was terminated while the migration check ran ${where}`);
  }
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
    `the migration check ended ${inv.Status ?? 'unknown'}${inv.StatusDetails ? ` (${inv.StatusDetails})` : ''} with exit ${code} ${where}; ${code === -1 ? 'it never ran' : 'the check script itself failed'}. Output:\n${output}`,
  );
}

// Errors that say nothing about the check: throttling, AWS-side faults, timeouts, lost connections.
const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

/** True for a read failure that is no data about the check, so the next poll may succeed. */
export function isTransient(err: unknown): boolean {
  const e = err as {
    name?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
    $retryable?: unknown;
  };
  if (typeof e !== 'object' || e === null) return false;
  if (e.name !== undefined && TRANSIENT_NAMES.has(e.name)) return true;
  if (e.code !== undefined && TRANSIENT_CODES.has(e.code)) return true;
  if (e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  return status === 429 || (status !== undefined && status >= 500);
}

/** Last lines only: enough for on-call, small enough for state (SSM already cuts stdout at 24,000 chars). */
function tail(text: string, lines = 15, chars = 1500): string {
  return text.split('\n').slice(-lines).join('\n').slice(-chars);
}
