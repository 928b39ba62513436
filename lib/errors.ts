import type { ConfigProblem } from './config/load.js';

/**
 * Errors named for what went wrong. Their `name` is what the state machine's Retry and Catch match
 * (Lambda reports it as the error type), so renaming one is a change to state-machines/deploy.asl.yml.
 * Messages are read by on-call in the alert: say what is wrong and what to do.
 */
export abstract class EbshipError extends Error {
  abstract override readonly name: string;
}

export class ConfigInvalid extends EbshipError {
  override readonly name = 'ConfigInvalid';
  constructor(
    readonly source: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      `${source} is invalid:\n${problems
        .map((p) => `  - ${p.path || '(file)'}${p.line ? ` (line ${p.line})` : ''}: ${p.message}`)
        .join('\n')}`,
    );
  }
}

/** The execution input is not an ECR push event nor a manual request ebship understands. */
export class InputInvalid extends EbshipError {
  override readonly name = 'InputInvalid';
}

/** The tag or digest does not exist in the target's ECR repository. */
export class ImageNotFound extends EbshipError {
  override readonly name = 'ImageNotFound';
}

/** Another ebship execution holds this environment's lock. Retried by the state machine. */
export class EnvironmentBusy extends EbshipError {
  override readonly name = 'EnvironmentBusy';
}

/** EB refused the update because the environment is not Ready. Retried by the state machine. */
export class EnvironmentNotReady extends EbshipError {
  override readonly name = 'EnvironmentNotReady';
}

/**
 * The deployment certainly did not start: EB answered UpdateEnvironment with an error, or the step
 * failed before calling it. Any other DeployVersion failure (a lost reply, a timeout) leaves it
 * unknown whether EB is updating, so the state machine watches health instead of assuming not.
 */
export class DeployNotStarted extends EbshipError {
  override readonly name = 'DeployNotStarted';
}

export class EnvironmentNotFound extends EbshipError {
  override readonly name = 'EnvironmentNotFound';
}

/** A secret is missing, unreadable, empty, or lacks a required key. Never carries a value. */
export class SecretInvalid extends EbshipError {
  override readonly name = 'SecretInvalid';
}

/** A preflight check of error severity failed; the deploy stops before CreateApplicationVersion. */
export class PreflightFailed extends EbshipError {
  override readonly name = 'PreflightFailed';
}

/** EB could not process the application version (bad bundle or .ebextensions). */
export class VersionProcessingFailed extends EbshipError {
  override readonly name = 'VersionProcessingFailed';
}

/** The migration check exited non-zero: the new version's schema is not applied. */
export class MigrationsPending extends EbshipError {
  override readonly name = 'MigrationsPending';
}

/** The migration check could not run or did not finish (no instance, agent down, timed out). */
export class MigrationCheckFailed extends EbshipError {
  override readonly name = 'MigrationCheckFailed';
}

/** The release phase's command failed or timed out: the deploy stops before the environment changes. */
export class ReleaseFailed extends EbshipError {
  override readonly name = 'ReleaseFailed';
}

/** The release phase could not run (no healthy instance, no app container, not SSM-managed, no image pull). */
export class ReleaseNotRun extends EbshipError {
  override readonly name = 'ReleaseNotRun';
}

/** A post-deploy check with `onFailure: rollback` failed, timed out or could not run: roll back. */
export class CheckFailed extends EbshipError {
  override readonly name = 'CheckFailed';
}

/** A rollback was needed but there is no version known to be good (first deploy). */
export class NoGoodVersion extends EbshipError {
  override readonly name = 'NoGoodVersion';
}

/**
 * This execution no longer holds its environment's lock: it was redriven after being stopped or
 * timing out, or another execution took the lock over. It must not touch the environment.
 */
export class LockLost extends EbshipError {
  override readonly name = 'LockLost';
}

/**
 * UpdateEnvironment got no usable answer (a lost reply, a 5xx, a timeout) and EB's own state does not
 * yet show whether it was applied. Retried by the state machine, which looks again before calling.
 */
export class UpdateOutcomeUnknown extends EbshipError {
  override readonly name = 'UpdateOutcomeUnknown';
}

/**
 * A promotion waiting for manual approval was rejected (`ebship reject`). Sent by the CLI with
 * SendTaskFailure; its Cause is JSON `{ by, reason }`. Ends the execution NOT_APPROVED.
 */
export class ApprovalRejected extends EbshipError {
  override readonly name = 'ApprovalRejected';
}

/**
 * A newer promotion to the same target replaced one that was still waiting for approval (sent by
 * the newer one's requestApproval with SendTaskFailure). Ends the older execution NOT_APPROVED.
 */
export class ApprovalSuperseded extends EbshipError {
  override readonly name = 'ApprovalSuperseded';
}

/**
 * The health watch's wait for an EB event (WaitForHealthEvent) was asked to wait after a look whose
 * verdict ends the watch: nothing to wait for. Its Catch takes the verdict to HealthVerdict, which
 * routes it; the loop of waits and looks has no Choice state of its own (issue 13: fewer billed
 * transitions per look).
 */
export class WatchEnded extends EbshipError {
  override readonly name = 'WatchEnded';
}

/** An alert could not be published to one or more topics (it was still sent to the others). */
export class AlertNotDelivered extends EbshipError {
  override readonly name: string = 'AlertNotDelivered';
}

/**
 * Every topic that did not get the alert failed for a reason that says nothing about the topic
 * (SNS 5xx or throttling, a timeout, a lost connection) once the SDK's own attempts were spent: the
 * state machine publishes again a little later (NotifyOnCall's Retry), instead of ending without
 * telling on-call.
 */
export class AlertDeliveryInterrupted extends AlertNotDelivered {
  override readonly name = 'AlertDeliveryInterrupted';
}
