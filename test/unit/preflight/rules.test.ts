import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FAMILIES, RULES } from '../../../lib/preflight/rules.js';
import { bundleCases } from '../../fixtures/preflight/bundle-cases.js';

const DIR = 'lib/preflight';

/** Every `ruleId: ..., severity: ...` the checks write, read from their source. */
function uses(): { id: string; severity?: string; file: string }[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.ts') && f !== 'rules.ts')
    .flatMap((file) => {
      const text = readFileSync(`${DIR}/${file}`, 'utf8');
      return [...text.matchAll(/ruleId:\s*([^,\n]+),\s*severity:\s*([^,\n]+),/g)].flatMap((m) => {
        const ids = [...(m[1] ?? '').matchAll(/'([a-z0-9-]+)'/g)].map((i) => i[1] ?? '');
        const severity = /^'(error|warning)'$/.exec(m[2]?.trim() ?? '')?.[1];
        // A conditional id (`a ? 'x' : 'y'`) comes with a conditional severity: only the ids are checked.
        return ids.map((id) => ({ id, file, ...(ids.length === 1 && severity ? { severity } : {}) }));
      });
    });
}

describe('the preflight rule registry', () => {
  const found = uses();

  it('reads the rules from the checks', () => {
    expect(found.length).toBeGreaterThan(50);
  });

  it('lists every rule a check reports, with the severity it reports', () => {
    for (const use of found) {
      const rule = RULES.find((r) => r.id === use.id);
      expect(rule, `${use.id} (${use.file}) is not in lib/preflight/rules.ts`).toBeDefined();
      if (use.severity && use.severity !== rule?.severity)
        expect(rule?.warningWhen, `${use.id} is also reported as ${use.severity}: say when`).toBeDefined();
    }
  });

  it('lists no rule that no check reports, and each once', () => {
    const ids = RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.filter((id) => !found.some((u) => u.id === id))).toEqual([]);
  });

  it('gives every rule a family, a summary and a fix', () => {
    for (const r of RULES) {
      expect(Object.keys(FAMILIES)).toContain(r.family);
      expect(r.summary.length, r.id).toBeGreaterThan(10);
      expect(r.fix.length, r.id).toBeGreaterThan(10);
    }
  });

  it('knows every rule the bundle fixtures trigger', () => {
    const triggered = bundleCases.map((c) => c.ruleId);
    expect(triggered.filter((id) => !RULES.some((r) => r.id === id))).toEqual([]);
  });
});
