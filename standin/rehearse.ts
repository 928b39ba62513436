import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { loadConfig } from '../lib/config/load.js';
import { createClock, DEFAULT_SCALE } from './clock.js';
import { runScenario } from './run-scenario.js';
import { loadScenario, scenarioConfigPath, scenarioNames } from './scenarios.js';

/**
 * `npm start`: rehearses ebship against the local stand-in. By default a good push (deployed,
 * Green) then a bad push (Red, rolled back by ebship, alert printed) to one target of ebship.yml;
 * `--target` picks the target, `--config` the file, `--scenario` another scenario. Exits 0 when
 * every push ends the way the scenario expects.
 *
 * The stand-in and the CLI are separate programs: progress is what an operator sees running
 * `ebship follow <execution> --stage local` (bin/ebship.js, a child process) against the stand-in.
 */
const EBSHIP_BIN = fileURLToPath(new URL('../bin/ebship.js', import.meta.url));

const program = new Command('rehearse')
  .description('Rehearse ebship deploys against the local AWS stand-in (simulated time).')
  .option('-s, --scenario <name>', 'run one scenario', 'rehearsal')
  .option('-t, --target <name>', "the ebship.yml target to deploy (default: the scenario's, else the first)")
  .option('-c, --config <path>', 'ebship.yml to provision from', 'ebship.yml')
  .option('--scale <n>', 'simulated seconds per real second', String(DEFAULT_SCALE))
  .addHelpText(
    'after',
    () =>
      `\nScenarios:\n${scenarioNames()
        .map((n) => `  ${n.padEnd(26)}${loadScenario(n).description}`)
        .join('\n')}\n`,
  );

/** Runs `ebship follow` against the stand-in (the environment points there) until it exits. */
function followWithCli(executionArn: string, configPath: string): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      [EBSHIP_BIN, 'follow', executionArn, '--stage', 'local', '--config', configPath],
      { stdio: ['ignore', 'inherit', 'inherit'], env: process.env },
    );
    child.once('error', fail);
    child.once('exit', () => done());
  });
}

async function main(): Promise<number> {
  program.parse();
  const opts = program.opts<{ scenario: string; target?: string; config: string; scale: string }>();
  const loaded = loadScenario(opts.scenario);
  const scale =
    program.getOptionValueSource('scale') === 'cli'
      ? Number(opts.scale)
      : (loaded.scale ?? Number(opts.scale));
  if (!(scale > 0)) throw new Error(`--scale must be a positive number, got "${opts.scale}"`);
  // A scenario may bring its own ebship.yml (standin/scenarios/*.ebship.yml); --config still wins.
  const configPath = resolve(
    program.getOptionValueSource('config') === 'cli' ? opts.config : scenarioConfigPath(loaded, opts.config),
  );
  const config = loadConfig(configPath);
  const targets = Object.keys(config.targets);
  const target = opts.target ?? (targets.includes(loaded.target) ? loaded.target : targets[0]);
  if (!target || !config.targets[target]) {
    throw new Error(
      `${opts.config} has no target "${target ?? ''}"; its targets: ${targets.join(', ') || '(none)'}`,
    );
  }
  const scenario = { ...loaded, target };
  console.log(`ebship rehearsal: ${scenario.name} - ${scenario.description}`);
  console.log(`target ${target} of ${opts.config}, simulated time x${scale} (times below are simulated)`);
  const outcome = await runScenario(scenario, {
    config,
    configPath,
    clock: createClock(scale),
    print: (line) => console.log(line),
    follow: (executionArn) => followWithCli(executionArn, configPath),
  });
  console.log('\nsummary');
  for (const p of outcome.pushes) {
    const mark = p.status === p.expected ? 'ok  ' : 'FAIL';
    const why = p.error ? ` (${p.error})` : '';
    console.log(
      `  ${mark} push ${p.tag}: ${p.status}${why} in ${p.simulatedSeconds}s; environment on ${p.finalVersion ?? '?'}, ${p.finalColor ?? '?'}; ${p.alerts.length} alert(s)`,
    );
    if (p.promoted) {
      const { promoted: q } = p;
      console.log(
        `  ${q.passed ? 'ok  ' : 'FAIL'} promotion to ${q.target}: ${q.status === 'NONE' ? 'none started' : q.status} (expected ${q.expected === 'NONE' ? 'none' : q.expected}); ${q.target} on ${q.finalVersion ?? '?'}`,
      );
    }
  }
  console.log(
    outcome.passed ? '\nrehearsal passed' : '\nrehearsal FAILED: a push did not end as the scenario expects',
  );
  return outcome.passed ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`rehearsal error: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  },
);
