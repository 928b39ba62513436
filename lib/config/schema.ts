import * as z from 'zod';

/**
 * The shape of `ebship.yml`: one file of targets. Every field a platform engineer writes is
 * described here once; the Lambdas, the CLI, the stand-in and serverless.yml all read it
 * through `loadConfig`, so a mistake is reported the same way everywhere.
 */

// EB environment and application names: 4-40 characters for environments, letters, digits and hyphens.
// https://docs.aws.amazon.com/elasticbeanstalk/latest/api/API_CreateEnvironment.html
const environmentName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9-]{2,38}[A-Za-z0-9]$/,
    'must be 4-40 letters, digits or hyphens, not starting or ending with a hyphen',
  );
const applicationName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[^/]+$/, 'must not contain "/"');
// ECR repository names: lowercase, may have namespaces separated by "/".
const repositoryName = z
  .string()
  .regex(
    /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/,
    'must be an ECR repository name such as "antenna-backend"',
  );
/**
 * Valid names that a JavaScript object key cannot carry: the steps pass variables and secrets on in
 * objects, and a record schema drops these keys without a word (zod here, valibot in the Lambdas).
 */
const RESERVED_KEYS = ['__proto__', 'constructor', 'prototype'];
const RESERVED_MESSAGE = `is a name ebship cannot pass between its steps (${RESERVED_KEYS.join(', ')}): rename it`;
const envVarName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a valid environment variable name')
  .refine((name) => !RESERVED_KEYS.includes(name), RESERVED_MESSAGE);
/** Environment variables by name; `__proto__`, which the record would drop first, is refused too. */
function envRecord<T extends z.ZodType>(value: T) {
  return z.preprocess(
    (raw, ctx) => {
      if (raw !== null && typeof raw === 'object' && Object.hasOwn(raw, '__proto__'))
        ctx.addIssue({ code: 'custom', message: RESERVED_MESSAGE, path: ['__proto__'], input: raw });
      return raw;
    },
    z.record(envVarName, value),
  );
}
const secretId = z
  .string()
  .min(1)
  .max(2048)
  .regex(/^[A-Za-z0-9/_+=.@:-]+$/, 'must be a Secrets Manager secret name or ARN');

/** What a secret value (or one key of a JSON secret) must look like. */
export const valueFormat = z.enum(['database-url', 'redis-url', 'url', 'non-empty']);
export type ValueFormat = z.infer<typeof valueFormat>;

const secretKey = z
  .object({
    optional: z.boolean().default(false),
    format: valueFormat.default('non-empty'),
  })
  .strict();

const secret = z
  .object({
    /** Secrets Manager name or full ARN. The bundle references it by ARN, never by value. */
    secretId,
    /** Format of the whole value, for plain-string secrets. */
    format: valueFormat.default('non-empty'),
    /** For JSON secrets: the keys the app needs. */
    keys: z.record(z.string().min(1), secretKey).default({}),
  })
  .strict();

const portMapping = z
  .object({
    hostPort: z.number().int().min(1).max(65535),
    containerPort: z.number().int().min(1).max(65535),
  })
  .strict();

/** An argv element: any text but NUL, which ends a C string and would split the argument in two. */
const argument = z.string().refine((a) => !a.includes('\0'), 'must not contain a NUL character');

export { PUSHED_IMAGE } from './placeholder.js';

const container = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$/, 'must be letters, digits, hyphens or underscores'),
    /** `{{image}}` for the pushed image, or a pinned image (`repo@sha256:...` recommended). */
    image: z.string().min(1),
    essential: z.boolean().default(true),
    /** MiB; Dockerrun v2 requires memory or memoryReservation on each container. */
    memory: z.number().int().min(4).optional(),
    memoryReservation: z.number().int().min(4).optional(),
    command: z.array(argument).optional(),
    entryPoint: z.array(argument).optional(),
    portMappings: z.array(portMapping).default([]),
    links: z.array(z.string()).default([]),
    dependsOn: z.array(z.string()).default([]),
    environment: envRecord(z.string()).default({}),
  })
  .strict();

/**
 * A CloudWatch alarm name: 1-255 characters (PutMetricAlarm API reference, AlarmName), no ASCII
 * control characters.
 */
const alarmName = z
  .string()
  .min(1)
  .max(255)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  .refine((n) => !/[\u0000-\u001f\u007f]/.test(n), 'an alarm name has no control characters')
  // The health watch keeps each alarm's state before the deploy in an object keyed by its name.
  .refine((n) => !RESERVED_KEYS.includes(n), RESERVED_MESSAGE);

const healthPolicy = z
  .object({
    /** Path EB's load balancer or health agent checks. */
    path: z.string().startsWith('/', 'must start with "/"').default('/'),
    /** Colours that count as healthy. Green always; Yellow only when listed. */
    allowedColors: z
      .array(z.enum(['Green', 'Yellow']))
      .min(1)
      .default(['Green']),
    /**
     * Seconds an allowed colour must hold, once every instance runs the new version. 300 by default:
     * long enough to see a release that fails its health check from the start on an environment
     * with no traffic, under EB's default health checks. The load balancer calls a target unhealthy
     * after UnhealthyThresholdCount (5) failed checks, HealthCheckInterval apart: 75 s with an
     * application or classic load balancer, 150 s with a network one (EB developer guide, "General
     * options for all environments", aws:elasticbeanstalk:environment:process:default); enhanced
     * health then reports it only once it persists across several 10 s checks ("Enhanced health
     * events"), and with every EB event lost the watch reads it within one fallback interval (60 s).
     * EB itself calls an instance healthy after 12 consecutive checks over two minutes.
     */
    bakeSeconds: z.number().int().min(0).max(3600).default(300),
    /** Seconds Grey / Unknown / NoData is tolerated after the environment is Ready again. */
    graceSeconds: z.number().int().min(0).max(3600).default(120),
    /** Seconds from UpdateEnvironment to a verdict; past it the update is aborted and rolled back. */
    timeoutSeconds: z.number().int().min(60).max(7200).default(1200),
    /** Base seconds between health polls (jittered by +-20% so parallel deploys do not throttle). */
    pollSeconds: z.number().int().min(5).max(300).default(15),
    /**
     * CloudWatch alarms (names, in the stack's region) watched from the update until the bake ends:
     * one that goes to ALARM after the update started rolls back; one already in ALARM before it is
     * reported, never blamed. At most 100: one DescribeAlarms call reads them (AlarmNames, max 100).
     */
    alarms: z
      .array(alarmName)
      .max(
        100,
        'at most 100 alarms: ebship reads them in one DescribeAlarms call (AlarmNames takes up to 100)',
      )
      .refine((names) => new Set(names).size === names.length, 'lists an alarm twice')
      .default([]),
    /**
     * Early abort: while EB is Updating, instances already on the new version that stay Degraded or
     * Severe this long make ebship abort the update and roll back, without waiting for EB's command
     * timeout (600 s by default). 0 turns it off.
     */
    abortAfterSeconds: z
      .number()
      .int()
      .max(3600)
      .refine((s) => s === 0 || s >= 30, 'must be 0 (off) or at least 30: one bad reading is not a verdict')
      .default(180),
    /**
     * How the watch wakes between reads (issue 13). `events`: on EB's own EventBridge events for the
     * environment, with a fallback read every `fallbackSeconds` if none comes (events are best
     * effort). `poll`: every `pollSeconds`, as before. Either way a verdict comes only from a read.
     * Absent: `events` (lib/health/wake-interval.ts).
     */
    watch: z.enum(['events', 'poll']).optional(),
    /**
     * Event-driven watch: the longest wait without an event before reading anyway (the fallback
     * poll). Absent: 60.
     */
    fallbackSeconds: z.number().int().min(10).max(300).optional(),
  })
  .strict();

const migrationCheck = z
  .object({
    /** The container (Dockerrun name or compose service) to run the check in. From config, never from events. */
    container: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'must be a container name: letters, digits, "_" or "-"'),
    /** argv of the check; exit 0 means "no unapplied migrations". */
    command: z.array(argument.min(1)).min(1).default(['python', 'manage.py', 'migrate', '--check']),
    timeoutSeconds: z.number().int().min(30).max(3600).default(300),
  })
  .strict();

// --- Release phase and post-deploy checks (issue 11) ---------------------------------------------

/** A container of this target, by name: the one whose running copy gives the env, or that a check runs in. */
const containerRef = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_-]*$/,
    'must be a container name of this target: letters, digits, "_" or "-"',
  );

/**
 * A one-off run of the NEW image before UpdateEnvironment (Heroku's release phase, Fly's
 * release_command): Django migrations (backwards compatible, the old version keeps serving while they
 * run), collectstatic to S3, a cache warm-up. Runs once, on one healthy instance, through SSM, with
 * the env and secrets of the running `container`. A failure stops the deploy with nothing changed.
 */
const releasePhase = z
  .object({
    /** The app container whose running copy lends its environment and secrets; must run `{{image}}`. */
    container: containerRef,
    /** argv run in a one-off container of the new image; exit 0 lets the deploy go on. */
    command: z.array(argument.min(1)).min(1),
    /** Seconds the command may run (the image pull and ECR login have 5 more minutes of their own). */
    timeoutSeconds: z.number().int().min(30).max(3600).default(600),
    /**
     * No healthy instance, or none runs `container` yet (a first deploy, an environment created with
     * the sample app): `fail` stops the deploy; `skip` deploys without the release phase.
     */
    onEmptyEnvironment: z.enum(['skip', 'fail']).default('fail'),
  })
  .strict();

/** Check names: used in alerts, history and the SSM document name `<stack>-check-<target>-<name>`. */
export const CHECK_NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;

/** A command run in a running container after the health verdict and before success (generalises migrationCheck). */
const postDeployCheck = z
  .object({
    name: z
      .string()
      .regex(
        CHECK_NAME,
        'check names are 1-40 lowercase letters, digits and hyphens, starting with a letter or digit',
      ),
    /** The running container (Dockerrun name or compose service) to run the command in. */
    container: containerRef,
    /** argv; exit 0 means the check passed. Fixed in the target's SSM document, never from an event. */
    command: z.array(argument.min(1)).min(1),
    timeoutSeconds: z.number().int().min(10).max(3600).default(120),
    /** `one` healthy instance of the new version, or `all` of them (per-host things like a Celery worker). */
    on: z.enum(['one', 'all']).default('one'),
    /** `rollback` (default) rolls back on failure; `warn` only reports it in the alert and history. */
    onFailure: z.enum(['rollback', 'warn']).default('rollback'),
  })
  .strict();

// --- end of release phase and checks -----------------------------------------------------------

const tagPattern = z.union([
  z.string().min(1).max(128).describe('glob, e.g. "v*"'),
  // Checked further in load.ts (valid, and no nested unbounded quantifiers that could backtrack forever).
  z.object({ regex: z.string().min(1).max(200) }).strict(),
]);

/** A directory inside the repository, relative to ebship.yml. Symlinks out are refused when it is read. */
const includePath = z
  .string()
  .min(1)
  .refine((p) => !p.includes('\0') && !p.includes('\\'), 'must be a relative path with "/" separators')
  .refine((p) => !p.startsWith('/') && !/^[A-Za-z]:/.test(p), 'must be relative to ebship.yml, not absolute')
  .refine((p) => !p.split('/').includes('..'), 'must stay inside the repository: no ".." segments');

/** The deploy outcomes a target may choose to be alerted on (`alerts.notifyOn`). */
export const NOTIFY_OUTCOMES = [
  'SUCCEEDED',
  'ROLLED_BACK',
  'FAILED_BEFORE_DEPLOY',
  'ROLLBACK_FAILED',
  'OVERRIDDEN',
  'NOT_APPROVED',
] as const;
const notifyOutcome = z.enum(NOTIFY_OUTCOMES);

/**
 * Promotion (issue 14): this target deploys only digests that succeeded on `from`, and each success
 * there starts a deploy of the same digest here, in its own execution and under its own lock.
 */
const promotion = z
  .object({
    /** The target whose successful deploys feed this one (`staging` for `prod`). */
    from: z.string().min(1),
    /** `manual`: the promoted execution waits for `ebship approve` / `ebship reject`. */
    approval: z.enum(['none', 'manual']).default('none'),
    /** How long a manual approval may wait before the promotion ends as not approved. */
    timeoutSeconds: z
      .number()
      .int()
      .min(60)
      .max(
        10_800,
        'at most 10800 (3 hours): the approval wait and the deploy share one execution of at most 6 hours (state machine TimeoutSeconds)',
      )
      .default(3600),
  })
  .strict();

const target = z
  .object({
    application: applicationName,
    environment: environmentName,
    /** `ecs` → Dockerrun.aws.json v2 (ECS platform); `docker` → docker-compose.yml (Docker platform). */
    platform: z.enum(['ecs', 'docker']),
    source: z
      .object({
        repository: repositoryName,
        tags: tagPattern.default('*'),
        /** Pushes with these tags are ignored. Untagged pushes are always ignored by push events. */
        ignoreTags: z.array(z.string()).default(['latest']),
      })
      .strict(),
    containers: z.array(container).min(1),
    /** Plain, non-secret environment variables (EB `aws:elasticbeanstalk:application:environment`). */
    environmentVariables: envRecord(z.string()).default({}),
    /** Env var name → Secrets Manager secret. Injected by EB from the ARN at instance start. */
    secrets: envRecord(secret).default({}),
    /** The URL scheme the app's database driver needs, e.g. `postgresql+psycopg` for psycopg 3. */
    database: z
      .object({ schemes: z.array(z.string().regex(/^[a-z][a-z0-9+.-]*$/)).min(1) })
      .strict()
      .optional(),
    /** Set when ElastiCache encrypts in transit: broker / cache URLs must be `rediss://` with a cert option. */
    cache: z.object({ encryptedInTransit: z.boolean() }).strict().optional(),
    health: healthPolicy.default(healthPolicy.parse({})),
    migrationCheck: migrationCheck.optional(),
    /** Release phase: a one-off run of the new image before the environment changes (issue 11). */
    release: releasePhase.optional(),
    /**
     * Who applies Django migrations when neither a release phase nor the bundle does. `image`: the
     * image's own start command runs `manage.py migrate`, which preflight cannot see; saying so here
     * turns the `migrate-missing` error off for this target (a migration check then confirms it).
     */
    migrations: z
      .object({
        appliedBy: z.literal('image', {
          error:
            "the only value is `image` (the image's start command migrates); a release phase or container_commands are found without it",
        }),
      })
      .strict()
      .optional(),
    /** Deploy here only what succeeded on another target, promoted after it (issue 14). */
    promote: promotion.optional(),
    /** Post-deploy checks, after the health verdict and before success. At most 10. */
    checks: z.array(postDeployCheck).max(10).default([]),
    /**
     * A directory (relative to ebship.yml) of your own `.ebextensions/`, `.platform/` and `Procfile`
     * files, added to every bundle and checked by preflight. Packaged with the Lambdas.
     */
    include: includePath.optional(),
    /** SNS topic ARN for this target's alerts; defaults to the topic ebship deploys. */
    alertTopicArn: z.string().startsWith('arn:').optional(),
    /**
     * Which deploy outcomes alert on-call (default: all). ROLLBACK_FAILED, and executions stopped or
     * timed out from outside, alert whatever this says: a person must act on them.
     */
    alerts: z
      .object({
        notifyOn: z
          .array(notifyOutcome)
          .min(1)
          .default([...NOTIFY_OUTCOMES]),
      })
      .strict()
      .default({ notifyOn: [...NOTIFY_OUTCOMES] }),
  })
  .strict();

export const configSchema = z
  .object({
    version: z.literal(1),
    targets: z.record(
      z
        .string()
        .regex(
          /^[a-z0-9][a-z0-9-]{0,62}$/,
          'target names are 1-63 lowercase letters, digits and hyphens, starting with a letter or digit',
        ),
      target,
    ),
  })
  .strict();

export type EbshipConfig = z.infer<typeof configSchema>;
export type Target = z.infer<typeof target>;
export type Container = z.infer<typeof container>;
export type HealthPolicy = z.infer<typeof healthPolicy>;
export type SecretSpec = z.infer<typeof secret>;
export type MigrationCheck = z.infer<typeof migrationCheck>;
export type ReleasePhase = z.infer<typeof releasePhase>;
export type PostDeployCheck = z.infer<typeof postDeployCheck>;
export type Promotion = z.infer<typeof promotion>;
export type TagPattern = z.infer<typeof tagPattern>;
