import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layout table of docs/architecture.md, enforced: which top-level folder may import which.
 * A folder may always import its own files; packages from node_modules are not layers.
 */
const MAY_IMPORT: Record<string, string[]> = {
  lib: [],
  functions: ['lib'],
  standin: ['lib', 'functions'],
  cli: ['lib'],
  bin: ['lib', 'cli'],
  // CloudFormation and the package-time config reader: never runtime code.
  infra: [],
};

/**
 * Known violations, each with the issue that removes it. The lead removes an entry once the fix is
 * merged; the test fails if an entry is no longer needed, so the list cannot go stale.
 */
// Known violations, each with the issue that removes it. None left: the rehearsal runs the CLI as a
// child process (bin/ebship.js), never in process.
const KNOWN: { from: string; to: string; issue: number }[] = [];

const ROOT = normalize(join(dirname(new URL(import.meta.url).pathname), '..'));
const SOURCE = /\.(ts|js|mjs|cjs)$/;

function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return filesUnder(path);
    return SOURCE.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Relative module specifiers in static imports, re-exports, dynamic imports and require calls. */
function specifiers(source: string): string[] {
  const patterns = [
    /\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  return patterns
    .flatMap((p) => [...source.matchAll(p)].map((m) => m[1] ?? ''))
    .filter((s) => s.startsWith('.'));
}

/** Each import that crosses into another top-level folder: `from` and `to` relative to the repository. */
function crossings(): { from: string; to: string; layer: string; target: string }[] {
  return Object.keys(MAY_IMPORT).flatMap((layer) =>
    filesUnder(layer).flatMap((from) =>
      specifiers(readFileSync(join(ROOT, from), 'utf8')).flatMap((spec) => {
        const to = relative(ROOT, join(ROOT, dirname(from), spec)).replace(/\.js$/, '.ts');
        const target = to.split('/')[0] ?? '';
        return target === layer ? [] : [{ from, to, layer, target }];
      }),
    ),
  );
}

describe('layering (docs/architecture.md, "Layout")', () => {
  const all = crossings();

  it('finds the imports it checks', () => {
    // functions/ importing lib/ is the commonest crossing: if none is found, the parser is broken.
    expect(all.some((c) => c.layer === 'functions' && c.target === 'lib')).toBe(true);
    expect(
      specifiers(`import a from './a.js';\nexport { b } from '../b.js';\nconst c = await import('../c.js');`),
    ).toEqual(['./a.js', '../b.js', '../c.js']);
  });

  it.each(Object.entries(MAY_IMPORT))('%s imports only %j', (layer, allowed) => {
    const violations = all
      .filter((c) => c.layer === layer && !allowed.includes(c.target))
      .filter((c) => !KNOWN.some((k) => k.from === c.from && k.to === c.to))
      .map((c) => `${c.from} → ${c.to}`);
    expect(violations).toEqual([]);
  });

  it('lists only known violations that still exist', () => {
    for (const k of KNOWN)
      expect(
        all.some((c) => c.from === k.from && c.to === k.to),
        `${k.from} → ${k.to} is gone: remove it from KNOWN (issue ${k.issue})`,
      ).toBe(true);
  });

  it('runtime code never imports infra/', () => {
    expect(all.filter((c) => c.target === 'infra').map((c) => `${c.from} → ${c.to}`)).toEqual([]);
  });
});
