import { loadConfig, validateConfig } from './config/load.js';
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

/**
 * The config as JSON, embedded in each Lambda's bundle at package time (esbuild `define`, from
 * infra/config-vars.cjs): the Lambdas then validate it without the YAML parser, which stays out of
 * every bundle but BuildBundle's. Undefined everywhere else (the CLI, the stand-in, tests).
 */
declare const EBSHIP_PACKAGED_CONFIG: string | undefined;

let cached: { path: string; config: EbshipConfig } | undefined;

/** The config, read once per process (Lambda cold start): the packaged JSON, else EBSHIP_CONFIG's file. */
export function config(): EbshipConfig {
  // An if/else, not an early return: esbuild drops a dead else branch while parsing, before it
  // decides what the bundle uses, so the packaged Lambdas lose loadConfig and the YAML parser.
  if (typeof EBSHIP_PACKAGED_CONFIG === 'string') {
    if (cached?.path !== 'packaged') {
      cached = {
        path: 'packaged',
        config: validateConfig(JSON.parse(EBSHIP_PACKAGED_CONFIG), 'ebship.yml (packaged)'),
      };
    }
  } else {
    const path = process.env.EBSHIP_CONFIG ?? 'ebship.yml';
    if (cached?.path !== path) cached = { path, config: loadConfig(path) };
  }
  return cached.config;
}
