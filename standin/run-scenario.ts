import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ElasticBeanstalkClient, UpdateEnvironmentCommand } from '@aws-sdk/client-elastic-beanstalk';
import type { EbshipConfig } from '../lib/config/schema.js';
import { type Clock, installClock } from './clock.js';
import { loadEbEventsRule, loadEcrRulePattern, loadExecutionEndedRule } from './ecr-rule.js';
import type { EventRule } from './eventbridge.js';
import type { FiredFault } from './faults.js';
import { DEFAULT_NAMES, provision } from './provision.js';
import type { Scenario } from './scenarios.js';
import { loadScheduledRules, Scheduler } from './scheduler.js';
import { startStandin } from './server.js';
import type { PublishedMessage } from './services/sns.js';
import type { HistoryEvent, TaskHandler, TaskHandlerResolver } from './services/step-functions.js';
import type { World } from './world.js';

/**
 * Runs one scenario end to end in this process: starts the stand-in on a scaled clock, points the
 * SDK at it through the environment, provisions it from ebship.yml, and delivers each push through
 * the EventBridge rule to the real state machine and the real handlers.
 */

export interface PushOutcome {
  tag: string;
  expected: 'SUCCEEDED' | 'FAILED';
  status: string;
  error?: string;
  cause?: string;
  simulatedSeconds: number;
  finalVersion?: string;
  finalColor?: string;
  alerts: PublishedMessage[];
  /** EB operations the environment received during this push, in order (throttled ones included). */
  ebOperations: string[];
  /** Faults that fired during this push (faults.ts). */
  faults: FiredFault[];
  /** Version labels of the UpdateEnvironment calls EB applied during this push, in order. */
  updatesApplied: string[];
  /** The execution's history (Step Functions HistoryEvents, simulated timestamps). */
  history: HistoryEvent[];
  /** The scenario's `promotion`: the execution a success started on the promoted target. */
  promoted?: PromotionOutcome;
}

export interface PromotionOutcome {
  target: string;
  /** NONE: no promoted execution started (the push failed on the source target, as it must then). */
  status: string;
  expected: 'SUCCEEDED' | 'FAILED' | 'NONE';
  passed: boolean;
  executionArn?: string;
  input?: Record<string, unknown>;
  finalVersion?: string;
  history: HistoryEvent[];
  /** The approval answers on-call gave with the CLI (`promotion.answer`), in order. */
  answers: ApprovalAnswer[];
}

export interface ApprovalAnswer {
  argv: string[];
  code: number;
  output: string;
}

export interface ScenarioOutcome {
  scenario: string;
  pushes: PushOutcome[];
  ruleSource: string;
  /** EB calls answered, and how many of them were throttled. */
  ebCalls: number;
  throttled: number;
  /** The scenario's `afterPushes`: what was published meanwhile, and whether it was as expected. */
  afterPushes?: { alerts: PublishedMessage[]; passed: boolean };
  /** Times the scheduled rules fired (scenarios with `scheduledRules`). */
  scheduledRuns: number;
  passed: boolean;
}

export interface RunOptions {
  config: EbshipConfig;
  /** Path of ebship.yml, for EBSHIP_CONFIG (the handlers read it themselves). */
  configPath: string;
  clock: Clock;
  /** Progress lines (default: none). */
  print?: (line: string) => void;
  /** Resolves the Task handlers; default: functions/registry.ts, loaded after the environment is set. */
  taskHandlers?: TaskHandlerResolver;
  /** Deploy definition; default: lib/workflow/definition.ts. */
  definition?: () => Promise<unknown>;
  /**
   * Follows each execution instead of the built-in progress lines, e.g. with `ebship follow`.
   * Called with the execution ARN once the push has started it; resolves when it has ended.
   */
  follow?: (executionArn: string) => Promise<void>;
  /**
   * Stand-in port (default: any free one). Handlers create their SDK clients once per process, like
   * a warm Lambda, so several scenarios in one process must reuse one endpoint.
   */
  port?: number;
  /** Called once the environment points at the stand-in, before the first push (load handlers here). */
  onReady?: (world: World) => Promise<void>;
  /**
   * The functions EventBridge invokes outside the state machine; default: functions/*.ts. Read after
   * onReady (test/e2e/packaged.test.ts gives the packaged zips' handlers).
   */
  ruleFunctions?: () => Partial<Record<RuleFunction, Invoked>>;
}

/** ebship's functions that rules invoke: stopped executions, EB's events, the scheduled reconcile. */
export type RuleFunction = 'executionEnded' | 'ebEvents' | 'reconcile';
type Invoked = (event: unknown) => Promise<unknown>;

export async function runScenario(scenario: Scenario, options: RunOptions): Promise<ScenarioOutcome> {
  const print = options.print ?? (() => undefined);
  const uninstall = installClock(options.clock);
  let resolver: TaskHandlerResolver | undefined = options.taskHandlers;
  const standin = await startStandin({
    port: options.port,
    clock: options.clock,
    eb: scenario.eb,
    taskHandlers: (definition) => {
      if (!resolver) throw new Error('task handlers are not loaded yet');
      return resolver(definition);
    },
  });
  const { world } = standin;
  let scheduler: Scheduler | undefined;
  try {
    const provisioned = await provision(world, standin.endpoint, options.config, scenario);
    // The promoted target: its own environment, on the same known-good version.
    if (scenario.promotion)
      await provision(world, standin.endpoint, options.config, {
        ...scenario,
        target: scenario.promotion.to,
      });
    pointHandlersAt(standin.endpoint, world.region, options.configPath, provisioned.alertTopicArn);
    await options.onReady?.(world);
    resolver ??= await loadRegistry();
    const own = options.ruleFunctions?.() ?? {};
    const definition = options.definition ? await options.definition() : await loadDefinition();
    // Named like a deployed stage (`ebship-<stage>-deploy`, stage "local"), so the CLI finds it.
    const machineArn = world.sfn.createStateMachine('ebship-local-deploy', JSON.stringify(definition));
    const rule = loadEcrRulePattern(options.config, undefined, world.account);
    world.rules.push({ name: 'EcrPushRule', pattern: rule.pattern, targetArn: machineArn });
    // Stopped and timed-out executions: the rule targets ebship's executionEnded function.
    const endedFunction = `arn:aws:lambda:${world.region}:${world.account}:function:ebship-local-executionEnded`;
    world.functions.set(endedFunction, own.executionEnded ?? (await loadFunction(EXECUTION_ENDED)));
    const ended = loadExecutionEndedRule({
      DeployStateMachine: machineArn,
      AlertTopic: provisioned.alertTopicArn,
      'ExecutionEndedLambdaFunction.Arn': endedFunction,
    });
    if (ended) world.rules.push(ended);
    if (scenario.scheduledRules)
      scheduler = await startScheduledRules(world, machineArn, print, own.reconcile);
    await addEbEventsRule(world, options.config, own.ebEvents);
    // Armed after provisioning, so only ebship's own calls meet them.
    world.faults.addAll(scenario.faults);

    const target = options.config.targets[scenario.target];
    if (!target) throw new Error(`unknown target ${scenario.target}`);
    print(
      `provisioned ${target.application}/${target.environment} running ${provisioned.knownGood.versionLabel} (Green); ECR rule from ${rule.source}`,
    );

    const pushes: PushOutcome[] = [];
    for (const push of scenario.pushes) {
      const alerts: PublishedMessage[] = [];
      // On-call gets the approval alert of a promotion and answers it from a terminal: the real
      // CLI, in a process of its own (the alert can come before the source execution has ended).
      const answers: Promise<ApprovalAnswer>[] = [];
      world.sns.onPublish = (m) => {
        alerts.push(m);
        const promotion = scenario.promotion;
        if (promotion && promotion.answer !== 'none' && m.attributes.outcome === 'APPROVAL_NEEDED')
          answers.push(answerApproval(promotion, options.configPath, print));
      };
      const startedAt = options.clock.now();
      const firstCall = world.eb.calls.length;
      const firstFault = world.faults.fired.length;
      const elapsed = () => Math.round((options.clock.now() - startedAt) / 1000);
      print('');
      print(`push ${target.source.repository}:${push.tag}`);
      const { executionArns, image } = world.pushImage({
        repository: target.source.repository,
        tag: push.tag,
      });
      const arn =
        executionArns[0] ??
        (scheduler && (await reconciledExecution(world, image.digest, options.clock, print)));
      if (!arn) throw new Error(`the ECR rule did not match a push to ${target.source.repository}`);
      const execution = world.sfn.executions.get(arn);
      if (!execution) throw new Error(`execution ${arn} was not recorded`);
      if (options.follow) await Promise.all([options.follow(arn), execution.done]);
      else await follow(execution, () => world.eb.snapshot(target.environment), elapsed, print);
      const snap = world.eb.snapshot(target.environment);
      const promoted = scenario.promotion
        ? await followPromotion(world, arn, scenario.promotion, options, print, answers)
        : undefined;
      for (const a of alerts) {
        // A follower (ebship follow) already printed the alert text; confirm it really went out on SNS.
        print(
          `${options.follow ? '\nSNS alert published to on-call' : '  alert '}  ${a.subject ?? '(no subject)'}`,
        );
        if (!options.follow) for (const line of a.message.split('\n')) print(`         ${line}`);
      }
      pushes.push({
        tag: push.tag,
        expected: push.expect,
        status: execution.status,
        error: execution.error,
        cause: execution.cause,
        simulatedSeconds: elapsed(),
        finalVersion: snap?.versionLabel,
        finalColor: snap?.color,
        alerts,
        ebOperations: world.eb.calls.slice(firstCall).map((c) => c.action),
        updatesApplied: world.eb.calls
          .slice(firstCall)
          .filter((c) => c.action === 'UpdateEnvironment' && !c.error)
          .map((c) => String(c.input.VersionLabel)),
        faults: world.faults.fired.slice(firstFault),
        history: execution.history,
        ...(promoted ? { promoted } : {}),
      });
    }
    const after = scenario.afterPushes
      ? await runAfterPushes(scenario.afterPushes, {
          world,
          endpoint: standin.endpoint,
          environment: target.environment,
          knownGood: provisioned.knownGood.versionLabel,
          clock: options.clock,
          print,
        })
      : undefined;
    return {
      scenario: scenario.name,
      pushes,
      ...(after ? { afterPushes: after } : {}),
      scheduledRuns: scheduler?.fired.length ?? 0,
      ruleSource: rule.source,
      ebCalls: world.eb.calls.length,
      throttled: world.eb.calls.filter((c) => c.error === 'Throttling').length,
      passed:
        pushes.every((p) => p.status === p.expected && (p.promoted?.passed ?? true)) &&
        (after?.passed ?? true),
    };
  } finally {
    scheduler?.stop();
    world.sns.onPublish = undefined;
    await standin.close();
    uninstall();
  }
}

/**
 * Waits for the promotion a success on the scenario's target starts (RecordOutcome starts it
 * before the source execution ends), then follows it to its end. A failed source starts none: that
 * is checked after the executions still running (the push's fan-out to the promoted target) end.
 */
async function followPromotion(
  world: World,
  sourceArn: string,
  promotion: NonNullable<Scenario['promotion']>,
  options: RunOptions,
  print: (line: string) => void,
  answers: Promise<ApprovalAnswer>[],
): Promise<PromotionOutcome> {
  const to = options.config.targets[promotion.to];
  if (!to) throw new Error(`unknown promoted target ${promotion.to}`);
  await Promise.all(world.invocations);
  const execution = [...world.sfn.executions.values()].find((e) => {
    const input = JSON.parse(e.input) as { trigger?: string; promotedFrom?: { executionId?: string } };
    return input.trigger === 'promotion' && input.promotedFrom?.executionId === sourceArn;
  });
  if (!execution) {
    print(`  no promotion to ${promotion.to}`);
    return {
      target: promotion.to,
      status: 'NONE',
      expected: promotion.expect,
      passed: promotion.expect === 'NONE',
      finalVersion: world.eb.snapshot(to.environment)?.versionLabel,
      history: [],
      answers: [],
    };
  }
  const startedAt = options.clock.now();
  print('');
  print(`promoted to ${promotion.to}: ${execution.name}`);
  if (options.follow) await Promise.all([options.follow(execution.arn), execution.done]);
  else
    await follow(
      execution,
      () => world.eb.snapshot(to.environment),
      () => Math.round((options.clock.now() - startedAt) / 1000),
      print,
    );
  return {
    answers: await Promise.all(answers),
    target: promotion.to,
    status: execution.status,
    expected: promotion.expect,
    passed: execution.status === promotion.expect,
    executionArn: execution.arn,
    input: JSON.parse(execution.input) as Record<string, unknown>,
    finalVersion: world.eb.snapshot(to.environment)?.versionLabel,
    history: execution.history,
  };
}

const EBSHIP_BIN = fileURLToPath(new URL('../bin/ebship.js', import.meta.url));

/** `ebship approve <target>` (or reject), run the way a person would, in a terminal of its own. */
function answerApproval(
  promotion: NonNullable<Scenario['promotion']>,
  configPath: string,
  print: (line: string) => void,
): Promise<ApprovalAnswer> {
  const argv =
    promotion.answer === 'approve'
      ? ['approve', promotion.to]
      : ['reject', promotion.to, '--reason', 'the scenario says no'];
  print(`  on-call runs: ebship ${argv.join(' ')}`);
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [EBSHIP_BIN, ...argv, '--stage', 'local', '--config', configPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: process.env,
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', fail);
    child.once('exit', (code) => {
      for (const line of output.trimEnd().split('\n')) print(`  | ${line}`);
      if (code !== 0) print(`  ebship ${argv[0]} exited ${code}`);
      done({ argv, code: code ?? -1, output });
    });
  });
}

/**
 * The scheduled rules of infra/events.yml on the simulated clock: the reconciler, with the deploy
 * state machine it starts. It runs once before the first push, as it would have since ebship was
 * installed: its first run only remembers when it began (lib/steps/reconcile.ts).
 */
export async function startScheduledRules(
  world: World,
  machineArn: string,
  print: (line: string) => void,
  reconcile?: Invoked,
): Promise<Scheduler> {
  const reconcileArn = `arn:aws:lambda:${world.region}:${world.account}:function:ebship-local-reconcile`;
  process.env.STATE_MACHINE_ARN = machineArn;
  world.functions.set(reconcileArn, reconcile ?? (await loadFunction(RECONCILE)));
  const scheduler = new Scheduler(world, loadScheduledRules({ 'ReconcileLambdaFunction.Arn': reconcileArn }));
  await scheduler.runNow();
  print(`scheduled rules: ${scheduler.rules.map((r) => `${r.name} ${r.expression}`).join(', ') || '(none)'}`);
  return scheduler;
}

/**
 * A push whose ECR event was lost starts no execution: wait (simulated time) for the reconciler to
 * start one for the image, for at most two schedule intervals and its grace period.
 */
async function reconciledExecution(
  world: World,
  digest: string,
  clock: Clock,
  print: (line: string) => void,
): Promise<string | undefined> {
  const since = clock.now();
  print('  ECR event lost: no execution; waiting for the reconciler');
  while (clock.now() - since < 11 * 60_000) {
    const found = [...world.sfn.executions.values()].find((e) => e.input.includes(digest));
    if (found) {
      print(
        `  +${String(Math.round((clock.now() - since) / 1000)).padStart(5)}s  reconciler started ${found.name}`,
      );
      return found.arn;
    }
    await clock.sleep(5_000);
  }
  return undefined;
}

/** The scenario's `afterPushes`: a deploy by hand, then time for the scheduled rules to notice. */
async function runAfterPushes(
  after: NonNullable<Scenario['afterPushes']>,
  ctx: {
    world: World;
    endpoint: string;
    environment: string;
    knownGood: string;
    clock: Clock;
    print: (line: string) => void;
  },
): Promise<{ alerts: PublishedMessage[]; passed: boolean }> {
  const alerts: PublishedMessage[] = [];
  ctx.world.sns.onPublish = (m) => alerts.push(m);
  ctx.print('');
  if (after.consoleDeploy) {
    // As from the console or the AWS CLI: UpdateEnvironment, no ebship lock, no history.
    const eb = new ElasticBeanstalkClient({
      endpoint: ctx.endpoint,
      region: ctx.world.region,
      credentials: { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'standin' },
    });
    await eb.send(
      new UpdateEnvironmentCommand({ EnvironmentName: ctx.environment, VersionLabel: ctx.knownGood }),
    );
    eb.destroy();
    ctx.print(
      `deploy by hand (UpdateEnvironment, as the console does): ${ctx.environment} to ${ctx.knownGood}`,
    );
  }
  const since = ctx.clock.now();
  let lastEnv = '';
  while (ctx.clock.now() - since < after.waitSeconds * 1000) {
    const snap = ctx.world.eb.snapshot(ctx.environment);
    const line = snap ? `${snap.status} ${snap.color} ${snap.versionLabel}` : '';
    if (line !== lastEnv) {
      ctx.print(`  +${String(Math.round((ctx.clock.now() - since) / 1000)).padStart(5)}s  EB     ${line}`);
      lastEnv = line;
    }
    await ctx.clock.sleep(5_000);
  }
  await Promise.all(ctx.world.invocations);
  for (const a of alerts) {
    ctx.print(`  alert  ${a.subject ?? '(no subject)'}`);
    for (const line of a.message.split('\n')) ctx.print(`         ${line}`);
  }
  const outcomes = alerts.map((a) => a.attributes.outcome);
  const passed = after.expectAlerts.every((o) => outcomes.filter((x) => x === o).length === 1);
  return { alerts, passed };
}

/**
 * Points this process's handlers at the stand-in, the way Lambda's environment points them at AWS.
 * The handlers build their SDK clients when first imported: call this before loading them.
 */
export function pointHandlersAt(
  endpoint: string,
  region: string,
  configPath: string,
  alertTopicArn: string,
): void {
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'AKIDSTANDIN',
    AWS_SECRET_ACCESS_KEY: 'standin-not-a-secret',
    AWS_REGION: region,
    EBSHIP_S3_PATH_STYLE: 'true',
    EBSHIP_CONFIG: configPath,
    TABLE_NAME: DEFAULT_NAMES.tableName,
    BUNDLE_BUCKET: DEFAULT_NAMES.bundleBucket,
    ALERT_TOPIC_ARN: alertTopicArn,
    MIGRATION_DOCUMENT_NAME: DEFAULT_NAMES.migrationDocumentName,
  });
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  delete process.env.AWS_PROFILE;
}

type FollowedExecution = {
  status: string;
  history: { type: string; stateEnteredEventDetails?: unknown }[];
  done: Promise<void>;
};

/** Prints each state the execution enters and each change of the environment, until it ends. */
async function follow(
  execution: FollowedExecution,
  snapshot: () =>
    | { status: string; color: string; versionLabel: string; instanceVersions: string[] }
    | undefined,
  elapsed: () => number,
  print: (line: string) => void,
): Promise<void> {
  let seen = 0;
  let lastEnv = '';
  let ended = false;
  void execution.done.then(() => {
    ended = true;
  });
  const stamp = () => `  +${String(elapsed()).padStart(5)}s`;
  for (;;) {
    const snap = snapshot();
    const envLine = snap
      ? `${snap.status} ${snap.color} ${snap.versionLabel}${new Set(snap.instanceVersions).size > 1 ? ' (instances on mixed versions)' : ''}`
      : '';
    if (envLine !== lastEnv) {
      print(`${stamp()}  EB     ${envLine}`);
      lastEnv = envLine;
    }
    for (; seen < execution.history.length; seen++) {
      const e = execution.history[seen];
      if (!e) continue;
      const name = (e.stateEnteredEventDetails as { name?: string } | undefined)?.name;
      if (e.type === 'TaskStateEntered' && name) print(`${stamp()}  step   ${name}`);
      else if (e.type === 'FailStateEntered' && name) print(`${stamp()}  end    ${name}`);
      else if (e.type === 'SucceedStateEntered' && name) print(`${stamp()}  end    ${name}`);
      else if (e.type === 'LambdaFunctionFailed') {
        const d = (e as { lambdaFunctionFailedEventDetails?: { error?: string; cause?: string } })
          .lambdaFunctionFailedEventDetails;
        print(`${stamp()}  error  ${d?.error ?? ''}: ${(d?.cause ?? '').split('\n')[0]}`);
      }
    }
    if (ended && seen >= execution.history.length) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

// Loaded by path at run time: the handlers' SDK clients read AWS_ENDPOINT_URL when first imported.
const REGISTRY = '../functions/registry.js';
const EXECUTION_ENDED = '../functions/execution-ended.js';
const RECONCILE = '../functions/reconcile.js';

async function loadFunction(path: string): Promise<Invoked> {
  const mod: unknown = await import(path);
  const fn = (mod as { handler?: unknown }).handler;
  if (typeof fn !== 'function') throw new Error(`${path} does not export a handler`);
  return (event) => Promise.resolve(fn(event));
}
const DEFINITION = '../lib/workflow/definition.js';
const EB_EVENTS = '../functions/eb-events.js';

/**
 * EB's health and status events reach ebship's ebEvents function, which wakes the event-driven health
 * watch (issue 13): the rule from infra/events.yml, the function in process. Call it once the
 * handlers' environment points at the stand-in.
 */
export async function addEbEventsRule(
  world: World,
  config: EbshipConfig,
  ebEvents?: Invoked,
): Promise<EventRule | undefined> {
  const arn = `arn:aws:lambda:${world.region}:${world.account}:function:ebship-local-ebEvents`;
  world.functions.set(arn, ebEvents ?? (await loadFunction(EB_EVENTS)));
  const environments = Object.values(config.targets).map((t) => t.environment);
  const rule = loadEbEventsRule({ 'EbEventsLambdaFunction.Arn': arn }, environments);
  if (rule) world.rules.push(rule);
  return rule;
}

export async function loadRegistry(): Promise<TaskHandlerResolver> {
  const mod: unknown = await import(REGISTRY);
  const fn = (mod as { localTaskHandlers?: unknown }).localTaskHandlers;
  if (typeof fn !== 'function') throw new Error('functions/registry.ts does not export localTaskHandlers');
  return (definition) => (fn as (d: unknown) => Record<string, TaskHandler>)(definition);
}

export async function loadDefinition(): Promise<unknown> {
  const mod: unknown = await import(DEFINITION);
  const fn = (mod as { loadDeployDefinition?: unknown }).loadDeployDefinition;
  if (typeof fn !== 'function')
    throw new Error('lib/workflow/definition.ts does not export loadDeployDefinition');
  return (fn as () => unknown)();
}
