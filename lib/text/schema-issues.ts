import * as v from 'valibot';

/**
 * valibot's issues in words, for errors a person reads (an alert, `ebship deploy`'s answer): the
 * field's path and what it should be. Never the value itself: it may be long, span lines, or be a
 * secret someone pasted into the wrong field. valibot's own messages quote it ("but received ...").
 *
 * Passed as a parse's config (`v.safeParse(schema, input, IN_WORDS)`), this words every issue whose
 * schema or check gives no message of its own; one that does (`v.maxLength(63, '...')`) keeps it.
 */
export const IN_WORDS: v.Config<v.BaseIssue<unknown>> = { message: inWords };

function inWords(issue: v.BaseIssue<unknown>): string {
  if (issue.kind === 'schema') {
    // An object's own issue about one of its keys: valibot expects `never` for a key it does not know.
    if (issue.path?.at(-1)?.origin === 'key')
      return issue.expected === 'never' ? 'is not a field ebship knows' : 'is required';
    const expected = `expected ${alternatives(issue.expected ?? '')}`;
    // A string that is not one of the allowed strings: what was allowed says it all.
    return typeof issue.input === 'string' && issue.expected?.includes('"')
      ? expected
      : `${expected}, received ${kindOf(issue.input)}`;
  }
  const n = issue.requirement;
  const unit = Array.isArray(issue.input) ? 'items' : 'characters';
  switch (issue.type) {
    case 'min_length':
      return n === 1 ? 'must not be empty' : `must have at least ${n} ${unit}`;
    case 'max_length':
      return `must have at most ${n} ${unit}`;
    case 'min_value':
      return `must be at least ${n}`;
    case 'integer':
    case 'safe_integer':
      return 'must be a whole number';
    default:
      return `fails its ${issue.type.replaceAll('_', ' ')} check`;
  }
}

/** `("ecs" | "docker")` → `"ecs" or "docker"`; `Object` → `an object`; three or more: `one of ...`. */
function alternatives(expected: string): string {
  const options = expected
    .replace(/^\((.*)\)$/, '$1')
    .split(' | ')
    .map((o) => ARTICLED[o] ?? o);
  return options.length > 2 ? `one of ${options.join(', ')}` : options.join(' or ');
}

const ARTICLED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
  Object: 'an object',
  Array: 'a list',
};

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * `path: what is wrong`, one per field (its first issue), at most `max`: enough to find the culprit.
 * `root` names the input itself when the issue is about the whole of it. A path can hold keys the
 * input made up (an unknown field, a record's key): on one line, and cut at 100 characters.
 */
export function issueLines(issues: readonly v.BaseIssue<unknown>[], root: string, max = 10): string[] {
  const byPath = new Map<string, string>();
  for (const issue of issues) {
    const dotted = (v.getDotPath(issue) ?? '').replace(/\p{Cc}/gu, '?');
    const path = (dotted.length > 100 ? `${dotted.slice(0, 99)}…` : dotted) || root;
    if (!byPath.has(path)) byPath.set(path, `${path}: ${issue.message}`);
  }
  return [...byPath.values()].slice(0, max);
}
