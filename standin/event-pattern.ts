/**
 * EventBridge event pattern matching, for the patterns ebship's rule uses: exact values, `prefix`,
 * `suffix`, `wildcard`, `anything-but` (values or a prefix), `exists` and `equals-ignore-case`.
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
      return typeof value === 'string' && typeof arg === 'string' && value.startsWith(arg);
    // `*` matches any run of characters, anything else itself (EventBridge "wildcard" filter).
    case 'wildcard':
      return (
        typeof value === 'string' &&
        typeof arg === 'string' &&
        new RegExp(
          `^${arg
            .split('*')
            .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
            .join('.*')}$`,
          's',
        ).test(value)
      );
    case 'suffix':
      return typeof value === 'string' && typeof arg === 'string' && value.endsWith(arg);
    case 'equals-ignore-case':
      return (
        typeof value === 'string' && typeof arg === 'string' && value.toLowerCase() === arg.toLowerCase()
      );
    case 'anything-but': {
      if (isObject(arg)) return !matchOne(value, arg as Matcher);
      const excluded = Array.isArray(arg) ? arg : [arg];
      return !excluded.includes(value);
    }
    default:
      throw new Error(`unsupported event pattern operator "${op}"`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
