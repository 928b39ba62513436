import type { Context } from 'aws-lambda';
import { rollBack } from '../lib/steps/roll-back.js';
import { parseState } from '../lib/workflow/input.js';
import type { RollbackResult } from '../lib/workflow-state.js';

export const handler = async (event: unknown, context?: Context): Promise<RollbackResult> => {
  const { release } = parseState(event, context, ['release']);
  return rollBack(release);
};
