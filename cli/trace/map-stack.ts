import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * A position in a deployed function, as a CloudWatch stack trace prints it:
 * `at handler (/var/task/functions/check-health.cjs:1:23456)` (CommonJS; builds before it were ES
 * modules, printed `file:///var/task/functions/check-health.mjs:1:23456`). The zips carry no source
 * maps (they were three quarters of each zip), so the frames point into minified code until mapped here.
 */
const FRAME = /(?:file:\/\/)?\/var\/task\/(functions\/[\w.-]+\.[cm]js):(\d+):(\d+)/g;

export interface MappedTrace {
  text: string;
  /** Frames mapped to TypeScript, and frames left as they were (no map, or no mapping there). */
  mapped: number;
  unmapped: number;
  /** Bundles named in the trace whose `.map` is missing from the maps directory. */
  missingMaps: string[];
}

/**
 * Rewrites every deployed-function frame of `trace` to the TypeScript file, line and column it came
 * from, using the `.map` files esbuild wrote beside the bundles (`mapsDir`, `.esbuild/.build` after
 * `serverless package`). Sources are shown relative to `root`; lines without such a frame are kept.
 */
export function mapStackTrace(trace: string, mapsDir: string, root = process.cwd()): MappedTrace {
  const maps = new Map<string, SourceMap | undefined>();
  const missing = new Set<string>();
  let mapped = 0;
  let unmapped = 0;
  const text = trace.replace(FRAME, (frame, bundle: string, line: string, column: string) => {
    if (!maps.has(bundle)) {
      const file = join(mapsDir, `${bundle}.map`);
      maps.set(bundle, existsSync(file) ? new SourceMap(JSON.parse(readFileSync(file, 'utf8'))) : undefined);
    }
    const map = maps.get(bundle);
    if (!map) {
      missing.add(bundle);
      unmapped++;
      return frame;
    }
    const origin = map.findOrigin(Number(line), Number(column));
    if (!('fileName' in origin)) {
      unmapped++;
      return frame;
    }
    mapped++;
    const source = relative(root, resolve(dirname(join(mapsDir, bundle)), origin.fileName));
    return `${source}:${origin.lineNumber}:${origin.columnNumber}`;
  });
  return { text, mapped, unmapped, missingMaps: [...missing].sort() };
}
