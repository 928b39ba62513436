import type { SSMClient } from '@aws-sdk/client-ssm';
import { RELEASE_PULL_SECONDS } from '../config/limits.js';
import type { ReleasePhase } from '../config/schema.js';
import { ReleaseFailed, ReleaseNotRun } from '../errors.js';
import type { InstanceSnapshot } from '../health/verdict.js';
import { DIGEST } from '../release/image-ref.js';
import type { ReleasePhaseResult } from '../workflow-state.js';
import {
  commentWithKey,
  type FoundCommand,
  findCommand,
  healthyInstances,
  maxPollsFor,
  POLL_SECONDS,
  readInvocation,
  SendUnconfirmed,
  sendCommandOnce,
  sendRefusal,
} from './run-command.js';

/** infra/release-script.cjs's exit codes: keep the two in step. */
export const RELEASE_EXIT = {
  passed: 0,
  failed: 3,
  noContainer: 4,
  cannotStart: 5,
  timedOut: 6,
  cannotPull: 7,
  envUnusable: 8,
} as const;

/** The document's step timeout adds this for the ECR login and the pull (one value: lib/config/limits.ts). */
export { RELEASE_PULL_SECONDS };

export interface ReleaseContext {
  environment: string;
  versionLabel: string;
  imageDigest: string;
  imageUri: string;
  document: string;
  phase: ReleasePhase;
  /**
   * The execution's id: with the digest, it names this release's one command (its Comment), so a
   * retried step or a redriven execution finds the command it sent instead of running it again.
   */
  executionId: string;
  /** ISO time the execution started: the command was sent after it. */
  startedAt?: string;
}

const argvText = (phase: ReleasePhase) => phase.command.join(' ');

/**
 * No instance to run on. `skip` deploys without the release phase and says so; `fail` stops the
 * deploy with the fix. A first deploy (or an environment made with EB's sample app) is the usual case.
 */
function emptyEnvironment(ctx: ReleaseContext, why: string, polls = 0): ReleasePhaseResult {
  if (ctx.phase.onEmptyEnvironment === 'skip') {
    return {
      status: 'skipped',
      polls,
      nextPollSeconds: 0,
      note: `release phase skipped: ${why} (release.onEmptyEnvironment: skip); "${argvText(ctx.phase)}" did not run for ${ctx.versionLabel}`,
    };
  }
  throw new ReleaseNotRun(
    `the release phase could not run: ${why}. ${ctx.environment} was not changed. If this is its first deploy, set release.onEmptyEnvironment: skip in ebship.yml and apply "${argvText(ctx.phase)}" once by hand (or from a platform hook), then push again`,
  );
}

/** Picks one healthy instance and sends the target's release document with the new digest. */
export async function startReleasePhase(
  client: SSMClient,
  instances: InstanceSnapshot[],
  ctx: ReleaseContext,
  /** Waits between looks after a lost reply (tests pass their own). */
  pause?: (ms: number) => Promise<void>,
): Promise<ReleasePhaseResult> {
  if (!DIGEST.test(ctx.imageDigest)) {
    throw new ReleaseNotRun(
      `the release phase needs the new image's digest (sha256:<64 hex>), and this release has "${ctx.imageDigest}"`,
    );
  }
  const comment = commentWithKey(
    `ebship release ${ctx.environment} ${ctx.versionLabel}`,
    `${ctx.executionId} ${ctx.imageDigest}`,
  );
  const startedAt = Date.parse(ctx.startedAt ?? '');
  // A minute of slack for clocks: the command cannot predate its execution by more.
  const sentAfter = Number.isNaN(startedAt) ? undefined : new Date(startedAt - 60_000);
  const lookup = { document: ctx.document, comment, ...(sentAfter ? { sentAfter } : {}) };
  // This release's command first: a step run again (a Lambda error after it sent, a redrive) must
  // poll the command it sent, never send it twice.
  const earlier = await findCommand(client, lookup);
  const [healthy] = healthyInstances(instances);
  if (!earlier && !healthy) {
    const seen = instances.map((i) => `${i.id} ${i.color ?? i.healthStatus ?? 'unknown'}`).join(', ');
    return emptyEnvironment(
      ctx,
      `no healthy instance of ${ctx.environment} runs the app now${seen ? ` (instances: ${seen})` : ' (it has no instances)'}`,
    );
  }
  let sent: FoundCommand;
  try {
    sent =
      earlier ??
      (await sendCommandOnce(
        client,
        {
          ...lookup,
          instanceIds: healthy ? [healthy] : [],
          timeoutSeconds: ctx.phase.timeoutSeconds + RELEASE_PULL_SECONDS,
          // The one parameter: the document's allowedPattern refuses anything but a digest.
          parameters: { imageDigest: [ctx.imageDigest] },
        },
        { lookedUp: true, ...(pause ? { pause } : {}) },
      ));
  } catch (err) {
    const refusal = sendRefusal(err, ctx.document, 'the release phase');
    if (refusal)
      throw new ReleaseNotRun(`${refusal} (instance ${healthy}); ${ctx.environment} was not changed`);
    if (err instanceof SendUnconfirmed)
      throw new ReleaseNotRun(
        `the release phase could not be sent: ${err.message}; ${ctx.environment} was not changed. Push again`,
      );
    throw err;
  }
  const instanceId = sent.instanceIds[0] ?? healthy;
  if (!instanceId) throw new ReleaseNotRun(`SSM lists the release command ${sent.commandId} on no instance`);
  return {
    status: 'pending',
    commandId: sent.commandId,
    instanceId,
    polls: 0,
    nextPollSeconds: POLL_SECONDS,
  };
}

/**
 * One poll. Judged by the script's exit code, never by parsing output. A failed or timed-out command
 * is ReleaseFailed, anything that kept it from running is ReleaseNotRun; both end the deploy before
 * UpdateEnvironment, with the masked tail of the output in the message (alert and history).
 */
export async function pollReleasePhase(
  client: SSMClient,
  previous: ReleasePhaseResult,
  ctx: ReleaseContext,
): Promise<ReleasePhaseResult> {
  const { commandId, instanceId } = previous;
  if (!commandId || !instanceId) throw new ReleaseNotRun('the release phase was never sent (no command id)');
  const polls = previous.polls + 1;
  const limit = ctx.phase.timeoutSeconds + RELEASE_PULL_SECONDS;
  const where = `on ${instanceId} (command ${commandId})`;
  const what = `release command "${argvText(ctx.phase)}" in a one-off container of ${ctx.imageUri}`;
  const unchanged = `${ctx.environment} was not changed and keeps running its current version`;
  const read = await readInvocation(client, commandId, instanceId, limit);
  if (read.kind === 'pending') {
    // Not registered yet (SSM's eventual consistency right after SendCommand), a throttled or 5xx
    // read, or still running: no verdict, until the release's own deadline.
    if (polls <= maxPollsFor(limit)) return { ...previous, polls, nextPollSeconds: POLL_SECONDS };
    if (read.why === 'unread')
      throw new ReleaseFailed(
        `could not read the result of the ${what} ${where} within ${limit}s (last error: ${read.error}); it may still be running. ${unchanged}`,
      );
    if (read.why === 'not-yet')
      throw new ReleaseNotRun(
        `SSM never registered the ${what} ${where} within ${limit}s: is the instance SSM-managed (SSM agent running, AmazonSSMManagedInstanceCore on the instance profile)? ${unchanged}`,
      );
    throw new ReleaseFailed(
      `the ${what} did not finish within ${limit}s ${where} (release.timeoutSeconds ${ctx.phase.timeoutSeconds} + ${RELEASE_PULL_SECONDS}s to pull); ${unchanged}`,
    );
  }
  const output = read.output;
  const withOutput = (text: string) => (output ? `${text}. Output:\n${output}` : text);
  if (read.kind === 'not-run') {
    if (read.reason === 'timed-out')
      throw new ReleaseFailed(withOutput(`the ${what} ${read.why} ${where}; ${unchanged}`));
    throw new ReleaseNotRun(withOutput(`the ${what} ${read.why} ${where}; ${unchanged}`));
  }
  switch (read.code) {
    case RELEASE_EXIT.passed:
      return { ...previous, status: 'passed', polls, nextPollSeconds: 0, ...(output ? { output } : {}) };
    case RELEASE_EXIT.failed: {
      const own = /ebship-release-exit=(\d+)/.exec(output)?.[1];
      throw new ReleaseFailed(
        withOutput(
          `the ${what} exited ${own ?? 'non-zero'} ${where}; ${unchanged}. Fix the release and push again`,
        ),
      );
    }
    case RELEASE_EXIT.timedOut:
      throw new ReleaseFailed(
        withOutput(
          `the ${what} ran past release.timeoutSeconds (${ctx.phase.timeoutSeconds}s) ${where} and was stopped; ${unchanged}. Make it faster or raise release.timeoutSeconds`,
        ),
      );
    case RELEASE_EXIT.noContainer:
      return emptyEnvironment(
        ctx,
        `no running "${ctx.phase.container}" container on ${instanceId} to take the app's environment from`,
        polls,
      );
    case RELEASE_EXIT.cannotPull:
      throw new ReleaseNotRun(
        withOutput(
          `the new image could not be pulled ${where}: the instance profile needs ecr:GetAuthorizationToken, ecr:BatchGetImage and ecr:GetDownloadUrlForLayer (docs/iam.md); ${unchanged}`,
        ),
      );
    case RELEASE_EXIT.envUnusable:
      throw new ReleaseNotRun(
        withOutput(
          `an environment variable of the running "${ctx.phase.container}" container holds a newline, which docker's --env-file cannot carry ${where}; ${unchanged}`,
        ),
      );
    case RELEASE_EXIT.cannotStart:
      throw new ReleaseNotRun(
        withOutput(
          `the release phase could not start ${where} (docker, aws or a tmpfs missing, or docker failed); ${unchanged}`,
        ),
      );
  }
  throw new ReleaseNotRun(
    withOutput(`the release script ended with exit ${read.code} ${where}; ${unchanged}`),
  );
}
