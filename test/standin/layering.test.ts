import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The stand-in and the CLI are separate programs that share lib/ (docs/architecture.md, layout):
 * nothing under standin/ imports cli/. The rehearsal runs the CLI as a child process.
 */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('stand-in layering', () => {
  it('no stand-in module imports the CLI', () => {
    const offenders = sources('standin').filter((file) =>
      /from\s+['"](\.\.\/)+cli\/|import\(\s*['"](\.\.\/)+cli\//.test(readFileSync(file, 'utf8')),
    );
    expect(offenders).toEqual([]);
  });
});
