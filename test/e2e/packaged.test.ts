import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { run as ebship } from '../../cli/main.js';
import { listZip } from '../../lib/bundle/zip.js';
import { loadConfig } from '../../lib/config/load.js';
import { createClock } from '../../standin/clock.js';
import { freePort } from '../../standin/ports.js';
import { type RuleFunction, runScenario } from '../../standin/run-scenario.js';
import { loadScenario } from '../../standin/scenarios.js';
import type { TaskHandlerResolver } from '../../standin/services/step-functions.js';
import type { World } from '../../standin/world.js';
import { copyService, packageService, REPO } from '../support/package-service.js';

/**
 * The bytes Lambda runs: `serverless package` builds every function's zip (esbuild, minified, the
 * config embedded, the SDK's ES modules, the environment-only credential provider, yaml's ES build,
 * valibot), and the state machine's Task states run those zips' handlers, unzipped as Lambda would,
 * against the stand-in. The other tests run the TypeScript sources, which no bundling decision can
 * break; this one fails when a bundle leaves out, renames or swaps what a handler needs at run time.
 * The functions EventBridge invokes outside the state machine (ebEvents, which wakes the health
 * watch; ExecutionEnded; the scheduled Reconcile) run from their zips too.
 */

const config = loadConfig(join(REPO, 'ebship.yml'));

let service: string;
type Handler = (event: unknown, context?: Context) => Promise<unknown>;
let packaged: TaskHandlerResolver | undefined;
const ruleHandlers: Partial<Record<RuleFunction, (event: unknown) => Promise<unknown>>> = {};
const ruleCalls: Record<RuleFunction, number> = { executionEnded: 0, ebEvents: 0, reconcile: 0 };

beforeAll(async () => {
  service = copyService('ebship-packaged-', ['ebship.yml']);
  await packageService(service, join(service, 'out'));
}, 300_000);

afterAll(() => {
  if (service) rmSync(service, { recursive: true, force: true });
});

/** serverless.yml's function key (`buildBundle`) to its handler file (`build-bundle`). */
const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Unzips a function's zip into its own task root, as Lambda does, and imports its handler. */
async function packagedHandler(fn: string): Promise<Handler> {
  const root = join(service, 'task-roots', fn);
  for (const [file, bytes] of Object.entries(unzipSync(readFileSync(join(service, 'out', `${fn}.zip`))))) {
    if (file.endsWith('/')) continue;
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), bytes);
  }
  const mod = (await import(pathToFileURL(join(root, 'functions', `${kebab(fn)}.cjs`)).href)) as {
    handler?: unknown;
  };
  if (typeof mod.handler !== 'function') throw new Error(`${fn}.zip exports no handler`);
  return mod.handler as Handler;
}

/**
 * The Task handlers and rule functions from their zips. Call once the stand-in has pointed the
 * environment at itself: a bundle builds its SDK clients when imported.
 */
async function loadPackaged(): Promise<TaskHandlerResolver> {
  const registry = await import('../../functions/registry.js');
  const handlers: Record<string, Handler> = {};
  for (const placeholder of Object.keys(registry.handlersBySubstitution)) {
    const name = placeholder.replace(/Arn$/, '');
    handlers[placeholder] = await packagedHandler(`${name.charAt(0).toLowerCase()}${name.slice(1)}`);
  }
  for (const fn of ['executionEnded', 'ebEvents', 'reconcile'] as const) {
    const handler = await packagedHandler(fn);
    ruleHandlers[fn] = (event) => {
      ruleCalls[fn] += 1;
      return handler(event);
    };
  }
  // The stand-in's definition type is aws-local-stepfunctions'; the registry reads only States.
  type Definition = Parameters<typeof registry.localTaskHandlers>[0];
  return (definition) => registry.localTaskHandlers(definition as unknown as Definition, handlers);
}

const port = await freePort();

async function runPackaged(scenario: string) {
  let world: World | undefined;
  const outcome = await runScenario(loadScenario(scenario), {
    config,
    configPath: join(REPO, 'ebship.yml'),
    clock: createClock(240),
    port,
    taskHandlers: (definition) => {
      if (!packaged) throw new Error('the packaged handlers were not loaded');
      return packaged(definition);
    },
    onReady: async (w) => {
      world = w;
      packaged ??= await loadPackaged();
    },
    ruleFunctions: () => ruleHandlers,
  });
  return { outcome, world };
}

/** The bundle `ebship plan` renders from the sources, as path → text. */
async function plan(target: string, tag: string): Promise<Record<string, string>> {
  const zip = join(service, `plan-${target}.zip`);
  const code = await ebship(['plan', target, '--tag', tag, '--out', zip, '--config', 'ebship.yml'], {
    stdout: { write: () => true },
    stderr: { write: () => true },
    env: {},
    cwd: REPO,
  });
  expect(code).toBe(0);
  return listZip(readFileSync(zip));
}

/** The generated .ebextensions' option settings, but for what only a deploy knows: label, secret ARNs. */
function settingsOf(files: Record<string, string>): Record<string, Record<string, unknown>> {
  const doc = parse(files['.ebextensions/00-ebship.config'] ?? '') as {
    option_settings?: Record<string, Record<string, unknown>>;
  };
  const settings = structuredClone(doc.option_settings ?? {});
  delete settings['aws:elasticbeanstalk:application:environment']?.EBSHIP_VERSION_LABEL;
  // The deploy names each secret by the full ARN ValidateSecrets found; plan cannot look it up.
  const secrets = settings['aws:elasticbeanstalk:application:environmentsecrets'] ?? {};
  for (const name of Object.keys(secrets)) secrets[name] = 'arn:aws:secretsmanager:…';
  return settings;
}

describe('the packaged functions on the stand-in', () => {
  it('deploy a push: the zips Lambda runs resolve, build, upload, deploy and watch it to SUCCEEDED', {
    timeout: 180_000,
  }, async () => {
    const { outcome, world } = await runPackaged('healthy');

    expect(outcome.pushes.map((p) => p.status)).toEqual(['SUCCEEDED']);
    expect(outcome.passed).toBe(true);
    // EB's events woke the health watch through the packaged ebEvents.
    expect(ruleCalls.ebEvents).toBeGreaterThan(0);
    // BuildBundle's upload, rendered by the packaged bundle: its generated .ebextensions (YAML
    // written by yaml's ES build) sets what `ebship plan` renders from the sources, but for the label.
    const bundles = [...(world?.s3.buckets.values() ?? [])].flatMap((objects) =>
      [...objects.entries()].filter(([key]) => key.startsWith('bundles/')),
    );
    expect(bundles).toHaveLength(1);
    const uploaded = listZip(new Uint8Array(bundles[0]?.[1].body ?? Buffer.alloc(0)));
    const planned = await plan('antenna-prod', 'v1.3.0');
    expect(Object.keys(uploaded).sort()).toEqual(Object.keys(planned).sort());
    expect(settingsOf(uploaded)).toEqual(settingsOf(planned));
    expect(Object.keys(settingsOf(uploaded)).length).toBeGreaterThan(2);
  });

  it('roll back a release that goes Red after the update, from the same zips', {
    timeout: 180_000,
  }, async () => {
    const { outcome } = await runPackaged('red-after-deploy');

    expect(outcome.pushes.map((p) => p.status)).toEqual(['FAILED']);
    expect(outcome.passed).toBe(true);
    // The packaged RollBack put the last good version back, and the packaged Notify said why.
    const push = outcome.pushes[0];
    expect(push?.updatesApplied.length).toBe(2);
    expect(push?.finalVersion).not.toBe(push?.updatesApplied[0]);
    expect(push?.alerts.map((a) => a.subject ?? '').join('\n')).toMatch(/rolled back/i);
  });

  it('deploy a push whose ECR event was lost: the packaged Reconcile, on its schedule, starts it', {
    timeout: 180_000,
  }, async () => {
    const before = ruleCalls.reconcile;
    const { outcome } = await runPackaged('lost-push');

    expect(outcome.scheduledRuns).toBeGreaterThan(1);
    expect(ruleCalls.reconcile - before).toBe(outcome.scheduledRuns);
    expect(outcome.pushes.map((p) => p.status)).toEqual(['SUCCEEDED']);
    expect(outcome.passed).toBe(true);
  });

  // The retries that keep these safe are the bundled SDK's and the state machine's, not the sources':
  // a lost reply after EB took the update (the SDK resends into "Must be Ready"), and EB throttling.
  it('watch the update they started when the UpdateEnvironment reply is lost, and ride out EB throttling', {
    timeout: 180_000,
  }, async () => {
    const lost = await runPackaged('update-reply-lost');
    expect(lost.outcome.pushes.map((p) => p.status)).toEqual(['SUCCEEDED']);
    expect(lost.outcome.pushes[0]?.faults.length).toBeGreaterThan(0);
    expect(lost.outcome.pushes[0]?.updatesApplied).toHaveLength(1);
    expect(lost.outcome.passed).toBe(true);

    const throttled = await runPackaged('throttling-storm');
    expect(throttled.outcome.throttled).toBeGreaterThan(0);
    expect(throttled.outcome.pushes.map((p) => p.status)).toEqual(['SUCCEEDED']);
    expect(throttled.outcome.passed).toBe(true);
  });
});
