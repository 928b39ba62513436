/**
 * The `ebship` exit codes. Scripts and CI branch on them, so each outcome has its own number and
 * the numbers never change meaning. `ebship --help` prints EXIT_CODE_HELP.
 */
export const ExitCode = {
  /** Deployed, or nothing to do (the execution ignored or skipped the image; a note says why). */
  Ok: 0,
  /** `ebship lint` / `ebship plan` found error findings, or an AWS call failed unexpectedly. */
  Findings: 1,
  /** Bad input or setup: usage, unknown target, malformed digest, missing image, no credentials, not deployed. */
  Usage: 2,
  /** The new version failed its checks and ebship rolled back to the last good version. */
  RolledBack: 3,
  /** The deployment failed before Elastic Beanstalk was changed. */
  FailedBeforeDeploy: 4,
  /** The rollback did not become healthy: the environment needs a person now. */
  RollbackFailed: 5,
  /** The execution was aborted, timed out, or failed in a way ebship does not name. */
  ExecutionFailed: 6,
  /** Another execution is deploying this environment. */
  Busy: 7,
  /** Ctrl-C while following: detached; the execution keeps running. */
  Detached: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export const EXIT_CODE_HELP = `Exit codes:
  0    deployed (or the execution ignored/skipped the image; a note says why)
  1    lint/plan/doctor found errors, or an AWS call failed unexpectedly
  2    bad input or setup (usage, unknown target, malformed digest, image not in ECR,
       no AWS credentials, state machine not deployed for the stage)
  3    rolled back: the new version failed its checks, the last good version runs again
  4    failed before deploy: the environment was not changed
  5    rollback failed: manual action needed
  6    execution aborted, timed out, or failed for another reason
  7    environment busy: another execution is deploying it
  130  detached with Ctrl-C (the execution keeps running)`;
