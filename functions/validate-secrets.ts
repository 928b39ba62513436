import type { Context } from 'aws-lambda';
import { validateSecrets } from '../lib/steps/validate-secrets.js';
import { stateWithRelease } from '../lib/workflow/input.js';
import type { SecretsResult } from '../lib/workflow-state.js';

export const handler = async (event: unknown, context?: Context): Promise<SecretsResult> => {
  const { release } = stateWithRelease(event, context);
  return validateSecrets(release);
};
