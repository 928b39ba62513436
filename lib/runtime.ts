import { loadConfig } from './config/load.js';
import type { EbshipConfig } from './config/schema.js';

/** Names the functions need, read from the environment serverless.yml sets; all missing ones reported at once. */
export interface RuntimeEnv {
  region: string;
  tableName: string;
  bundleBucket: string;
  alertTopicArn: string;
  migrationDocumentName: string;
}

const REQUIRED = {
  region: 'AWS_REGION',
  tableName: 'TABLE_NAME',
  bundleBucket: 'BUNDLE_BUCKET',
  alertTopicArn: 'ALERT_TOPIC_ARN',
  migrationDocumentName: 'MIGRATION_DOCUMENT_NAME',
} as const satisfies Record<keyof RuntimeEnv, string>;

export function runtimeEnv(): RuntimeEnv {
  const missing = Object.values(REQUIRED).filter((name) => !process.env[name]);
  if (missing.length > 0) {
    throw new Error(
      `missing environment variables ${missing.join(', ')}: deploy with serverless.yml, which sets them`,
    );
  }
  const read = (name: string): string => process.env[name] ?? '';
  return {
    region: read(REQUIRED.region),
    tableName: read(REQUIRED.tableName),
    bundleBucket: read(REQUIRED.bundleBucket),
    alertTopicArn: read(REQUIRED.alertTopicArn),
    migrationDocumentName: read(REQUIRED.migrationDocumentName),
  };
}

let cached: { path: string; config: EbshipConfig } | undefined;

/** The config, read once per process (Lambda cold start) from EBSHIP_CONFIG. */
export function config(): EbshipConfig {
  const path = process.env.EBSHIP_CONFIG ?? 'ebship.yml';
  if (cached?.path !== path) cached = { path, config: loadConfig(path) };
  return cached.config;
}
