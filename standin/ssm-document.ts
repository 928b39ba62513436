import type { Target } from '../lib/config/schema.js';
import type { SsmDocumentSpec } from './services/ssm.js';

/**
 * The migration-check SSM document of a target as infra/config-vars.cjs generates it: its container
 * and argv are fixed in the script, so it takes no parameters (SendCommand with any is refused:
 * InvalidParameters), and its step's timeoutSeconds is the target's migrationCheck.timeoutSeconds.
 */
export function migrationDocumentSpec(target: Pick<Target, 'migrationCheck'>): SsmDocumentSpec {
  return {
    parameters: {},
    ...(target.migrationCheck ? { executionTimeoutSeconds: target.migrationCheck.timeoutSeconds } : {}),
  };
}
