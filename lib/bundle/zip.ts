import { strFromU8, strToU8, unzipSync, type ZipOptions, zipSync } from 'fflate';
import { BundleInvalid } from './errors.js';
import { assertBundlePath, comparePaths } from './paths.js';

/**
 * A fixed modification time for every entry, built from local-time parts: zip stores DOS local
 * time, and fflate reads it back with the local getters, so this gives the same bytes in every
 * time zone. 1980-01-01 is the earliest time a zip can hold.
 */
const FIXED_MTIME = new Date(1980, 0, 1, 0, 0, 0);
// Entries are marked as made on Unix (os 3) so the mode bits below are honoured when EB unzips.
const UNIX = 3;
const MODE_FILE = 0o100644;
// Platform hooks must be executable; older platform versions do not chmod them for you.
const MODE_EXECUTABLE = 0o100755;

/**
 * Zips bundle files deterministically: paths sorted, fixed mtimes and modes, fixed compression
 * level. The same files give the same bytes, so the sha256 identifies the bundle.
 */
export function zipBundle(files: Record<string, string>): Uint8Array {
  const entries: Record<string, [Uint8Array, ZipOptions]> = {};
  for (const path of Object.keys(files).sort(comparePaths)) {
    assertBundlePath(path, 'bundle file');
    const content = files[path];
    if (content === undefined) continue;
    const mode = isHook(path) ? MODE_EXECUTABLE : MODE_FILE;
    entries[path] = [strToU8(content), { level: 9, mtime: FIXED_MTIME, os: UNIX, attrs: mode * 0x10000 }];
  }
  return zipSync(entries);
}

/** Path → text of every file in a zip (directories left out). For tests, `ebship plan` and the stand-in. */
export function listZip(bytes: Uint8Array): Record<string, string> {
  let raw: Record<string, Uint8Array>;
  try {
    raw = unzipSync(bytes);
  } catch (err) {
    throw new BundleInvalid(`not a readable zip archive: ${(err as Error).message}`);
  }
  const files: Record<string, string> = {};
  for (const path of Object.keys(raw).sort(comparePaths)) {
    const data = raw[path];
    if (path.endsWith('/') || data === undefined) continue;
    files[path] = strFromU8(data);
  }
  return files;
}

function isHook(path: string): boolean {
  return /^\.platform\/(hooks|confighooks)\//.test(path) || path.endsWith('.sh');
}
