import { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_PORT } from './serve.js';

/**
 * `npx tsx standin/control.ts <command>`: controls a stand-in started with `npm run standin`, through
 * its `/_standin/...` endpoint (AWS_ENDPOINT_URL, else 127.0.0.1:4566, else --endpoint).
 */
const program = new Command('standin')
  .description('Control a running ebship stand-in (npm run standin).')
  .option('-e, --endpoint <url>', 'the stand-in (default: AWS_ENDPOINT_URL, else http://127.0.0.1:4566)');

async function call(method: string, path: string, body?: unknown): Promise<void> {
  const endpoint =
    program.opts<{ endpoint?: string }>().endpoint ??
    process.env.AWS_ENDPOINT_URL ??
    `http://127.0.0.1:${DEFAULT_PORT}`;
  const res = await fetch(`${endpoint.replace(/\/+$/, '')}/_standin/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  if (!res.ok) process.exitCode = 1;
}

program
  .command('push <repository> [tag]')
  .description('push an image to ECR: EventBridge delivers the push to the ECR rule (a deploy starts)')
  .option('--digest <sha256>', 'the image digest (default: a new one)')
  .option(
    '--no-event',
    'EventBridge loses this push (a drop-events fault): no deploy starts; deploy it with `ebship deploy`',
  )
  .action(async (repository: string, tag: string | undefined, o: { digest?: string; event: boolean }) => {
    if (!o.event) await call('POST', 'faults', { fault: 'drop-events', source: 'aws.ecr', times: 1 });
    await call('POST', 'push', { repository, tag, digest: o.digest });
  });
program
  .command('advance <seconds>')
  .description('move simulated time forward')
  .action((seconds: string) => call('POST', 'advance', { seconds: Number(seconds) }));
program
  .command('scenario <name>')
  .description('environments behave as this scenario (standin/scenarios/<name>.yml) says from now on')
  .action((name: string) => call('POST', 'scenario', { name }));
program
  .command('fault <spec>')
  .description(
    'arm a fault, as YAML or JSON, e.g. "{fault: reply-lost, service: elasticbeanstalk, operation: UpdateEnvironment}"',
  )
  .action((spec: string) => call('POST', 'faults', parseYaml(spec)));
program
  .command('clear-faults')
  .description('disarm every fault')
  .action(() => call('DELETE', 'faults'));
program
  .command('status')
  .description('simulated time, environments, executions, faults armed and fired')
  .action(() => call('GET', 'status'));
program
  .command('alerts')
  .description('messages published to SNS (what on-call received)')
  .action(() => call('GET', 'alerts'));

program.parseAsync().catch((err: unknown) => {
  console.error(`standin: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
});
