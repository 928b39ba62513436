import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../lib/config/load.js';
import { createClock, installClock } from './clock.js';
import { loadEcrRulePattern, loadExecutionEndedRule } from './ecr-rule.js';
import type { FaultInput } from './faults.js';
import { provisionIam } from './iam-roles.js';
import { readBody } from './protocol.js';
import { provision, stageNames } from './provision.js';
import { addEbEventsRule, loadDefinition, loadRegistry, startScheduledRules } from './run-scenario.js';
import { loadScenario, type Scenario } from './scenarios.js';
import { type Standin, startStandin } from './server.js';
import type { TaskHandlerResolver } from './services/step-functions.js';

/**
 * `npm run standin`: a provisioned stand-in that keeps running, for the `ebship` CLI and the `aws`
 * CLI. Every target of ebship.yml runs its known-good version; pushes, time and scenarios are
 * controlled through `/_standin/...` (standin/control.ts is the command for it).
 */
export const DEFAULT_PORT = 4566;
export const DEFAULT_SERVE_SCALE = 60;

const program = new Command('standin')
  .description('Run the local AWS stand-in as a server, provisioned from ebship.yml.')
  .option('-p, --port <n>', 'port on 127.0.0.1', String(DEFAULT_PORT))
  .option('-c, --config <path>', 'ebship.yml to provision from', 'ebship.yml')
  .option('-s, --scenario <name>', 'how environments behave on each update (standin/scenarios)', 'healthy')
  .option('--scale <n>', 'simulated seconds per real second', String(DEFAULT_SERVE_SCALE))
  .option('--stage <name>', "the ebship stage to name resources after (the CLI's --stage)", 'local');

async function main(): Promise<void> {
  program.parse();
  const opts = program.opts<{
    port: string;
    config: string;
    scenario: string;
    scale: string;
    stage: string;
  }>();
  const port = Number(opts.port);
  const scale = Number(opts.scale);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new Error(`--port: not a port: ${opts.port}`);
  if (!(scale > 0)) throw new Error(`--scale must be a positive number, got "${opts.scale}"`);
  const configPath = resolve(opts.config);
  const config = loadConfig(configPath);
  let scenario = loadScenario(opts.scenario);
  const names = stageNames(opts.stage);

  const clock = createClock(scale);
  installClock(clock);
  let resolver: TaskHandlerResolver | undefined;
  let standin: Standin | undefined;
  const control = async (req: IncomingMessage, res: ServerResponse) => {
    const reply = (status: number, body: unknown) => {
      const text = `${JSON.stringify(body, null, 2)}\n`;
      res.writeHead(status, { 'content-type': 'application/json' }).end(text);
    };
    try {
      if (!standin) throw new Error('the stand-in is still starting');
      const body = (await readBody(req)).toString('utf8');
      const input = body ? (parseYaml(body) as Record<string, unknown>) : {};
      const out = await handleControl(
        standin,
        req.method ?? 'GET',
        (req.url ?? '').split('?')[0] ?? '',
        input,
        {
          applyScenario: (name) => {
            scenario = loadScenario(name);
            applyScenario(standin as Standin, scenario);
            return scenario;
          },
        },
      );
      reply(200, out);
    } catch (err) {
      reply(400, { error: err instanceof Error ? err.message : String(err) });
    }
  };
  standin = await startStandin({
    port,
    clock,
    control,
    taskHandlers: (definition) => {
      if (!resolver) throw new Error('task handlers are not loaded yet');
      return resolver(definition);
    },
  });
  const { world, endpoint } = standin;
  let alertTopicArn = '';
  for (const target of Object.keys(config.targets)) {
    const provisioned = await provision(world, endpoint, config, { ...scenario, target }, names);
    alertTopicArn = provisioned.alertTopicArn;
  }
  // IAM as the deployed stack leaves it, for `ebship doctor` (standin/iam-roles.ts).
  provisionIam(world, config, configPath, opts.stage);
  const env: Record<string, string> = {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'AKIDSTANDIN',
    AWS_SECRET_ACCESS_KEY: 'standin-not-a-secret',
    AWS_REGION: world.region,
    // The AWS CLI v1 reads the region from AWS_DEFAULT_REGION.
    AWS_DEFAULT_REGION: world.region,
    EBSHIP_S3_PATH_STYLE: 'true',
    EBSHIP_CONFIG: configPath,
  };
  // The handlers (in this process) build their SDK clients when first imported: environment first.
  Object.assign(process.env, env, {
    TABLE_NAME: names.tableName,
    BUNDLE_BUCKET: names.bundleBucket,
    ALERT_TOPIC_ARN: alertTopicArn,
    MIGRATION_DOCUMENT_NAME: names.migrationDocumentName,
  });
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  delete process.env.AWS_PROFILE;
  resolver = await loadRegistry();
  const machineArn = world.sfn.createStateMachine(
    `ebship-${opts.stage}-deploy`,
    JSON.stringify(await loadDefinition()),
  );
  world.rules.push({
    name: 'EcrPushRule',
    pattern: loadEcrRulePattern(config).pattern,
    targetArn: machineArn,
  });
  const ended = loadExecutionEndedRule({ DeployStateMachine: machineArn, AlertTopic: alertTopicArn });
  if (ended) world.rules.push(ended);
  // Scheduled rules (the reconciler: lost pushes, drift) on the simulated clock.
  const scheduler = await startScheduledRules(world, machineArn, () => undefined);
  await addEbEventsRule(world, config);
  world.faults.addAll(scenario.faults);
  world.sns.onPublish = (m) =>
    console.log(
      `[${new Date(clock.now()).toISOString()}] SNS alert: ${m.subject ?? m.message.slice(0, 100)}`,
    );
  world.sfn.onStatusChange = ((previous) => (e) => {
    previous?.(e);
    console.log(`[${new Date(clock.now()).toISOString()}] execution ${e.name}: ${e.status}`);
  })(world.sfn.onStatusChange);

  const targets = Object.entries(config.targets)
    .map(
      ([name, t]) =>
        `  ${name.padEnd(24)} ${t.application}/${t.environment}  repository ${t.source.repository}`,
    )
    .join('\n');
  console.log(`ebship stand-in on ${endpoint} (stage ${opts.stage}, simulated time x${scale}, scenario ${scenario.name})
${targets}

Point the ebship CLI and the AWS CLI at it:

${Object.entries(env)
  .map(([k, v]) => `export ${k}=${v}`)
  .join('\n')}
unset AWS_PROFILE
# ebship's resources here are stage "${opts.stage}": the CLI's --stage defaults to EBSHIP_STAGE.
export EBSHIP_STAGE=${opts.stage}

Control it (push an image, advance time, apply a scenario or a fault):
  npx tsx standin/control.ts push ${Object.values(config.targets)[0]?.source.repository ?? '<repository>'} v1.4.0
  npx tsx standin/control.ts advance 300
  npx tsx standin/control.ts scenario red-after-deploy
  npx tsx standin/control.ts status
Ctrl-C stops it.`);

  // EB's state advances when someone looks; look regularly, so its EventBridge events (health and
  // status changes) reach the rules even while nobody polls.
  setInterval(() => {
    for (const name of world.eb.environments.keys()) world.eb.snapshot(name);
  }, 250).unref();

  const stop = async () => {
    scheduler.stop();
    await standin?.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

/** How environments behave from now on, the migration check, and the faults (replacing armed ones). */
export function applyScenario(standin: Standin, scenario: Scenario): void {
  const { world } = standin;
  for (const env of world.eb.environments.values()) {
    // The scenario's first behaviour applies to the next update.
    env.spec.onUpdate = scenario.environment.onUpdate;
    env.updates = 0;
  }
  world.ssm.outcome = scenario.migrationCheck;
  world.faults.clear();
  world.faults.addAll(scenario.faults);
}

/**
 * The control API (JSON or YAML bodies):
 *   GET  /_standin/status                       clock, environments, executions, faults fired
 *   POST /_standin/push      {repository, tag}   an image pushed to ECR (the ECR rule may start a deploy)
 *   POST /_standin/advance   {seconds}           simulated time jumps forward
 *   POST /_standin/scenario  {name}              environments behave as that scenario says
 *   POST /_standin/faults    {fault...} | [...]  arm faults (schema: standin/faults.ts)
 *   DELETE /_standin/faults                      disarm every fault
 *   GET  /_standin/alerts                        what was published to SNS
 */
export async function handleControl(
  standin: Standin,
  method: string,
  path: string,
  input: Record<string, unknown>,
  hooks: { applyScenario: (name: string) => Scenario },
): Promise<unknown> {
  const { world } = standin;
  const clock = world.clock;
  const route = `${method} ${path.replace(/\/+$/, '')}`;
  switch (route) {
    case 'GET /_standin/status':
      return {
        now: new Date(clock.now()).toISOString(),
        scale: clock.scale,
        environments: Object.fromEntries(
          [...world.eb.environments.keys()].map((name) => [name, world.eb.snapshot(name)]),
        ),
        executions: [...world.sfn.executions.values()].map((e) => ({
          name: e.name,
          status: e.status,
          startDate: e.startDate.toISOString(),
          error: e.error,
        })),
        faultsArmed: world.faults.pending(),
        faultsFired: world.faults.fired,
      };
    case 'POST /_standin/push': {
      const repository = String(input.repository ?? '');
      if (!repository) throw new Error('push needs a repository');
      const pushed = world.pushImage({
        repository,
        tag: input.tag === undefined ? undefined : String(input.tag),
        digest: input.digest === undefined ? undefined : String(input.digest),
      });
      return { imageDigest: pushed.image.digest, executionArns: pushed.executionArns };
    }
    case 'POST /_standin/advance': {
      const seconds = Number(input.seconds);
      if (!(seconds >= 0)) throw new Error('advance needs seconds >= 0');
      clock.jump?.(seconds * 1000);
      return { now: new Date(clock.now()).toISOString() };
    }
    case 'POST /_standin/scenario': {
      const scenario = hooks.applyScenario(String(input.name ?? ''));
      return { scenario: scenario.name, description: scenario.description };
    }
    case 'POST /_standin/faults': {
      const list = (Array.isArray(input) ? input : [input]) as FaultInput[];
      return { ids: world.faults.addAll(list), armed: world.faults.pending().length };
    }
    case 'DELETE /_standin/faults':
      world.faults.clear();
      return { armed: 0 };
    case 'GET /_standin/alerts':
      return world.sns.published.map((m) => ({
        at: m.publishedAt.toISOString(),
        subject: m.subject,
        message: m.message,
      }));
    default:
      throw new Error(`unknown control request ${route}`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  main().catch((err: unknown) => {
    console.error(`stand-in error: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  });
}
