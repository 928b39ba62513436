/**
 * EventBridge event pattern matching: exact values, `prefix` and `suffix` (optionally ignoring case),
 * `wildcard`, `anything-but` (values, or a prefix / suffix / wildcard / equals-ignore-case), `numeric`,
 * `exists` and `equals-ignore-case`.
 * Semantics from the EventBridge user guide ("Event patterns", "Content filtering"): every field of
 * the pattern must match; a list of values matches if any matches; an array in the event matches
 * if any of its elements matches; `exists: false` matches an absent field.
 */

export type EventPattern = { [field: string]: EventPattern | Matcher[] };
type Scalar = string | number | boolean | null;
type Matcher = Scalar | { [op: string]: unknown };

export function matchesPattern(event: unknown, pattern: EventPattern): boolean {
  if (!isObject(event)) return false;
  return Object.entries(pattern).every(([field, rule]) => {
    const present = Object.hasOwn(event, field);
    const value = event[field];
    if (Array.isArray(rule)) return matchesField(present, value, rule);
    if (isObject(rule)) return present && isObject(value) && matchesPattern(value, rule as EventPattern);
    throw new Error(`event pattern field "${field}" must be a list of values or a nested pattern`);
  });
}

function matchesField(present: boolean, value: unknown, matchers: Matcher[]): boolean {
  for (const m of matchers) {
    if (isObject(m) && 'exists' in m) {
      if (m.exists === present) return true;
      continue;
    }
    if (!present) continue;
    const values = Array.isArray(value) ? value : [value];
    if (values.some((v) => matchOne(v, m))) return true;
  }
  return false;
}

function matchOne(value: unknown, m: Matcher): boolean {
  if (!isObject(m)) return value === m;
  const [op, arg] = Object.entries(m)[0] ?? [];
  switch (op) {
    case 'prefix':
      // { "prefix": "v" } or { "prefix": { "equals-ignore-case": "V" } }
      if (isObject(arg) && typeof arg['equals-ignore-case'] === 'string')
        return (
          typeof value === 'string' && value.toLowerCase().startsWith(arg['equals-ignore-case'].toLowerCase())
        );
      return typeof value === 'string' && typeof arg === 'string' && value.startsWith(arg);
    case 'suffix':
      if (isObject(arg) && typeof arg['equals-ignore-case'] === 'string')
        return (
          typeof value === 'string' && value.toLowerCase().endsWith(arg['equals-ignore-case'].toLowerCase())
        );
      return typeof value === 'string' && typeof arg === 'string' && value.endsWith(arg);
    case 'equals-ignore-case':
      return (
        typeof value === 'string' && typeof arg === 'string' && value.toLowerCase() === arg.toLowerCase()
      );
    case 'wildcard':
      return typeof value === 'string' && typeof arg === 'string' && wildcard(arg).test(value);
    case 'numeric':
      return typeof value === 'number' && Array.isArray(arg) && numeric(value, arg);
    case 'anything-but': {
      // A value or a list of values, or one operator: prefix, suffix, wildcard, equals-ignore-case
      // (each with one value or a list of them).
      if (isObject(arg)) {
        const [inner, innerArg] = Object.entries(arg)[0] ?? [];
        const list = Array.isArray(innerArg) ? innerArg : [innerArg];
        return !list.some((v) => matchOne(value, { [String(inner)]: v }));
      }
      const excluded = Array.isArray(arg) ? arg : [arg];
      return !excluded.includes(value);
    }
    default:
      throw new Error(`unsupported event pattern operator "${op}"`);
  }
}

/**
 * EventBridge's wildcard: `*` matches any run of characters (none included); `\*` is a literal star
 * and `\\` a backslash.
 */
function wildcard(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\' && (pattern[i + 1] === '*' || pattern[i + 1] === '\\')) {
      out += `\\${pattern[i + 1]}`;
      i++;
    } else if (c === '*') out += '.*';
    else out += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`, 's');
}

/** `numeric`: pairs of comparison and number, all of which must hold. */
function numeric(value: number, conditions: unknown[]): boolean {
  for (let i = 0; i + 1 < conditions.length; i += 2) {
    const [cmp, n] = [conditions[i], Number(conditions[i + 1])];
    const ok =
      cmp === '='
        ? value === n
        : cmp === '<'
          ? value < n
          : cmp === '<='
            ? value <= n
            : cmp === '>'
              ? value > n
              : cmp === '>='
                ? value >= n
                : false;
    if (!ok) return false;
  }
  return true;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
