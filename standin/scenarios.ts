import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import * as z from 'zod';
import { faultSchema } from './faults.js';

/**
 * Scenarios are data: what the world looks like and what the environment does after each update.
 * No handler knows which scenario runs; only the stand-in's answers differ.
 */
export const SCENARIO_DIR = fileURLToPath(new URL('./scenarios/', import.meta.url));

const color = z.enum(['Green', 'Yellow', 'Red', 'Grey']);
const healthStep = z
  .object({
    afterSeconds: z.number().min(0),
    color,
    healthStatus: z.string().optional(),
    causes: z.array(z.string()).optional(),
  })
  .strict();
const updateBehaviour = z
  .object({
    durationSeconds: z.number().min(0),
    result: z.enum(['deployed', 'reverted', 'stuck', 'partial', 'crash-loop']),
    health: z.array(healthStep).default([]),
  })
  .strict();

export const scenarioSchema = z
  .object({
    description: z.string(),
    /** The ebship.yml target to provision and deploy. */
    target: z.string().default('antenna-prod'),
    /** Pushes to simulate in order, each with the execution status ebship must end in. */
    pushes: z.array(z.object({ tag: z.string(), expect: z.enum(['SUCCEEDED', 'FAILED']) }).strict()).min(1),
    environment: z
      .object({
        instances: z.number().int().min(1).max(20).default(1),
        /**
         * The environment streams its instance logs to CloudWatch Logs (option
         * aws:elasticbeanstalk:cloudwatch:logs StreamLogs=true): the alert's tail comes from there.
         */
        streamLogs: z.boolean().default(false),
        /** One entry per UpdateEnvironment (deploys and rollbacks); the last repeats. */
        onUpdate: z.array(updateBehaviour).min(1),
      })
      .strict(),
    /** Per secret id: how it differs from a valid secret. */
    secrets: z
      .record(
        z.string(),
        z
          .object({
            missing: z.boolean().optional(),
            value: z.string().optional(),
            deleted: z.boolean().optional(),
            accessDenied: z.boolean().optional(),
          })
          .strict(),
      )
      .default({}),
    migrationCheck: z
      .object({
        exitCode: z.number().int().default(0),
        stdout: z.string().default('No changes detected\n'),
        stderr: z.string().default(''),
        durationSeconds: z.number().min(0).default(20),
        notFoundCalls: z.number().int().min(0).default(1),
      })
      .strict()
      .default({
        exitCode: 0,
        stdout: 'No changes detected\n',
        stderr: '',
        durationSeconds: 20,
        notFoundCalls: 1,
      }),
    /**
     * The environment's database (standin/database-schema.ts): migrations applied now, and those each
     * image tag declares. With it, `migrate` and `migrate --check` act on the schema instead of
     * answering with `migrationCheck`.
     */
    database: z
      .object({
        applied: z.array(z.string()).default([]),
        images: z.record(z.string(), z.array(z.string())).default({}),
      })
      .strict()
      .optional(),
    /** Another ebship.yml for this scenario (a file in standin/scenarios/), e.g. a target without a release phase. */
    config: z
      .string()
      .regex(/^[a-z0-9-]+\.ebship\.yml$/, 'a file name in standin/scenarios/ ending in .ebship.yml')
      .optional(),
    /**
     * Simulated-time scale for this scenario. The SDK backs off throttled calls in real time, so a
     * scenario about throttling runs slower for those waits to stay realistic in simulated time.
     */
    scale: z.number().positive().optional(),
    /**
     * Scheduled rules of infra/events.yml (the reconciler) run on the simulated clock
     * (standin/scheduler.ts), having run once before the first push. Off unless asked for: their
     * calls would meet other scenarios' faults (counted per call) and change their call counts.
     */
    scheduledRules: z.boolean().default(false),
    /**
     * After the pushes: someone deploys by hand (UpdateEnvironment, as the console does) the version
     * provisioned as known-good, then simulated time runs on; the alerts published meanwhile must
     * include `expectAlerts` (outcomes), each exactly once.
     */
    afterPushes: z
      .object({
        consoleDeploy: z.literal('known-good').optional(),
        waitSeconds: z.number().min(0).default(900),
        expectAlerts: z.array(z.string()).default([]),
      })
      .strict()
      .optional(),
    /**
     * CloudWatch alarms (standin/services/cloudwatch.ts) set with SetAlarmState: before the deploy
     * (no `afterUpdateSeconds`), or that many simulated seconds after the environment's first update
     * started. Alarms the target lists in health.alarms exist and are OK otherwise.
     */
    alarms: z
      .array(
        z
          .object({
            name: z.string().min(1),
            state: z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']),
            reason: z.string().default('set by the scenario'),
            afterUpdateSeconds: z.number().min(0).optional(),
          })
          .strict(),
      )
      .default([]),
    /**
     * Promotion (issue 14): `target` promotes to `to` (its ebship.yml says `promote: { from: target }`),
     * provisioned too. After each push, the promoted execution is followed to its end; when it waits
     * for approval, the script answers with `ebship approve` / `ebship reject`, the way a person would.
     */
    promotion: z
      .object({
        to: z.string(),
        expect: z.enum(['SUCCEEDED', 'FAILED', 'NONE']),
        answer: z.enum(['approve', 'reject', 'none']).default('approve'),
      })
      .strict()
      .optional(),
    /** Faults to inject (schema in faults.ts), armed once the world is provisioned. */
    faults: z.array(faultSchema).default([]),
    eb: z
      .object({
        throttleRate: z.number().positive().optional(),
        throttleBurst: z.number().int().positive().optional(),
        versionQuota: z.number().int().positive().optional(),
      })
      .strict()
      .default({}),
  })
  .strict();

export type Scenario = z.infer<typeof scenarioSchema> & { name: string };

export function scenarioNames(dir = SCENARIO_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yml') && !f.endsWith('.ebship.yml'))
    .map((f) => basename(f, '.yml'))
    .sort();
}

export function loadScenario(name: string, dir = SCENARIO_DIR): Scenario {
  if (!scenarioNames(dir).includes(name)) {
    throw new Error(`unknown scenario "${name}"; known scenarios: ${scenarioNames(dir).join(', ')}`);
  }
  const parsed = scenarioSchema.safeParse(parse(readFileSync(join(dir, `${name}.yml`), 'utf8')));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`scenario ${name} is invalid: ${problems}`);
  }
  return { ...parsed.data, name };
}

/** The ebship.yml a scenario runs with: its own file in standin/scenarios/, or `fallback`. */
export function scenarioConfigPath(
  scenario: Pick<Scenario, 'config'>,
  fallback: string,
  dir = SCENARIO_DIR,
): string {
  return scenario.config ? join(dir, scenario.config) : fallback;
}
