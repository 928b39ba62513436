import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { EbshipConfig } from '../lib/config/schema.js';
import type { EventPattern } from './event-pattern.js';
import type { EventRule, InputTransformer } from './eventbridge.js';

/**
 * The EventBridge rule that starts a deploy on an ECR push. Read as data from infra/events.yml
 * (resource `EcrPushRule`), with `${self:custom.ebship.repositories}` replaced by the repositories
 * ebship.yml names, so the stand-in matches exactly what serverless deploys.
 */
export const EVENTS_FILE = fileURLToPath(new URL('../infra/events.yml', import.meta.url));
// biome-ignore lint/suspicious/noTemplateCurlyInString: a Serverless variable, read literally from the file.
const REPOSITORIES_VAR = '${self:custom.ebship.repositories}';
// biome-ignore lint/suspicious/noTemplateCurlyInString: a Serverless variable, read literally from the file.
const TAG_FILTERS_VAR = '${self:custom.ebship.imageTagFilters}';
// `!Ref AWS::AccountId`, as the YAML parser reads the unknown tag.
const ACCOUNT_REF = 'AWS::AccountId';
// The same filters serverless.yml gets (infra/config-vars.cjs), so the stand-in matches what deploys.
const { imageTagFilters } = createRequire(import.meta.url)('../infra/config-vars.cjs') as {
  imageTagFilters: (targets: EbshipConfig['targets']) => unknown[];
};

export function repositoriesOf(config: EbshipConfig): string[] {
  return [...new Set(Object.values(config.targets).map((t) => t.source.repository))].sort();
}

/** The same pattern, built in code, for when infra/events.yml is absent. */
export function fallbackEcrPattern(repositories: string[]): EventPattern {
  return {
    source: ['aws.ecr'],
    'detail-type': ['ECR Image Action'],
    detail: { 'action-type': ['PUSH'], result: ['SUCCESS'], 'repository-name': repositories },
  };
}

export function loadEcrRulePattern(
  config: EbshipConfig,
  file = EVENTS_FILE,
  /** The stand-in's account; without one the rule's account filter is left out. */
  account?: string,
): { pattern: EventPattern; source: 'infra/events.yml' | 'built-in' } {
  const repositories = repositoriesOf(config);
  if (!existsSync(file)) return { pattern: fallbackEcrPattern(repositories), source: 'built-in' };
  // CloudFormation tags (!GetAtt, !Ref...) are kept as plain values: only EventPattern is read.
  const doc: unknown = parse(readFileSync(file, 'utf8'), { logLevel: 'silent' });
  const rule = findKey(doc, 'EcrPushRule');
  const pattern = (rule as { Properties?: { EventPattern?: unknown } } | undefined)?.Properties?.EventPattern;
  if (typeof pattern !== 'object' || pattern === null) {
    throw new Error(`${file} has no EcrPushRule with Properties.EventPattern`);
  }
  const vars = new Map<unknown, unknown[]>([
    [REPOSITORIES_VAR, repositories],
    [TAG_FILTERS_VAR, imageTagFilters(config.targets)],
  ]);
  const substituted = substitute(pattern, vars) as EventPattern;
  const accounts = substituted.account;
  if (Array.isArray(accounts) && accounts.includes(ACCOUNT_REF)) {
    if (account === undefined) delete substituted.account;
    else substituted.account = accounts.map((a) => (a === ACCOUNT_REF ? account : a));
  }
  return { pattern: substituted, source: 'infra/events.yml' };
}

function findKey(node: unknown, key: string): unknown {
  if (typeof node !== 'object' || node === null) return undefined;
  const obj = node as Record<string, unknown>;
  if (key in obj) return obj[key];
  for (const v of Object.values(obj)) {
    const found = findKey(v, key);
    if (found !== undefined) return found;
  }
  return undefined;
}

function substitute(node: unknown, vars: Map<unknown, unknown[]>): unknown {
  const value = vars.get(node);
  if (value !== undefined) return value;
  if (Array.isArray(node)) return node.flatMap((v) => vars.get(v) ?? [substitute(v, vars)]);
  if (typeof node === 'object' && node !== null) {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, substitute(v, vars)]));
  }
  return node;
}

/**
 * The rule that tells on-call when a deploy execution ends from outside (timed out, aborted), read
 * from infra/events.yml (resource `ExecutionEndedRule`) with its references (`!Ref
 * DeployStateMachine`, `!Ref AlertTopic`) resolved to the stand-in's ARNs, and its InputTransformer.
 */
export function loadExecutionEndedRule(
  /** Logical ids (and `Id.Attr` for !GetAtt) the rule refers to, with the stand-in's ARNs. */
  refs: Record<string, string>,
  file = EVENTS_FILE,
): EventRule | undefined {
  return loadRule('ExecutionEndedRule', refs, file);
}

/**
 * The rule that sends EB's own EventBridge events ("Health status change", "Elastic Beanstalk
 * resource status change") to ebship's ebEvents function, which wakes the event-driven health watch
 * (issue 13), read from infra/events.yml (resource `EbEventsRule`).
 */
export function loadEbEventsRule(
  /** `EbEventsLambdaFunction.Arn`: the stand-in's ARN of the function. */
  refs: Record<string, string>,
  /** The environments ebship.yml names (`${self:custom.ebship.environmentNames}`). */
  environments: string[],
  file = EVENTS_FILE,
): EventRule | undefined {
  const rule = loadRule('EbEventsRule', refs, file);
  if (!rule) return undefined;
  const names = [...new Set(environments)].sort();
  return {
    ...rule,
    pattern: substitute(rule.pattern, new Map([[ENVIRONMENT_NAMES_VAR, names]])) as EventPattern,
  };
}
// biome-ignore lint/suspicious/noTemplateCurlyInString: a Serverless variable, read literally from the file.
const ENVIRONMENT_NAMES_VAR = '${self:custom.ebship.environmentNames}';

/** A rule of infra/events.yml with its references resolved to the stand-in's ARNs (its first target). */
function loadRule(logicalId: string, refs: Record<string, string>, file: string): EventRule | undefined {
  if (!existsSync(file)) return undefined;
  const doc: unknown = parse(readFileSync(file, 'utf8'), { logLevel: 'silent' });
  const rule = findKey(doc, logicalId) as
    | {
        Properties?: {
          EventPattern?: unknown;
          Targets?: { Arn?: unknown; InputTransformer?: InputTransformer }[];
        };
      }
    | undefined;
  const pattern = rule?.Properties?.EventPattern;
  const target = rule?.Properties?.Targets?.[0];
  if (typeof pattern !== 'object' || pattern === null || !target) return undefined;
  // Unknown YAML tags parse as their argument: `!Ref AlertTopic` reads "AlertTopic".
  const resolve = (node: unknown): unknown => {
    if (typeof node === 'string' && node in refs) return refs[node];
    if (Array.isArray(node)) return node.map(resolve);
    if (typeof node === 'object' && node !== null)
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, resolve(v)]));
    return node;
  };
  return {
    name: logicalId,
    pattern: resolve(pattern) as EventPattern,
    targetArn: String(resolve(target.Arn)),
    ...(target.InputTransformer ? { inputTransformer: target.InputTransformer } : {}),
  };
}
