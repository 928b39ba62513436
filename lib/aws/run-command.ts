import { GetCommandInvocationCommand, SendCommandCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { InstanceSnapshot } from '../health/verdict.js';
import { maskAppText } from '../text/mask.js';
import { isTransient } from './migration-check.js';

/**
 * SSM Run Command for the release phase and the post-deploy checks: one of the stack's own documents
 * (generated from ebship.yml at package time, argv fixed in it), sent to chosen instances, and read
 * back one GetCommandInvocation at a time by the state machine's Wait loop. Nothing here builds shell
 * text; the only parameter ever sent is the release's image digest, which the document's
 * allowedPattern checks again.
 */

/** Seconds between polls: the Wait state's SecondsPath. */
export const POLL_SECONDS = 5;
/**
 * Right after SendCommand, GetCommandInvocation answers InvocationDoesNotExist for a while (SSM API
 * reference, GetCommandInvocation errors): these polls are allowed on top of the command's timeout.
 */
export const MAX_NOT_YET_POLLS = 10;

/** The stack's documents share the migration check's prefix: `<stack>-migration-check` → `<stack>`. */
export function stackPrefix(migrationDocumentName: string): string {
  return migrationDocumentName.replace(/-migration-check$/, '');
}

export function releaseDocumentFor(prefix: string, target: string): string {
  return `${prefix}-release-${target}`;
}

export function checkDocumentFor(prefix: string, target: string, check: string): string {
  return `${prefix}-check-${target}-${check}`;
}

/** Instances that run `version` and report Ok (or Green): where a command can run against a healthy app. */
export function healthyInstances(instances: InstanceSnapshot[], version?: string): string[] {
  return instances
    .filter((i) => version === undefined || i.versionLabel === version)
    .filter((i) => i.deploymentStatus === undefined || i.deploymentStatus === 'Deployed')
    .filter((i) => i.color === 'Green' || i.healthStatus === 'Ok' || i.healthStatus === 'Info')
    .map((i) => i.id)
    .sort();
}

/** Why SendCommand refused, in words on-call can act on; undefined for errors to rethrow as they are. */
export function sendRefusal(err: unknown, document: string, what: string): string | undefined {
  const name = (err as Error).name;
  // https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html
  if (name === 'InvalidInstanceId')
    return `the instance is not SSM-managed, so ${what} cannot run: attach AmazonSSMManagedInstanceCore to the environment's instance profile and make sure the SSM agent runs`;
  if (name === 'InvalidDocument')
    return `SSM document ${document} does not exist: redeploy ebship (serverless deploy) after changing ebship.yml`;
  if (name === 'InvalidParameters')
    return `SSM refused the parameters of ${document} (${(err as Error).message}): redeploy ebship so the document matches this version`;
  return undefined;
}

export async function sendCommand(
  client: SSMClient,
  p: {
    document: string;
    instanceIds: string[];
    timeoutSeconds: number;
    comment: string;
    parameters?: Record<string, string[]>;
  },
): Promise<string> {
  const out = await client.send(
    new SendCommandCommand({
      DocumentName: p.document,
      InstanceIds: p.instanceIds,
      TimeoutSeconds: p.timeoutSeconds,
      Comment: p.comment.slice(0, 100),
      ...(p.parameters ? { Parameters: p.parameters } : {}),
    }),
  );
  const id = out.Command?.CommandId;
  if (!id) throw new Error('SSM accepted the command but returned no command id');
  return id;
}

/** What one read of one invocation says. Output is masked before it is returned. */
export type InvocationRead =
  | { kind: 'pending' }
  | { kind: 'exited'; code: number; output: string }
  | { kind: 'not-run'; why: string; output: string };

/**
 * One GetCommandInvocation. A missing invocation or a failed read is `pending` (no data, never a
 * verdict); the caller bounds the polls. Terminal states other than an exit (timed out, cancelled,
 * undeliverable, terminated) are `not-run` with the reason.
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/monitor-commands.html
 */
export async function readInvocation(
  client: SSMClient,
  commandId: string,
  instanceId: string,
  timeoutSeconds: number,
): Promise<InvocationRead> {
  let inv: {
    Status?: string;
    ResponseCode?: number;
    StandardOutputContent?: string;
    StandardErrorContent?: string;
    StatusDetails?: string;
  };
  try {
    inv = await client.send(
      new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }),
    );
  } catch (err) {
    if ((err as Error).name === 'InvocationDoesNotExist' || isTransient(err)) return { kind: 'pending' };
    throw err;
  }
  // The app's own output: masked here, before it enters execution state, history or an alert.
  const output = tailOf(
    maskAppText(`${inv.StandardOutputContent ?? ''}\n${inv.StandardErrorContent ?? ''}`).trim(),
  );
  const details = inv.StatusDetails ? ` (${inv.StatusDetails})` : '';
  switch (inv.Status) {
    case 'Pending':
    case 'InProgress':
    case 'Delayed':
    case 'Cancelling':
      return { kind: 'pending' };
    case 'Success':
    case 'Failed':
      if (inv.StatusDetails === 'Undeliverable')
        return {
          kind: 'not-run',
          why: 'could not be delivered: the instance is not SSM-managed or its agent is unreachable',
          output,
        };
      if (inv.StatusDetails === 'Terminated')
        return { kind: 'not-run', why: 'was stopped: the instance was terminated', output };
      if (inv.ResponseCode === undefined || inv.ResponseCode < 0)
        return { kind: 'not-run', why: `ended ${inv.Status}${details} without an exit code`, output };
      return { kind: 'exited', code: inv.ResponseCode, output };
    case 'TimedOut':
      return {
        kind: 'not-run',
        why: `timed out${details}: it did not finish within ${timeoutSeconds}s`,
        output,
      };
    case 'Cancelled':
      return { kind: 'not-run', why: 'was cancelled before it finished', output };
  }
  return { kind: 'not-run', why: `ended ${inv.Status ?? 'unknown'}${details}`, output };
}

/** Polls a command may take before it counts as timed out: its timeout at POLL_SECONDS, plus registration. */
export function maxPollsFor(timeoutSeconds: number): number {
  return Math.ceil(timeoutSeconds / POLL_SECONDS) + MAX_NOT_YET_POLLS;
}

/** Last lines only: enough for on-call, small enough for state (SSM already cuts stdout at 24,000 chars). */
export function tailOf(text: string, lines = 15, chars = 1500): string {
  return text.split('\n').slice(-lines).join('\n').slice(-chars);
}
