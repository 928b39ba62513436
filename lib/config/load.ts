import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { isMap, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigInvalid } from '../errors.js';
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
  const parsed = configSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    throw new ConfigInvalid(
      source,
      parsed.error.issues.map((issue) => toProblem(issue, lineOf)),
    );
  }
  const problems = Object.entries(parsed.data.targets).flatMap(([name, t]) =>
    crossFieldProblems(t).map((p) => ({
      ...p,
      path: `targets.${name}.${p.path}`,
      line: lineOf(['targets', name, ...p.path.split('.')]),
    })),
  );
  if (problems.length > 0) throw new ConfigInvalid(source, problems);
  return parsed.data;
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
  const t = config.targets[name];
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
  if (typeof t.source.tags === 'object') {
    try {
      new RegExp(t.source.tags.regex);
    } catch (err) {
      problems.push({
        path: 'source.tags.regex',
        message: `not a valid regular expression: ${(err as Error).message}`,
      });
    }
  }
  if (t.health.bakeSeconds + t.health.graceSeconds >= t.health.timeoutSeconds) {
    problems.push({
      path: 'health.timeoutSeconds',
      message: 'must be longer than bakeSeconds + graceSeconds, or no deploy can ever succeed',
    });
  }
  return problems;
}

function toProblem(
  issue: z.core.$ZodIssue,
  lineOf: (p: (string | number)[]) => number | undefined,
): ConfigProblem {
  const path = issue.path.map(String);
  let message = issue.message;
  if (issue.code === 'unrecognized_keys')
    message = `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}; check the spelling against the config reference in README.md`;
  if (issue.code === 'invalid_type' && issue.input === undefined) message = `is required (${issue.expected})`;
  return {
    path: path.join('.'),
    message,
    line: lineOf(issue.path.filter((p): p is string | number => typeof p !== 'symbol')),
  };
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
