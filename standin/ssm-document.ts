import { RELEASE_PULL_SECONDS } from '../lib/aws/release-phase.js';
import type { PostDeployCheck, Target } from '../lib/config/schema.js';
import type { SsmDocumentSpec } from './services/ssm.js';

/**
 * The migration-check SSM document of a target as infra/config-vars.cjs generates it: its container
 * and argv are fixed in the script, so it takes no parameters (SendCommand with any is refused:
 * InvalidParameters), and its step's timeoutSeconds is the target's migrationCheck.timeoutSeconds.
 */
export function migrationDocumentSpec(target: Pick<Target, 'migrationCheck'>): SsmDocumentSpec {
  return {
    parameters: {},
    ...(target.migrationCheck
      ? {
          executionTimeoutSeconds: target.migrationCheck.timeoutSeconds,
          run: {
            kind: 'exec' as const,
            argv: target.migrationCheck.command,
            owner: 'migration-check' as const,
          },
        }
      : {}),
  };
}

/**
 * The release-phase document (infra/config-vars.cjs, infra/release-script.cjs): one parameter, the
 * digest, refused by SendCommand unless it matches the allowedPattern; the step's timeout is the
 * release's plus the pull's.
 */
export function releaseDocumentSpec(release: NonNullable<Target['release']>): SsmDocumentSpec {
  return {
    parameters: { imageDigest: { allowedPattern: '^sha256:[a-f0-9]{64}$' } },
    executionTimeoutSeconds: release.timeoutSeconds + RELEASE_PULL_SECONDS,
    run: { kind: 'release', argv: release.command, owner: 'release' },
  };
}

/** A post-deploy check's document: the migration check's script with the check's argv, no parameters. */
export function checkDocumentSpec(check: PostDeployCheck): SsmDocumentSpec {
  return {
    parameters: {},
    executionTimeoutSeconds: check.timeoutSeconds,
    run: { kind: 'exec', argv: check.command, owner: 'check' },
  };
}
