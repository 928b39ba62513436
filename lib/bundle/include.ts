import { type Dirent, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { BundleInvalid } from './errors.js';
import { assertBundlePath, comparePaths, isIncludablePath } from './paths.js';

/** Largest user file ebship adds. Config files and hooks are small; anything bigger is a mistake. */
export const MAX_INCLUDE_FILE_BYTES = 1024 * 1024;

/**
 * Reads the user's `.ebextensions/**`, `.platform/**` and `Procfile` from a target's include
 * directory (bundle path → text). Other files in the directory are not part of the bundle and are
 * not read. Refuses anything that resolves outside the directory (a symlink to /etc, say), files
 * over 1 MiB and files that are not UTF-8 text.
 */
export function readIncludeDir(dir: string): Record<string, string> {
  let root: string;
  try {
    root = realpathSync(dir);
    if (!statSync(root).isDirectory())
      throw new BundleInvalid(`include directory "${dir}" is not a directory`);
  } catch (err) {
    if (err instanceof BundleInvalid) throw err;
    throw new BundleInvalid(
      `cannot read include directory "${dir}" (${(err as NodeJS.ErrnoException).code ?? 'error'}); check the target's include path, relative to ebship.yml`,
    );
  }

  const files: Record<string, string> = {};
  // `ancestors`: the real directories above this one. A symlink to one of them is a loop; a symlink to
  // a sibling (`.platform/confighooks` → `hooks`, a common pattern) is fine and read twice.
  const visit = (absolute: string, bundlePath: string, ancestors: ReadonlySet<string>): void => {
    const real = resolveInside(root, absolute, bundlePath, dir);
    const stat = statSync(real);
    if (stat.isDirectory()) {
      // A symlink back to a parent would otherwise be walked forever.
      if (ancestors.has(real))
        throw new BundleInvalid(`include path "${bundlePath}" in "${dir}" is a symlink loop`);
      const inner = new Set(ancestors).add(real);
      const entries: Dirent[] = readdirSync(real, { withFileTypes: true });
      for (const name of entries.map((e) => e.name).sort(comparePaths)) {
        visit(join(absolute, name), `${bundlePath}/${name}`, inner);
      }
      return;
    }
    if (!stat.isFile())
      throw new BundleInvalid(`include file "${bundlePath}" in "${dir}" is not a regular file`);
    assertBundlePath(bundlePath, `include directory "${dir}"`);
    if (stat.size > MAX_INCLUDE_FILE_BYTES) {
      throw new BundleInvalid(
        `include file "${bundlePath}" in "${dir}" is ${stat.size} bytes; the limit is ${MAX_INCLUDE_FILE_BYTES} (1 MiB). Keep large assets in the image, not the bundle`,
      );
    }
    files[bundlePath] = decodeUtf8(readFileSync(real), bundlePath, dir);
  };

  for (const name of readdirSync(root).sort(comparePaths)) {
    if (name !== 'Procfile' && name !== '.ebextensions' && name !== '.platform') continue;
    visit(join(root, name), name, new Set([root]));
  }
  for (const path of Object.keys(files)) {
    if (!isIncludablePath(path)) delete files[path];
  }
  return files;
}

/**
 * The include directory of a target, resolved against the directory of ebship.yml and refused when
 * it (or a symlink on the way) leads outside that directory: the repository is all ebship packages.
 */
export function resolveIncludeDir(configDir: string, include: string): string {
  const dir = resolve(configDir, include);
  let real: string;
  let root: string;
  try {
    real = realpathSync(dir);
    root = realpathSync(configDir);
  } catch (err) {
    throw new BundleInvalid(
      `cannot read include directory "${include}" (${(err as NodeJS.ErrnoException).code ?? 'error'}); check the target's include path, relative to ebship.yml`,
    );
  }
  const rel = relative(root, real);
  if (rel.split(sep).includes('..') || isAbsolutePath(rel)) {
    throw new BundleInvalid(
      `include directory "${include}" resolves to ${real}, outside the directory of ebship.yml; ebship only bundles files inside the repository`,
    );
  }
  return dir;
}

/** realpath of `absolute`, refusing it when it lies outside the include directory. */
function resolveInside(root: string, absolute: string, bundlePath: string, dir: string): string {
  const real = realpathSync(absolute);
  const rel = relative(root, real);
  if (rel === '')
    throw new BundleInvalid(
      `include path "${bundlePath}" in "${dir}" is a link to the include directory itself`,
    );
  if (rel.split(sep).includes('..') || isAbsolutePath(rel)) {
    throw new BundleInvalid(
      `include path "${bundlePath}" in "${dir}" resolves outside the include directory (to ${real}); ebship only bundles files inside it`,
    );
  }
  return real;
}

function isAbsolutePath(rel: string): boolean {
  return rel.startsWith(sep) || /^[A-Za-z]:/.test(rel);
}

function decodeUtf8(bytes: Buffer, bundlePath: string, dir: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new BundleInvalid(
      `include file "${bundlePath}" in "${dir}" is not UTF-8 text; the bundle carries config files and scripts only`,
    );
  }
}
