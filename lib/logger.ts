import { Logger } from '@aws-lambda-powertools/logger';

/** The one logger. Handlers append target, versionLabel and executionId as persistent keys. */
export const logger = new Logger({ serviceName: 'ebship' });
