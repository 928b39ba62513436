import { type ConfigProblem, loadConfig } from './config/load.js';
import type { EbshipConfig } from './config/schema.js';
import { ConfigInvalid } from './errors.js';

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
 * infra/config-vars.cjs): what `ebship validate` returned, defaults applied. Undefined everywhere
 * else (the CLI, the stand-in, tests), which read and validate ebship.yml.
 */
declare const EBSHIP_PACKAGED_CONFIG: string | undefined;

let cached: { path: string; config: EbshipConfig } | undefined;

/** The config, read once per process (Lambda cold start): the packaged JSON, else EBSHIP_CONFIG's file. */
export function config(): EbshipConfig {
  // An if/else, not an early return: esbuild drops a dead else branch while parsing, before it
  // decides what the bundle uses, so the packaged Lambdas lose loadConfig, the YAML parser and the
  // config schema (lib/config/schema.ts is side-effect free to esbuild: infra/esbuild-plugins.cjs).
  if (typeof EBSHIP_PACKAGED_CONFIG === 'string') {
    if (cached?.path !== 'packaged') {
      cached = { path: 'packaged', config: packagedConfig(EBSHIP_PACKAGED_CONFIG) };
    }
  } else {
    const path = process.env.EBSHIP_CONFIG ?? 'ebship.yml';
    if (cached?.path !== path) cached = { path, config: loadConfig(path) };
  }
  return cached.config;
}

/** Fields the config schema defaults on every target: a packaged config without them was never validated. */
const DEFAULTED = ['source', 'health', 'secrets', 'environmentVariables', 'alerts'] as const;
const DEFAULTED_LISTS = ['containers', 'checks'] as const;

/**
 * The packaged config. It was validated by the same schema at package time (`serverless package`
 * runs `ebship validate`), so the Lambda checks only that it is that output, every default applied:
 * building the full zod schema again costs about 30 ms of every cold start. A bundle packaged
 * otherwise fails here, naming the fix, rather than deploying on a config nobody validated.
 */
export function packagedConfig(json: string): EbshipConfig {
  const source = 'ebship.yml (packaged)';
  const data: unknown = JSON.parse(json);
  const isRecord = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  const problems: ConfigProblem[] = [];
  if (!isRecord(data) || data.version !== 1 || !isRecord(data.targets)) {
    problems.push({ path: '', message: 'is not a validated ebship config' });
  } else {
    for (const [name, t] of Object.entries(data.targets)) {
      const missing = isRecord(t)
        ? [
            ...DEFAULTED.filter((k) => !isRecord(t[k])),
            ...DEFAULTED_LISTS.filter((k) => !Array.isArray(t[k])),
          ]
        : ['(target)'];
      if (missing.length > 0)
        problems.push({
          path: `targets.${name}`,
          message: `has no ${missing.join(', ')} (defaults not applied)`,
        });
    }
  }
  if (problems.length > 0) {
    throw new ConfigInvalid(
      source,
      problems.map((p) => ({
        ...p,
        message: `${p.message}: package with \`serverless package\`, which validates ebship.yml and embeds the result`,
      })),
    );
  }
  const parsed = data as unknown as EbshipConfig;
  // No prototype, as validateConfig returns it: `targets["constructor"]` is undefined, not Object's.
  return { ...parsed, targets: Object.assign(Object.create(null), parsed.targets) };
}
