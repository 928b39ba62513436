import { secretsManager } from '../aws/clients/secrets-manager.js';
import { getTarget } from '../config/load.js';
import { SecretInvalid } from '../errors.js';
import { formatFindings, hasErrors } from '../preflight/format.js';
import { inspectSecrets } from '../preflight/secrets.js';
import { config } from '../runtime.js';
import type { Release, SecretsResult } from '../workflow-state.js';

/**
 * Checks every configured secret before anything is created in EB. Values are read inside
 * inspectSecrets and never leave it: what comes back is ARNs, names and findings.
 */
export async function validateSecrets(release: Release): Promise<SecretsResult> {
  const target = getTarget(config(), release.target);
  const { findings, arns, checked } = await inspectSecrets(secretsManager, target);
  if (hasErrors(findings)) {
    throw new SecretInvalid(
      `secrets of ${release.target} are not usable; nothing was deployed:\n${formatFindings(findings)}`,
    );
  }
  return {
    checked,
    arns,
    warnings: findings.map((f) => `${f.ruleId}: ${f.message}`),
  };
}
