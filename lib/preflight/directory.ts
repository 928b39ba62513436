import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { Target } from '../config/schema.js';
import { lintBundle } from './bundle-rules.js';
import { at, type Finding } from './finding.js';

// The files EB reads from a bundle's root; anything else in the directory is the app's business.
const ROOT_FILES = ['Procfile', 'Dockerrun.aws.json', 'docker-compose.yml'];
const TREES = ['.ebextensions', '.platform'];

/** `ebship lint [dir]`: reads the bundle files under `dir` and lints them like a deploy would. */
export async function lintDirectory(
  dir: string,
  target?: Target,
): Promise<{ files: string[]; findings: Finding[] }> {
  try {
    await readdir(dir);
  } catch (err) {
    return {
      files: [],
      findings: [
        at({
          ruleId: 'directory-unreadable',
          severity: 'error',
          message: `cannot read ${dir} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
          fix: 'Pass the directory that holds .ebextensions/, .platform/ or the Procfile.',
        }),
      ],
    };
  }
  const paths: string[] = [];
  for (const name of ROOT_FILES) {
    if (await isFile(join(dir, name))) paths.push(name);
  }
  for (const tree of TREES) {
    for (const file of await walk(join(dir, tree))) paths.push(relative(dir, file).split(sep).join('/'));
  }
  paths.sort();
  if (paths.length === 0) {
    return {
      files: [],
      findings: [
        at({
          ruleId: 'no-bundle-files',
          severity: 'warning',
          message: `${dir} has no .ebextensions/, .platform/, Procfile, Dockerrun.aws.json or docker-compose.yml: nothing to check`,
          fix: "Run ebship lint in the directory you bundle for EB (the target's include directory).",
        }),
      ],
    };
  }
  const files: Record<string, string> = {};
  for (const path of paths) files[path] = await readFile(join(dir, path), 'utf8');
  return { files: paths, findings: lintBundle(files, target) };
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function walk(dir: string): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(path)));
    else if (e.isFile()) out.push(path);
  }
  return out;
}
