import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { type Act, examples } from '../command.js';
import type { Context } from '../context.js';
import { usage } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { mapStackTrace } from '../trace/map-stack.js';

const DEFAULT_MAPS = '.esbuild/.build';

export function registerTrace(program: Command, act: Act): void {
  program
    .command('trace')
    .argument('<file>', 'a file holding the stack trace copied from CloudWatch Logs')
    .option('--maps <dir>', `where \`serverless package\` left the source maps (default: ${DEFAULT_MAPS})`)
    .description(
      "Map a Lambda stack trace from the deployed (minified) functions back to ebship's TypeScript files and lines. The zips ship without source maps; the maps of the same build stay on the machine that packaged it.",
    )
    .addHelpText(
      'after',
      `${examples('ebship trace error.txt', 'ebship trace error.txt --maps /srv/ebship-build/.esbuild/.build')}\nExit 0 when every deployed frame was mapped, 1 when some were not (wrong or missing maps).\n`,
    )
    .action(act<[string, { maps?: string }]>((ctx, file, options) => trace(ctx, file, options.maps)));
}

export async function trace(ctx: Context, file: string, mapsDir = DEFAULT_MAPS): Promise<number> {
  const path = resolve(ctx.io.cwd, file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw usage(
      'trace-unreadable',
      `cannot read ${file}`,
      'Save the stack trace from CloudWatch Logs to a file and pass its path.',
    );
  }
  const result = mapStackTrace(text, resolve(ctx.io.cwd, mapsDir), ctx.io.cwd);
  if (ctx.json) {
    ctx.out.json(result);
  } else {
    ctx.out.line(result.text.trimEnd());
    for (const bundle of result.missingMaps) {
      ctx.err.line(
        `ebship: no source map for ${bundle} in ${mapsDir}: run \`npx serverless package\` from the commit that was deployed, or pass --maps.`,
      );
    }
  }
  return result.unmapped === 0 ? ExitCode.Ok : ExitCode.Findings;
}
