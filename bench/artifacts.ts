/**
 * The "Lambda artifacts" part of `npm run bench`: each function's zip, its bundle and the CPU time of
 * importing that bundle in a fresh Node (the share of a cold start that is ebship's).
 *
 *   npx tsx bench/artifacts.ts           package, measure, print the section
 *   npx tsx bench/artifacts.ts --write   the same, and put it in docs/benchmarks.md in place of the last one
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** serverless.yml's function key (camelCase) to its handler file (kebab-case). */
const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Median CPU milliseconds of importing `file` in a fresh Node, over `runs` processes. */
export function importCpuMs(file: string, runs = 5): string {
  const script =
    'const t=process.cpuUsage();await import(process.argv[1]);const c=process.cpuUsage(t);console.log((c.user+c.system)/1000)';
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    try {
      const outText = execFileSync(process.execPath, ['--input-type=module', '-e', script, resolve(file)], {
        env: { ...process.env, AWS_REGION: 'us-east-1', POWERTOOLS_LOG_LEVEL: 'SILENT' },
        encoding: 'utf8',
      });
      samples.push(Number(outText.trim().split('\n').at(-1)));
    } catch {
      return 'n/a';
    }
  }
  samples.sort((a, b) => a - b);
  return (samples[Math.floor(runs / 2)] ?? 0).toFixed(0);
}

/** Packages the service (`serverless package`) and measures each function: the section's lines. */
export function artifactSection(): string[] {
  const lines = ['## Lambda artifacts (`serverless package`, esbuild, minified)', ''];
  const dir = mkdtempSync(join(tmpdir(), 'ebship-bench-'));
  try {
    execFileSync(
      'npx',
      ['serverless', 'package', '--stage', 'bench', '--region', 'us-east-1', '--package', dir],
      {
        stdio: 'ignore',
        env: { ...process.env, AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench' },
      },
    );
  } catch (err) {
    return [...lines, `serverless package failed: ${(err as Error).message.split('\n')[0]}`, ''];
  }
  lines.push(
    `Zipped size, the bundle's size unzipped (what V8 compiles), and the CPU time of importing the bundle in a fresh Node ${process.version} (median of 5; the cold-start share that is ours). Source maps stay out of the zips (\`ebship trace\` maps stack traces).`,
    '',
    '| artifact | zip bytes | bundle bytes | import ms CPU |',
    '| --- | --- | --- | --- |',
  );
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.zip'))
    .sort()) {
    const bundle = join('.esbuild', '.build', 'functions', `${kebab(file.replace(/\.zip$/, ''))}.mjs`);
    lines.push(
      `| ${file} | ${statSync(join(dir, file)).size} | ${statSync(bundle).size} | ${importCpuMs(bundle)} |`,
    );
  }
  lines.push('');
  return lines;
}

/** `doc` with its "Lambda artifacts" section replaced by `section`. */
export function replaceArtifactSection(doc: string, section: string[]): string {
  const from = doc.indexOf('## Lambda artifacts');
  if (from < 0) return doc;
  const next = doc.indexOf('\n## ', from + 1);
  return `${doc.slice(0, from)}${section.join('\n').trimEnd()}\n${next < 0 ? '' : doc.slice(next)}`;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('bench/artifacts.ts')) {
  const section = artifactSection();
  console.log(section.join('\n'));
  if (process.argv.includes('--write')) {
    const doc = readFileSync('docs/benchmarks.md', 'utf8');
    writeFileSync('docs/benchmarks.md', replaceArtifactSection(doc, section));
  }
}
