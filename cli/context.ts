import { isAbsolute, resolve } from 'node:path';
import { getTarget, loadConfig } from '../lib/config/load.js';
import type { EbshipConfig, Target } from '../lib/config/schema.js';
import { type AwsClients, type ClientOptions, createClients } from './aws/clients.js';
import { knownProfiles, REGION } from './aws/profiles.js';
import { usage } from './errors.js';
import { Printer, type TextSink, wantsColor } from './output.js';

/** What `run` is given: the process's streams and environment in production, buffers in tests. */
export interface Io {
  stdout: TextSink;
  stderr: TextSink;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Aborted on Ctrl-C: a follow detaches (the execution keeps running). */
  signal?: AbortSignal;
  /** Waits between polls; tests pass one that returns at once. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Builds the AWS clients (default: `createClients`). */
  clients?: (options: ClientOptions) => AwsClients;
}

export interface GlobalOptions {
  stage: string;
  region?: string;
  profile?: string;
  config?: string;
  json?: boolean;
}

/** Resource names of one deployed stage (serverless.yml / infra). */
export interface StageNames {
  stage: string;
  stateMachine: string;
  table: string;
  alertTopic: string;
}

const STAGE = /^[A-Za-z0-9-]{1,40}$/;

export class Context {
  readonly out: Printer;
  readonly err: Printer;
  readonly json: boolean;
  readonly names: StageNames;
  private cachedConfig?: EbshipConfig;
  private cachedClients?: AwsClients;

  constructor(
    readonly io: Io,
    readonly options: GlobalOptions,
  ) {
    this.json = options.json === true;
    this.out = new Printer(io.stdout, !this.json && wantsColor(io.stdout, io.env));
    this.err = new Printer(io.stderr, wantsColor(io.stderr, io.env));
    if (!STAGE.test(options.stage)) {
      throw usage(
        'bad-stage',
        `stage "${options.stage}" is not a valid stage name (letters, digits and hyphens, up to 40)`,
      );
    }
    const stage = options.stage;
    this.names = {
      stage,
      stateMachine: `ebship-${stage}-deploy`,
      table: `ebship-${stage}`,
      alertTopic: `ebship-${stage}-alerts`,
    };
  }

  /** --config, else EBSHIP_CONFIG, else ./ebship.yml; relative to the working directory. */
  get configPath(): string {
    const path = this.options.config ?? this.io.env.EBSHIP_CONFIG ?? 'ebship.yml';
    return isAbsolute(path) ? path : resolve(this.io.cwd, path);
  }

  config(): EbshipConfig {
    this.cachedConfig ??= loadConfig(this.configPath);
    return this.cachedConfig;
  }

  target(name: string): Target {
    const config = this.config();
    if (!config.targets[name]) {
      const known = Object.keys(config.targets).sort();
      throw usage(
        'unknown-target',
        `unknown target "${name}"; known targets: ${known.join(', ') || '(none)'}`,
        `Targets are defined in ${this.configPath}.`,
      );
    }
    return getTarget(config, name);
  }

  aws(): AwsClients {
    if (!this.cachedClients) {
      const region = this.options.region ?? this.io.env.AWS_REGION ?? this.io.env.AWS_DEFAULT_REGION;
      const profile = this.options.profile ?? this.io.env.AWS_PROFILE;
      if (region && !REGION.test(region)) {
        throw usage(
          'bad-region',
          `region "${region}" is not an AWS region name (like us-east-1 or eu-west-2)`,
          'Pass --region with the region ebship is deployed in, or fix AWS_REGION / AWS_DEFAULT_REGION.',
        );
      }
      if (profile) {
        const { profiles, files } = knownProfiles(this.io.env);
        if (!profiles.includes(profile)) {
          throw usage(
            'unknown-profile',
            `AWS profile "${profile}" is not defined in ${files.join(' or ')}; known profiles: ${profiles.join(', ') || '(none)'}`,
            `Create it with \`aws configure --profile ${profile}\` (or \`aws configure sso --profile ${profile}\`), or pass --profile with one of the known profiles.`,
          );
        }
      }
      const make = this.io.clients ?? createClients;
      this.cachedClients = make({ region: region || undefined, profile: profile || undefined });
    }
    return this.cachedClients;
  }

  async region(): Promise<string> {
    try {
      return await this.aws().region();
    } catch {
      throw usage(
        'no-region',
        'no AWS region configured',
        'Pass --region, set AWS_REGION, or set a region in your AWS profile.',
      );
    }
  }

  /** The stage flag to repeat in suggested commands ("" for the default stage). */
  get stageFlag(): string {
    return this.names.stage === 'dev' ? '' : ` --stage ${this.names.stage}`;
  }

  sleep(ms: number): Promise<void> {
    if (this.io.sleep) return this.io.sleep(ms, this.io.signal);
    return abortableSleep(ms, this.io.signal);
  }
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolveSleep) => {
    if (signal?.aborted) return resolveSleep();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolveSleep();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
