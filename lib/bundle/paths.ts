import { BundleInvalid } from './errors.js';

/**
 * Rules for paths inside a source bundle. EB unzips the bundle into /var/app/staging as root, so
 * a path that climbs out of it (`../`, `/etc/...`) must never reach the zip.
 */

/** Throws BundleInvalid unless `path` is a relative, forward-slash path that stays inside the bundle. */
export function assertBundlePath(path: string, source: string): void {
  const problem = bundlePathProblem(path);
  if (problem) throw new BundleInvalid(`${source}: "${path}" ${problem}`);
}

function bundlePathProblem(path: string): string | undefined {
  if (path.length === 0) return 'is empty';
  if (path.includes('\\')) return 'uses "\\"; bundle paths use "/"';
  if (path.includes('\0')) return 'contains a NUL character';
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path))
    return 'is absolute; use a path relative to the bundle root';
  const parts = path.split('/');
  if (parts.some((p) => p === '..')) return 'climbs out of the bundle with ".."';
  if (parts.some((p) => p === '' || p === '.'))
    return 'has an empty or "." segment; write it without "//" or "./"';
  return undefined;
}

/** The user files ebship adds to a bundle: EB's own customisation points, nothing that could replace the app. */
export function isIncludablePath(path: string): boolean {
  return path === 'Procfile' || path.startsWith('.ebextensions/') || path.startsWith('.platform/');
}

/** Code-point order, independent of locale, so every machine sorts paths the same way. */
export function comparePaths(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
