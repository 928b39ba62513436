import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { isMap, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigInvalid } from '../errors.js';
import { deployBudgetProblem } from './limits.js';
import { configSchema, type EbshipConfig, PUSHED_IMAGE, type Target } from './schema.js';

export interface ConfigProblem {
  /** Dotted path of the field, e.g. `targets.antenna-prod.health.bakeSeconds`. */
  path: string;
  message: string;
  line?: number;
}

/** Parses and validates the text of an ebship.yml; throws ConfigInvalid listing every problem at once. */
export function parseConfig(text: string, source = 'ebship.yml'): EbshipConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigInvalid(
      source,
      doc.errors.map((e) => ({
        path: '',
        message: e.message.split('\n')[0] ?? e.message,
        line: e.linePos?.[0]?.line,
      })),
    );
  }
  const lineOf = (path: (string | number)[]): number | undefined => {
    const node = findNode(doc.contents, path);
    return node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
  };
  return validateConfig(doc.toJS(), source, lineOf);
}

/**
 * Validates a parsed config (from YAML, or the JSON that packaging embeds in each Lambda); throws
 * ConfigInvalid listing every problem at once, with lines when `lineOf` can find them.
 */
export function validateConfig(
  data: unknown,
  source = 'ebship.yml',
  lineOf: (path: (string | number)[]) => number | undefined = () => undefined,
): EbshipConfig {
  // reportInput: a type error can then say what was written ("memory: lots" is not "required").
  const parsed = configSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) {
    throw new ConfigInvalid(
      source,
      parsed.error.issues.map((issue) => toProblem(issue, lineOf)),
    );
  }
  // No prototype: `targets[name]` for "constructor" or "toString" is undefined, not Object's method.
  const targets: Record<string, Target> = Object.assign(Object.create(null), parsed.data.targets);
  const config: EbshipConfig = { ...parsed.data, targets };
  const located = (name: string, p: ConfigProblem): ConfigProblem => ({
    ...p,
    path: `targets.${name}.${p.path}`,
    line: lineOf(['targets', name, ...p.path.split('.').map((k) => (/^\d+$/.test(k) ? Number(k) : k))]),
  });
  const problems = [
    ...Object.entries(targets).flatMap(([name, t]) => crossFieldProblems(t).map((p) => located(name, p))),
    ...sharedEnvironmentProblems(targets).map(({ name, problem }) => located(name, problem)),
    ...promotionProblems(targets).map(({ name, problem }) => located(name, problem)),
  ];
  if (problems.length > 0) throw new ConfigInvalid(source, problems);
  return config;
}

/**
 * Two targets on one EB environment would deploy over each other, and their pushes (from
 * different repositories) cannot be ordered: one environment, one target.
 */
function sharedEnvironmentProblems(
  targets: Record<string, Target>,
): { name: string; problem: ConfigProblem }[] {
  const owner = new Map<string, string>();
  const out: { name: string; problem: ConfigProblem }[] = [];
  for (const [name, t] of Object.entries(targets)) {
    const key = `${t.application}/${t.environment}`;
    const first = owner.get(key);
    if (first === undefined) {
      owner.set(key, name);
      continue;
    }
    out.push({
      name,
      problem: {
        path: 'environment',
        message: `targets "${first}" and "${name}" both deploy to environment ${t.environment} of application ${t.application}; one environment can have only one target, so remove or re-point one of them`,
      },
    });
  }
  return out;
}

/**
 * `promote.from` names another target, and following `from` never comes back: a cycle would have
 * each target wait for a digest to succeed on the next, so nothing could ever deploy.
 */
function promotionProblems(targets: Record<string, Target>): { name: string; problem: ConfigProblem }[] {
  const out: { name: string; problem: ConfigProblem }[] = [];
  const known = Object.keys(targets).sort().join(', ');
  for (const [name, t] of Object.entries(targets)) {
    const from = t.promote?.from;
    if (from === undefined) continue;
    const problem = (message: string) => out.push({ name, problem: { path: 'promote.from', message } });
    if (from === name) {
      problem(`a target cannot promote from itself; name the target whose successful deploys feed "${name}"`);
    } else if (!Object.hasOwn(targets, from)) {
      problem(`"${from}" is not a target; known targets: ${known}`);
    } else {
      const chain = [name];
      for (let at: string | undefined = from; at !== undefined; at = targets[at]?.promote?.from) {
        chain.push(at);
        if (at === name) {
          problem(
            `promotion cycle ${chain.join(' ← ')}: each target would wait for a digest to succeed on the next, so none could ever deploy; remove promote from one of them`,
          );
          break;
        }
        if (chain.indexOf(at) !== chain.length - 1) break; // a cycle that does not pass through this target is reported on its own members
      }
    }
  }
  return out;
}

/** Targets that promote from `from`, in name order: the ones a success on `from` starts. */
export function promotedFrom(config: EbshipConfig, from: string): string[] {
  return Object.entries(config.targets)
    .filter(([, t]) => t.promote?.from === from)
    .map(([name]) => name)
    .sort();
}

/** Reads ebship.yml from `EBSHIP_CONFIG` or the given path (default: ./ebship.yml). */
export function loadConfig(path = process.env.EBSHIP_CONFIG ?? 'ebship.yml'): EbshipConfig {
  const file = isAbsolute(path) ? path : resolve(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigInvalid(path, [
      {
        path: '',
        message: `cannot read the config file (${(err as NodeJS.ErrnoException).code ?? 'error'}); create it or set EBSHIP_CONFIG to its path`,
      },
    ]);
  }
  return parseConfig(text, path);
}

/** Looks a target up by name, with an error that lists the known ones. */
export function getTarget(config: EbshipConfig, name: string): Target {
  const t = Object.hasOwn(config.targets, name) ? config.targets[name] : undefined;
  if (!t) {
    const known = Object.keys(config.targets).sort().join(', ');
    throw new ConfigInvalid('ebship.yml', [
      { path: `targets.${name}`, message: `unknown target "${name}"; known targets: ${known}` },
    ]);
  }
  return t;
}

function crossFieldProblems(t: Target): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const names = new Set(t.containers.map((c) => c.name));
  if (names.size !== t.containers.length)
    problems.push({ path: 'containers', message: 'container names must be unique' });
  t.containers.forEach((c, i) => {
    // Only the exact `{{image}}` is replaced; anything else in braces would reach Dockerrun as written.
    const other = c.image.replaceAll(PUSHED_IMAGE, '').match(/\{\{[^}]*\}\}/);
    if (other) {
      problems.push({
        path: `containers.${i}.image`,
        message: `"${other[0]}" is not a placeholder ebship knows; write "${PUSHED_IMAGE}" exactly (no spaces) for the pushed image`,
      });
    }
  });
  if (!t.containers.some((c) => c.image.includes(PUSHED_IMAGE))) {
    problems.push({
      path: 'containers',
      message: `no container uses the pushed image; set image: "${PUSHED_IMAGE}" on the web container`,
    });
  }
  t.containers.forEach((c, i) => {
    for (const ref of [...c.links.map((l) => l.split(':')[0] ?? l), ...c.dependsOn]) {
      if (!names.has(ref))
        problems.push({
          path: `containers.${i}`,
          message: `container "${c.name}" refers to "${ref}", which is not a container of this target`,
        });
    }
    if (t.platform === 'ecs' && c.memory === undefined && c.memoryReservation === undefined) {
      problems.push({
        path: `containers.${i}`,
        message: `container "${c.name}" needs memory or memoryReservation (MiB): Dockerrun v2 refuses containers without one`,
      });
    }
  });
  if (t.migrationCheck && !names.has(t.migrationCheck.container)) {
    problems.push({
      path: 'migrationCheck.container',
      message: `"${t.migrationCheck.container}" is not a container of this target; use one of ${[...names].join(', ')}`,
    });
  }
  problems.push(...releaseAndCheckProblems(t, names));
  if (typeof t.source.tags === 'object') {
    const problem = tagRegexProblem(t.source.tags.regex);
    if (problem) problems.push({ path: 'source.tags.regex', message: problem });
  }
  if (t.health.bakeSeconds + t.health.graceSeconds >= t.health.timeoutSeconds) {
    problems.push({
      path: 'health.timeoutSeconds',
      message: 'must be longer than bakeSeconds + graceSeconds, or no deploy can ever succeed',
    });
  }
  if (t.health.abortAfterSeconds >= t.health.timeoutSeconds) {
    problems.push({
      path: 'health.abortAfterSeconds',
      message: `must be shorter than timeoutSeconds (${t.health.timeoutSeconds}), or the timeout always comes first; 0 turns the early abort off`,
    });
  }
  const budget = deployBudgetProblem(t);
  if (budget) problems.push({ path: 'health.timeoutSeconds', message: budget });
  return problems;
}

/** The release phase and the checks name containers of this target, and the checks have distinct names. */
function releaseAndCheckProblems(t: Target, names: Set<string>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const known = [...names].join(', ');
  if (t.release) {
    const c = t.containers.find((x) => x.name === t.release?.container);
    if (!c) {
      problems.push({
        path: 'release.container',
        message: `"${t.release.container}" is not a container of this target; use one of ${known} (its running copy lends the release its environment and secrets)`,
      });
    } else if (!c.image.includes(PUSHED_IMAGE)) {
      problems.push({
        path: 'release.container',
        message: `container "${c.name}" does not run the pushed image ("${PUSHED_IMAGE}"); the release phase runs the new image with the environment of an app container, so name the container that runs it`,
      });
    }
  }
  const seen = new Set<string>();
  t.checks.forEach((check, i) => {
    if (seen.has(check.name))
      problems.push({
        path: `checks.${i}.name`,
        message: `another check is already named "${check.name}"; check names must be unique within a target (alerts and history name the check)`,
      });
    seen.add(check.name);
    if (!names.has(check.container))
      problems.push({
        path: `checks.${i}.container`,
        message: `"${check.container}" is not a container of this target; use one of ${known}`,
      });
  });
  return problems;
}

/**
 * A tag regex must be valid and must not backtrack catastrophically: ResolveRelease runs it on every
 * push, and `^(v+)+$` on a long tag runs past the Lambda's timeout. Refused: an unbounded quantifier
 * (`*`, `+`, `{n,}`) on a group that itself holds a quantifier or an alternation, and backreferences.
 */
export function tagRegexProblem(source: string): string | undefined {
  try {
    new RegExp(source);
  } catch (err) {
    return `not a valid regular expression: ${(err as Error).message}`;
  }
  if (/\\[1-9]|\\k</.test(source)) {
    return 'backreferences are not allowed in tag regexes (they can take exponential time); match the tag without them';
  }
  // Walk the pattern: for each group, note whether it holds a quantifier or "|", then look at what follows it.
  const stack: { risky: boolean }[] = [];
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(') stack.push({ risky: false });
    else if (c === '|' || c === '*' || c === '+' || (c === '{' && /^\{\d+,?\d*\}/.test(source.slice(i)))) {
      const top = stack[stack.length - 1];
      if (top) top.risky = true;
    } else if (c === ')') {
      const group = stack.pop();
      const rest = source.slice(i + 1);
      const unbounded = /^(?:[*+]|\{\d+,\})/.test(rest);
      if (group?.risky && unbounded) {
        return 'a repeated group holds a quantifier or "|" (like "^(v+)+$"), which can backtrack for minutes on one tag; repeat single characters or classes instead (e.g. "^v+$")';
      }
      // A group inside a risky group makes the outer one risky too.
      const outer = stack[stack.length - 1];
      if (outer && (group?.risky || unbounded)) outer.risky = true;
    }
  }
  return undefined;
}

function toProblem(
  issue: z.core.$ZodIssue,
  lineOf: (p: (string | number)[]) => number | undefined,
): ConfigProblem {
  const path = issue.path.map(String);
  let message = issue.message;
  if (issue.code === 'unrecognized_keys')
    message = `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}; check the spelling against the config reference in README.md`;
  // A bad record key (a target or variable name): zod nests the rule that failed.
  if (issue.code === 'invalid_key') message = issue.issues[0]?.message ?? message;
  if (issue.code === 'invalid_type') {
    message =
      issue.input === undefined
        ? `is required (${issue.expected})`
        : `must be ${article(issue.expected)}, not ${describeInput(issue.input)}`;
  }
  return {
    path: path.join('.'),
    message,
    line: lineOf(issue.path.filter((p): p is string | number => typeof p !== 'symbol')),
  };
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** What was written, briefly: `"lots" (a string)`. */
function describeInput(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  if (typeof input === 'string')
    return `"${input.length > 40 ? `${input.slice(0, 40)}…` : input}" (a string)`;
  return `${String(input)} (${article(typeof input)})`;
}

function findNode(node: unknown, path: (string | number)[]): Node | undefined {
  let current: unknown = node;
  let found: Node | undefined = node as Node | undefined;
  for (const key of path) {
    if (isMap(current)) {
      const pair = current.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
      if (!pair) return found;
      found = (pair.value as Node | null) ?? (pair.key as Node);
      current = pair.value;
    } else if (isSeq(current) && typeof key === 'number') {
      const item = current.items[key];
      if (!item) return found;
      found = item as Node;
      current = item;
    } else {
      return found;
    }
  }
  return found;
}
