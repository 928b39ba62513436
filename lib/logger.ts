import { Logger } from '@aws-lambda-powertools/logger';

/**
 * The one logger. Each handler starts an invocation with `beginInvocation` (lib/workflow/input.ts):
 * Powertools' resetKeys() drops the previous warm invocation's keys, then target, versionLabel and
 * executionId are appended for this one.
 */
export const logger = new Logger({ serviceName: 'ebship' });
