import type { SSMClient } from '@aws-sdk/client-ssm';
import { RELEASE_PULL_SECONDS } from '../config/limits.js';
import type { ReleasePhase } from '../config/schema.js';
import { ReleaseFailed, ReleaseNotRun } from '../errors.js';
import type { InstanceSnapshot } from '../health/verdict.js';
import { DIGEST } from '../release/image-ref.js';
import type { ReleasePhaseResult } from '../workflow-state.js';
import {
  healthyInstances,
  maxPollsFor,
  POLL_SECONDS,
  readInvocation,
  sendCommand,
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
): Promise<ReleasePhaseResult> {
  if (!DIGEST.test(ctx.imageDigest)) {
    throw new ReleaseNotRun(
      `the release phase needs the new image's digest (sha256:<64 hex>), and this release has "${ctx.imageDigest}"`,
    );
  }
  const [instanceId] = healthyInstances(instances);
  if (!instanceId) {
    const seen = instances.map((i) => `${i.id} ${i.color ?? i.healthStatus ?? 'unknown'}`).join(', ');
    return emptyEnvironment(
      ctx,
      `no healthy instance of ${ctx.environment} runs the app now${seen ? ` (instances: ${seen})` : ' (it has no instances)'}`,
    );
  }
  let commandId: string;
  try {
    commandId = await sendCommand(client, {
      document: ctx.document,
      instanceIds: [instanceId],
      timeoutSeconds: ctx.phase.timeoutSeconds + RELEASE_PULL_SECONDS,
      comment: `ebship release ${ctx.environment} ${ctx.versionLabel}`,
      // The one parameter: the document's allowedPattern refuses anything but a digest.
      parameters: { imageDigest: [ctx.imageDigest] },
    });
  } catch (err) {
    const refusal = sendRefusal(err, ctx.document, 'the release phase');
    if (refusal)
      throw new ReleaseNotRun(`${refusal} (instance ${instanceId}); ${ctx.environment} was not changed`);
    throw err;
  }
  return { status: 'pending', commandId, instanceId, polls: 0, nextPollSeconds: POLL_SECONDS };
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
    if (polls <= maxPollsFor(limit)) return { ...previous, polls, nextPollSeconds: POLL_SECONDS };
    throw new ReleaseFailed(
      `the ${what} did not finish within ${limit}s ${where} (release.timeoutSeconds ${ctx.phase.timeoutSeconds} + ${RELEASE_PULL_SECONDS}s to pull); ${unchanged}`,
    );
  }
  const output = read.output;
  const withOutput = (text: string) => (output ? `${text}. Output:\n${output}` : text);
  if (read.kind === 'not-run') {
    if (/^timed out/.test(read.why))
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
