import type { Context } from 'aws-lambda';
import { validateSecrets } from '../lib/steps/validate-secrets.js';
import { parseState } from '../lib/workflow/input.js';
import type { SecretsResult } from '../lib/workflow-state.js';

export const handler = async (event: unknown, context?: Context): Promise<SecretsResult> => {
  const { release } = parseState(event, context, ['release']);
  return validateSecrets(release);
};
