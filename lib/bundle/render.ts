import { stringify } from 'yaml';
import { PUSHED_IMAGE } from '../config/placeholder.js';
import type { Container, Target } from '../config/schema.js';
import { BundleInvalid } from './errors.js';
import { assertBundlePath, comparePaths, isIncludablePath } from './paths.js';

export interface BundleInput {
  target: Target;
  /** `<registry>/<repo>@sha256:...`: replaces `{{image}}` in container images. */
  imageUri: string;
  versionLabel: string;
  /** Env var name → Secrets Manager (or SSM parameter) ARN. Never a value. */
  secretArns: Record<string, string>;
  /** The user's `.ebextensions/**`, `.platform/**` and `Procfile`, path in bundle → content. */
  includeFiles?: Record<string, string>;
}

export const DOCKERRUN_PATH = 'Dockerrun.aws.json';
export const COMPOSE_PATH = 'docker-compose.yml';
export const EBEXTENSION_PATH = '.ebextensions/00-ebship.config';
/** Set on every environment so an instance, a log line or a support bundle says which version it runs. */
export const VERSION_LABEL_VAR = 'EBSHIP_VERSION_LABEL';
/**
 * Days CloudWatch keeps streamed instance logs. One of EB's allowed values (1, 3, 5, 7, 14, 30, ...);
 * 30 covers a month of "when did this start?" without keeping logs forever.
 */
export const LOG_RETENTION_DAYS = 30;

const NS_ENV = 'aws:elasticbeanstalk:application:environment';
const NS_SECRETS = 'aws:elasticbeanstalk:application:environmentsecrets';
const NS_APPLICATION = 'aws:elasticbeanstalk:application';
const NS_PROCESS = 'aws:elasticbeanstalk:environment:process:default';
const NS_HEALTH = 'aws:elasticbeanstalk:healthreporting:system';
const NS_LOGS = 'aws:elasticbeanstalk:cloudwatch:logs';

// EB accepts Secrets Manager secret ARNs and SSM parameter ARNs in the environmentsecrets namespace.
const SECRET_ARN = /^arn:aws[a-z-]*:(secretsmanager|ssm):[a-z0-9-]+:\d{12}:(secret:|parameter\/)\S+$/;

/**
 * Renders the files of an EB source bundle for one release. Pure: the same input gives the same
 * files, byte for byte, so the bundle's sha256 identifies what was deployed.
 */
export function renderBundle(input: BundleInput): Record<string, string> {
  const { target } = input;
  const generated: Record<string, string> =
    target.platform === 'ecs'
      ? { [DOCKERRUN_PATH]: renderDockerrun(target.containers, input.imageUri) }
      : { [COMPOSE_PATH]: renderCompose(target.containers, input.imageUri) };
  generated[EBEXTENSION_PATH] = renderEbextension(input);

  const files: Record<string, string> = { ...generated };
  for (const [path, content] of Object.entries(input.includeFiles ?? {})) {
    assertBundlePath(path, 'include file');
    if (!isIncludablePath(path)) {
      throw new BundleInvalid(
        `include file "${path}" is not under .ebextensions/ or .platform/ and is not Procfile; ebship only adds those to the bundle`,
      );
    }
    if (path in generated) {
      throw new BundleInvalid(
        `include file "${path}" would replace the file ebship generates there; rename your file (for example .ebextensions/50-app.config)`,
      );
    }
    files[path] = content;
  }
  return sortedRecord(files);
}

/** The container's image with `{{image}}` replaced by the pushed image, pinned by digest. */
export function resolveImage(image: string, imageUri: string): string {
  return image.split(PUSHED_IMAGE).join(imageUri);
}

// --- ECS platform: Dockerrun.aws.json v2 -------------------------------------------------------

function renderDockerrun(containers: Container[], imageUri: string): string {
  const dockerrun = {
    AWSEBDockerrunVersion: 2,
    containerDefinitions: containers.map((c) => ecsContainer(c, imageUri)),
  };
  return `${JSON.stringify(dockerrun, null, 2)}\n`;
}

/**
 * One ECS container definition. Target-wide environment variables and secrets are not repeated
 * here: EB passes its environment properties to every container, and a secret written into the
 * Dockerrun would sit in S3 and in the application version for good.
 */
function ecsContainer(c: Container, imageUri: string): Record<string, unknown> {
  const def: Record<string, unknown> = {
    name: c.name,
    image: resolveImage(c.image, imageUri),
    essential: c.essential,
  };
  if (c.memory !== undefined) def.memory = c.memory;
  if (c.memoryReservation !== undefined) def.memoryReservation = c.memoryReservation;
  if (c.entryPoint) def.entryPoint = c.entryPoint;
  if (c.command) def.command = c.command;
  if (c.portMappings.length > 0)
    def.portMappings = c.portMappings.map((p) => ({ hostPort: p.hostPort, containerPort: p.containerPort }));
  if (c.links.length > 0) def.links = c.links;
  // ECS dependsOn takes a condition; START (the dependency has started) is what compose's
  // depends_on means too, and the only one that does not need a container health check.
  if (c.dependsOn.length > 0)
    def.dependsOn = c.dependsOn.map((name) => ({ containerName: name, condition: 'START' }));
  const env = sortedEntries(c.environment);
  if (env.length > 0) def.environment = env.map(([name, value]) => ({ name, value }));
  return def;
}

// --- Docker platform: docker-compose.yml --------------------------------------------------------

function renderCompose(containers: Container[], imageUri: string): string {
  const services: Record<string, unknown> = {};
  for (const c of containers) services[c.name] = composeService(c, imageUri);
  return yamlText({ services }, [
    'Generated by ebship. EB runs `docker compose up` with this file.',
    'env_file: .env: on the Docker platform EB writes the environment properties (and the values',
    'of environmentsecrets) to .env beside this file; without env_file they never reach the',
    'containers. ebship always sets EBSHIP_VERSION_LABEL, so .env always exists.',
  ]);
}

function composeService(c: Container, imageUri: string): Record<string, unknown> {
  const svc: Record<string, unknown> = { image: resolveImage(c.image, imageUri) };
  if (c.entryPoint) svc.entrypoint = c.entryPoint.map(escapeCompose);
  if (c.command) svc.command = c.command.map(escapeCompose);
  // Quoted "host:container": unquoted, YAML 1.1 parsers read 80:8000-like values as base-60 numbers.
  if (c.portMappings.length > 0) svc.ports = c.portMappings.map((p) => `${p.hostPort}:${p.containerPort}`);
  if (c.links.length > 0) svc.links = c.links;
  if (c.dependsOn.length > 0) svc.depends_on = c.dependsOn;
  const env = sortedEntries(c.environment);
  if (env.length > 0) svc.environment = Object.fromEntries(env.map(([k, v]) => [k, escapeCompose(v)]));
  svc.env_file = ['.env'];
  if (c.memory !== undefined) svc.mem_limit = `${c.memory}m`;
  if (c.memoryReservation !== undefined) svc.mem_reservation = `${c.memoryReservation}m`;
  svc.restart = 'unless-stopped';
  // EB collects container stdout/stderr with `docker compose logs`, which needs a driver that keeps
  // logs locally (json-file); from there they are streamed to CloudWatch with StreamLogs. Rotation
  // keeps a chatty container from filling the instance's disk.
  svc.logging = { driver: 'json-file', options: { 'max-size': '10m', 'max-file': '5' } };
  return svc;
}

/** Compose interpolates `$VAR` everywhere in the file; `$$` is a literal dollar. */
function escapeCompose(value: string): string {
  // A function replacer: in a replacement string "$$" itself means a single "$".
  return value.replaceAll('$', () => '$$');
}

// --- .ebextensions/00-ebship.config -------------------------------------------------------------

function renderEbextension(input: BundleInput): string {
  const { target, versionLabel } = input;
  const secretNames = new Set(Object.keys(target.secrets));

  if (VERSION_LABEL_VAR in target.environmentVariables || secretNames.has(VERSION_LABEL_VAR)) {
    throw new BundleInvalid(
      `${VERSION_LABEL_VAR} is set by ebship; remove it from environmentVariables and secrets`,
    );
  }
  const both = Object.keys(target.environmentVariables).filter((k) => secretNames.has(k));
  if (both.length > 0) {
    throw new BundleInvalid(
      `${both.sort().join(', ')} is both a plain environment variable and a secret; keep it in one of environmentVariables or secrets`,
    );
  }
  const missing = [...secretNames].filter((k) => !(k in input.secretArns)).sort();
  if (missing.length > 0) {
    throw new BundleInvalid(
      `no secret ARN for ${missing.join(', ')}; ValidateSecrets must resolve every configured secret before the bundle is built`,
    );
  }
  const extra = Object.keys(input.secretArns)
    .filter((k) => !secretNames.has(k))
    .sort();
  if (extra.length > 0) {
    throw new BundleInvalid(
      `secret ARNs given for ${extra.join(', ')}, which this target does not configure`,
    );
  }
  for (const [name, arn] of Object.entries(input.secretArns)) {
    // A guard against a value reaching the bundle: anything but an ARN is refused, and the text is not echoed.
    if (!SECRET_ARN.test(arn)) {
      throw new BundleInvalid(
        `the reference for ${name} is not a Secrets Manager or SSM parameter ARN; the bundle only ever holds ARNs`,
      );
    }
  }

  const environment = Object.fromEntries(
    sortedEntries({ ...target.environmentVariables, [VERSION_LABEL_VAR]: versionLabel }),
  );
  const options: Record<string, Record<string, string>> = { [NS_ENV]: environment };
  if (secretNames.size > 0) options[NS_SECRETS] = Object.fromEntries(sortedEntries(input.secretArns));
  // Load-balanced environments: a classic load balancer checks `Application Healthcheck URL`, an
  // application or network load balancer checks the default process's HealthCheckPath; EB maps one
  // onto the other, so setting both to the same path is safe. Single-instance environments have no
  // load balancer and ignore both (EB judges them by EC2 status and the enhanced health agent).
  options[NS_APPLICATION] = { 'Application Healthcheck URL': target.health.path };
  options[NS_PROCESS] = { HealthCheckPath: target.health.path };
  options[NS_HEALTH] = { SystemType: 'enhanced' };
  options[NS_LOGS] = {
    StreamLogs: 'true',
    DeleteOnTerminate: 'false',
    RetentionInDays: String(LOG_RETENTION_DAYS),
  };

  return yamlText({ option_settings: options }, [
    `Generated by ebship for version ${versionLabel} of ${target.application}/${target.environment}.`,
    'Do not edit: ebship writes this file again on every deploy. Put your own settings in another',
    '.ebextensions file of your include directory; files later in name order override this one.',
    'Settings applied directly to the environment (console, API, saved configurations) take',
    'precedence over .ebextensions, so a value set there wins over the one below.',
    'aws:elasticbeanstalk:command DeploymentPolicy is deliberately not set: ebship.yml has no',
    "setting for it yet, so the environment keeps the policy it has (EB's default: AllAtOnce).",
    'Secrets are referenced by ARN only; EB fetches the values when an instance starts.',
  ]);
}

// --- helpers ------------------------------------------------------------------------------------

function yamlText(value: unknown, header: string[]): string {
  const body = stringify(value, {
    // Every value double-quoted: EB option values are strings, and "True", "1", "80:8000" or "no"
    // must not turn into booleans or numbers on the way.
    defaultStringType: 'QUOTE_DOUBLE',
    defaultKeyType: 'PLAIN',
    lineWidth: 0,
    sortMapEntries: false,
  });
  // A header line must stay one comment line, whatever a label or name holds.
  const comments = header.map((l) => `# ${l.replace(/[\r\n]+/g, ' ')}`.trimEnd());
  return `${comments.join('\n')}\n${body}`;
}

function sortedEntries(record: Record<string, string>): [string, string][] {
  return Object.entries(record).sort(([a], [b]) => comparePaths(a, b));
}

function sortedRecord(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => comparePaths(a, b)));
}
