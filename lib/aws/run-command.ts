import { createHash } from 'node:crypto';
import {
  GetCommandInvocationCommand,
  ListCommandsCommand,
  SendCommandCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { EbshipError } from '../errors.js';
import type { InstanceSnapshot } from '../health/verdict.js';
import { maskAppText } from '../text/mask.js';
import { isTransient } from './transient.js';

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

export interface CommandToSend {
  document: string;
  instanceIds: string[];
  timeoutSeconds: number;
  comment: string;
  parameters?: Record<string, string[]>;
}

/** Sends a command; the SDK may retry it (use sendCommandOnce where running it twice matters). */
export async function sendCommand(client: SSMClient, p: CommandToSend): Promise<string> {
  const out = await client.send(sendCommandOf(p));
  const id = out.Command?.CommandId;
  if (!id) throw new Error('SSM accepted the command but returned no command id');
  return id;
}

function sendCommandOf(p: CommandToSend): SendCommandCommand {
  return new SendCommandCommand({
    DocumentName: p.document,
    InstanceIds: p.instanceIds,
    TimeoutSeconds: p.timeoutSeconds,
    Comment: p.comment.slice(0, COMMENT_MAX),
    ...(p.parameters ? { Parameters: p.parameters } : {}),
  });
}

/** SendCommand's Comment: at most 100 characters (SSM API model, shape Comment). */
const COMMENT_MAX = 100;

/**
 * A Comment that names one send: readable words, cut to fit, then a key derived from `unique` (the
 * execution and the digest), so a retry of the same step builds the same comment and finds its
 * command with findCommand.
 */
export function commentWithKey(words: string, unique: string): string {
  const key = ` #${createHash('sha256').update(unique).digest('hex').slice(0, 16)}`;
  return `${words.slice(0, COMMENT_MAX - key.length)}${key}`;
}

/** SendCommand's outcome is unknown: the reply was lost or failed after SSM may have taken it. */
export class SendUnconfirmed extends EbshipError {
  override readonly name = 'SendUnconfirmed';
}

/**
 * SendCommand has no idempotency token (SSM API model, SendCommandRequest: no ClientToken), so a
 * resend after a lost reply is a second run of the command. For commands that must run once, the
 * SDK's own retries are turned off for this one call (a middleware inside the retry loop refuses the
 * second attempt), and the caller looks the command up by its comment before sending again.
 */
function sendOnlyOnce(command: SendCommandCommand): SendCommandCommand {
  let attempts = 0;
  command.middlewareStack.add(
    (next) => async (args) => {
      attempts += 1;
      if (attempts > 1)
        throw new SendUnconfirmed(
          'SendCommand failed after SSM may have accepted it; not resent, so the command cannot run twice',
        );
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'ebshipSendOnce' },
  );
  return command;
}

export interface FoundCommand {
  commandId: string;
  instanceIds: string[];
}

/**
 * The command sent with this exact comment (ListCommands filtered on the document and, when given,
 * the time it was sent after), newest first; undefined when SSM lists none. ListCommands keeps 30
 * days of commands (SSM API reference, ListCommands).
 */
export async function findCommand(
  client: SSMClient,
  p: { document: string; comment: string; sentAfter?: Date },
): Promise<FoundCommand | undefined> {
  let nextToken: string | undefined;
  for (let page = 0; page < 10; page++) {
    const out = await client.send(
      new ListCommandsCommand({
        Filters: [
          { key: 'DocumentName', value: p.document },
          ...(p.sentAfter ? [{ key: 'InvokedAfter' as const, value: p.sentAfter.toISOString() }] : []),
        ],
        MaxResults: 50,
        ...(nextToken ? { NextToken: nextToken } : {}),
      }),
    );
    const hit = (out.Commands ?? []).find((c) => c.Comment === p.comment && c.CommandId);
    if (hit?.CommandId) return { commandId: hit.CommandId, instanceIds: hit.InstanceIds ?? [] };
    nextToken = out.NextToken;
    if (!nextToken) return undefined;
  }
  return undefined;
}

/** Looks after a send whose reply was lost: this many times, this far apart (in the same invocation). */
const LOOKUPS_AFTER_LOST_REPLY = 3;
const LOOKUP_PAUSE_MS = 2_000;

/**
 * Sends a command that must run at most once per `comment` (commentWithKey): first looks for it (a
 * retried Lambda, a redriven execution; unless the caller just did), then sends with the SDK's retries off. When the reply is
 * lost or a 5xx, looks again: found, it is that command; still not listed after a few looks, SSM
 * never took it, and it is sent again, the same way. What SendCommand refuses (no such document,
 * instance not managed...) is thrown as it is.
 */
export async function sendCommandOnce(
  client: SSMClient,
  p: CommandToSend & { sentAfter?: Date },
  options: { lookedUp?: boolean; pause?: (ms: number) => Promise<void> } = {},
): Promise<FoundCommand & { reused: boolean }> {
  const pause = options.pause ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const lookup = {
    document: p.document,
    comment: p.comment.slice(0, COMMENT_MAX),
    ...(p.sentAfter ? { sentAfter: p.sentAfter } : {}),
  };
  const earlier = options.lookedUp ? undefined : await findCommand(client, lookup);
  if (earlier) return { ...earlier, reused: true };
  for (let send = 1; ; send++) {
    try {
      const out = await client.send(sendOnlyOnce(sendCommandOf(p)));
      const id = out.Command?.CommandId;
      if (!id) throw new SendUnconfirmed('SSM accepted the command but returned no command id');
      return { commandId: id, instanceIds: p.instanceIds, reused: false };
    } catch (err) {
      if (!(err instanceof SendUnconfirmed) && !isTransient(err)) throw err;
      for (let look = 0; look < LOOKUPS_AFTER_LOST_REPLY; look++) {
        await pause(LOOKUP_PAUSE_MS);
        const found = await findCommand(client, lookup).catch(() => undefined);
        if (found) return { ...found, reused: true };
      }
      if (send >= 2)
        throw new SendUnconfirmed(
          `SSM did not confirm ${p.document} twice (last error: ${(err as Error).name}), and does not list it: it did not run`,
        );
    }
  }
}

/** Why a read of an invocation gave no verdict yet. */
export type PendingWhy =
  /** InvocationDoesNotExist: SSM has not registered it yet (eventual consistency after SendCommand). */
  | 'not-yet'
  /** The read failed (throttled, a 5xx, a timeout): no data. */
  | 'unread'
  /** It runs (Pending, InProgress, Delayed, Cancelling). */
  | 'running';

/** What one read of one invocation says. Output is masked before it is returned. */
export type InvocationRead =
  | { kind: 'pending'; why: PendingWhy; status?: string; error?: string }
  | { kind: 'exited'; code: number; output: string; status: string; details?: string }
  | {
      kind: 'not-run';
      reason: 'undeliverable' | 'terminated' | 'no-exit-code' | 'timed-out' | 'cancelled' | 'other';
      why: string;
      output: string;
      status?: string;
      details?: string;
      /** ResponseCode, when SSM gave one (-1: never ran). */
      code?: number;
    };

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
    const name = (err as Error).name;
    // Right after SendCommand (SSM API reference, GetCommandInvocation: InvocationDoesNotExist).
    if (name === 'InvocationDoesNotExist') return { kind: 'pending', why: 'not-yet', error: name };
    if (isTransient(err)) return { kind: 'pending', why: 'unread', error: name };
    throw err;
  }
  // The app's own output: masked here, before it enters execution state, history or an alert.
  const output = tailOf(
    maskAppText(`${inv.StandardOutputContent ?? ''}\n${inv.StandardErrorContent ?? ''}`).trim(),
  );
  const status = inv.Status ?? 'unknown';
  const shown = {
    ...(inv.StatusDetails ? { details: inv.StatusDetails } : {}),
    ...(inv.ResponseCode !== undefined ? { code: inv.ResponseCode } : {}),
  };
  const details = inv.StatusDetails ? ` (${inv.StatusDetails})` : '';
  switch (inv.Status) {
    case 'Pending':
    case 'InProgress':
    case 'Delayed':
    case 'Cancelling':
      return { kind: 'pending', why: 'running', status };
    case 'Success':
    case 'Failed':
      if (inv.StatusDetails === 'Undeliverable')
        return {
          kind: 'not-run',
          reason: 'undeliverable',
          why: 'could not be delivered: the instance is not SSM-managed or its agent is unreachable',
          output,
          status,
          ...shown,
        };
      if (inv.StatusDetails === 'Terminated')
        return {
          kind: 'not-run',
          reason: 'terminated',
          why: 'was stopped: the instance was terminated',
          output,
          status,
          ...shown,
        };
      if (inv.ResponseCode === undefined || inv.ResponseCode < 0)
        return {
          kind: 'not-run',
          reason: 'no-exit-code',
          why: `ended ${inv.Status}${details} without an exit code`,
          output,
          status,
          ...shown,
        };
      return { kind: 'exited', output, status, ...shown, code: inv.ResponseCode };
    case 'TimedOut':
      return {
        kind: 'not-run',
        reason: 'timed-out',
        why: `timed out${details}: it did not finish within ${timeoutSeconds}s`,
        output,
        status,
        ...shown,
      };
    case 'Cancelled':
      return {
        kind: 'not-run',
        reason: 'cancelled',
        why: 'was cancelled before it finished',
        output,
        status,
        ...shown,
      };
  }
  return { kind: 'not-run', reason: 'other', why: `ended ${status}${details}`, output, status, ...shown };
}

/** Polls a command may take before it counts as timed out: its timeout at POLL_SECONDS, plus registration. */
export function maxPollsFor(timeoutSeconds: number): number {
  return Math.ceil(timeoutSeconds / POLL_SECONDS) + MAX_NOT_YET_POLLS;
}

/** Last lines only: enough for on-call, small enough for state (SSM already cuts stdout at 24,000 chars). */
export function tailOf(text: string, lines = 15, chars = 1500): string {
  return text.split('\n').slice(-lines).join('\n').slice(-chars);
}
