import { resolve } from 'node:path';
import { Command } from 'commander';
import { run as ebship } from '../cli/main.js';
import { loadConfig } from '../lib/config/load.js';
import { createClock, DEFAULT_SCALE } from './clock.js';
import { runScenario } from './run-scenario.js';
import { loadScenario, scenarioNames } from './scenarios.js';

/**
 * `npm start`: rehearses ebship against the local stand-in. By default a good push (deployed,
 * Green) then a bad push (Red, rolled back by ebship, alert printed); `--scenario <name>` runs one
 * scenario. Exits 0 when every push ends the way the scenario expects.
 */
const program = new Command('rehearse')
  .description('Rehearse ebship deploys against the local AWS stand-in (simulated time).')
  .option('-s, --scenario <name>', 'run one scenario', 'rehearsal')
  .option('-c, --config <path>', 'ebship.yml to provision from', 'ebship.yml')
  .option('--scale <n>', 'simulated seconds per real second', String(DEFAULT_SCALE))
  .addHelpText(
    'after',
    () =>
      `\nScenarios:\n${scenarioNames()
        .map((n) => `  ${n.padEnd(26)}${loadScenario(n).description}`)
        .join('\n')}\n`,
  );

async function main(): Promise<number> {
  program.parse();
  const opts = program.opts<{ scenario: string; config: string; scale: string }>();
  const scenario = loadScenario(opts.scenario);
  const scale =
    program.getOptionValueSource('scale') === 'cli'
      ? Number(opts.scale)
      : (scenario.scale ?? Number(opts.scale));
  if (!(scale > 0)) throw new Error(`--scale must be a positive number, got "${opts.scale}"`);
  const configPath = resolve(opts.config);
  const config = loadConfig(configPath);
  console.log(`ebship rehearsal: ${scenario.name} - ${scenario.description}`);
  console.log(`target ${scenario.target}, simulated time x${scale} (times below are simulated seconds)`);
  const clock = createClock(scale);
  const outcome = await runScenario(scenario, {
    config,
    configPath,
    clock,
    print: (line) => console.log(line),
    // Progress is what an operator sees with `ebship follow <execution> --stage local`.
    follow: async (executionArn) => {
      await ebship(['follow', executionArn, '--stage', 'local', '--config', configPath], {
        stdout: process.stdout,
        stderr: process.stderr,
        env: process.env,
        cwd: process.cwd(),
        // The CLI's poll interval is real time for it; here it is simulated, like everything else.
        sleep: (ms, signal) => clock.sleep(ms, signal),
      });
    },
  });
  console.log('\nsummary');
  for (const p of outcome.pushes) {
    const mark = p.status === p.expected ? 'ok  ' : 'FAIL';
    const why = p.error ? ` (${p.error})` : '';
    console.log(
      `  ${mark} push ${p.tag}: ${p.status}${why} in ${p.simulatedSeconds}s; environment on ${p.finalVersion ?? '?'}, ${p.finalColor ?? '?'}; ${p.alerts.length} alert(s)`,
    );
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
