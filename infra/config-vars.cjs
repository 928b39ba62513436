'use strict';

/**
 * Reads ebship.yml at package time so the EventBridge rule and every IAM policy are scoped to the
 * configured targets only. Used from serverless.yml as `custom.ebship: ${file(infra/config-vars.cjs)}`.
 *
 * Deliberately independent of lib/: infra never imports runtime code (docs/architecture.md). It
 * checks only what it needs to build ARNs; the full schema is enforced by `ebship validate`, run
 * below at package time (the Lambdas embed its result), and by the CLI.
 *
 * ARNs that need the account or region are returned as `Fn::Sub` objects: CloudFormation fills in
 * `${AWS::...}`, and the Serverless variable resolver leaves those placeholders alone (they have no
 * Serverless source prefix).
 */

const { spawnSync } = require('node:child_process');
const { readdirSync, readFileSync, realpathSync, statSync } = require('node:fs');
const { isAbsolute, join, relative, resolve, sep } = require('node:path');
const { parse } = require('yaml');
const { migrationCheckScript } = require('./migration-check-script.cjs');
const {
  releaseScript,
  RELEASE_DIGEST_PATTERN,
  RELEASE_REGION_TOKEN,
  RELEASE_REGISTRY_TOKEN,
} = require('./release-script.cjs');

// The same file the Lambdas read at cold start (EBSHIP_CONFIG=ebship.yml, packaged at the zip root).
const CONFIG_FILE = resolve(__dirname, '..', 'ebship.yml');
// What lib/config/schema.ts defaults a migration check to.
const DEFAULT_CHECK_COMMAND = ['python', 'manage.py', 'migrate', '--check'];
const DEFAULT_CHECK_TIMEOUT = 300;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:/;
const SNS_ARN = /^arn:aws[a-z-]*:sns:/;

/** `arn:${AWS::Partition}:<service>:${AWS::Region}:${AWS::AccountId}:<resource>` for CloudFormation. */
function localArn(service, resource) {
  return { 'Fn::Sub': `arn:\${AWS::Partition}:${service}:\${AWS::Region}:\${AWS::AccountId}:${resource}` };
}

function unique(values) {
  return [...new Set(values)].sort();
}

function fail(file, message) {
  throw new Error(`${file}: ${message}`);
}

function requireString(file, value, path) {
  if (typeof value !== 'string' || value.length === 0) fail(file, `${path} must be a non-empty string`);
  return value;
}

/**
 * Secrets Manager appends "-" and 6 random characters to a secret's name in its ARN, so a name
 * becomes `secret:NAME-??????` (exactly six, not `*`, so `db` does not also match `db-admin-XXXXXX`).
 * https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_examples.html
 */
function secretArn(secretId) {
  return SECRET_ARN.test(secretId) ? secretId : localArn('secretsmanager', `secret:${secretId}-??????`);
}

/**
 * The include directory of a target, checked: relative, without "..", and (once symlinks are
 * resolved) inside the directory of ebship.yml. `root` is that directory.
 */
function includeDir(file, root, include, at) {
  if (isAbsolute(include) || /^[A-Za-z]:/.test(include) || include.startsWith('/')) {
    fail(
      file,
      `${at}.include "${include}" is absolute; give a directory relative to ebship.yml, inside the repository`,
    );
  }
  if (include.split(/[\\/]/).includes('..')) {
    fail(
      file,
      `${at}.include "${include}" climbs out with ".."; give a directory relative to ebship.yml, inside the repository`,
    );
  }
  let real;
  try {
    real = realpathSync(resolve(root, include));
  } catch (err) {
    fail(
      file,
      `${at}.include "${include}" cannot be read (${err.code ?? 'error'}); create it or fix the path`,
    );
  }
  const rel = relative(realpathSync(root), real);
  if (rel.split(sep).includes('..') || isAbsolute(rel)) {
    fail(
      file,
      `${at}.include "${include}" resolves to ${real}, outside the repository; ebship only packages files inside it`,
    );
  }
  if (!statSync(real).isDirectory()) fail(file, `${at}.include "${include}" is not a directory`);
  return real;
}

/**
 * The files of an include directory that a bundle carries (`Procfile`, `.ebextensions/**`,
 * `.platform/**`), as paths relative to it: the same walk as lib/bundle/include.ts, which the
 * Lambda runs on what is packaged here. Symlinks inside the directory are followed (a
 * `.platform/confighooks` → `hooks` link is common); one that leads outside it is refused.
 */
function includeFiles(file, dir, include) {
  const out = [];
  const visit = (absolute, path, ancestors) => {
    const real = realpathSync(absolute);
    const rel = relative(dir, real);
    if (rel === '' || rel.split(sep).includes('..') || isAbsolute(rel)) {
      fail(
        file,
        `include path "${path}" in "${include}" resolves outside the include directory (to ${real}); ebship only bundles files inside it`,
      );
    }
    if (statSync(real).isDirectory()) {
      if (ancestors.has(real)) fail(file, `include path "${path}" in "${include}" is a symlink loop`);
      const inner = new Set(ancestors).add(real);
      for (const name of readdirSync(real).sort()) visit(join(absolute, name), `${path}/${name}`, inner);
      return;
    }
    if (path === 'Procfile' || path.startsWith('.ebextensions/') || path.startsWith('.platform/'))
      out.push(path);
  };
  for (const name of readdirSync(dir).sort()) {
    if (name === 'Procfile' || name === '.ebextensions' || name === '.platform')
      visit(join(dir, name), name, new Set([dir]));
  }
  return out;
}

/**
 * A package pattern that matches exactly this path. serverless-esbuild copies patterns with globby
 * without `dot: true`, so `dir/**` silently drops `.ebextensions/` and `.platform/`; a literal path
 * (glob characters escaped) is copied whatever its name.
 */
function literalPattern(path) {
  return path.replace(/[\\*?[\]{}()!+@]/g, (c) => `\\${c}`);
}

/** `antenna-prod` → `AntennaProd`: CloudFormation logical ids are alphanumeric. */
function pascal(name) {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/**
 * One SSM document per target with a migration check: its container and argv are fixed here, so
 * the document takes no parameters and StartMigrationCheck can run nothing else. Named
 * `<stack>-migration-check-<target>`; lib/steps/migration-check.ts builds the same name from
 * MIGRATION_DOCUMENT_NAME (`<stack>-migration-check`).
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/documents-syntax-data-elements-parameters.html
 */
function migrationDocument(file, name, check) {
  const at = `targets.${name}.migrationCheck`;
  if (check === null || typeof check !== 'object') fail(file, `${at} must be a mapping`);
  const container = requireString(file, check.container, `${at}.container`);
  const command = check.command ?? DEFAULT_CHECK_COMMAND;
  const timeout = check.timeoutSeconds ?? DEFAULT_CHECK_TIMEOUT;
  let script;
  try {
    script = migrationCheckScript(container, command);
  } catch (err) {
    fail(file, `${at}: ${err.message}`);
  }
  return {
    Type: 'AWS::SSM::Document',
    Properties: {
      Name: { 'Fn::Sub': `\${AWS::StackName}-migration-check-${name}` },
      DocumentType: 'Command',
      DocumentFormat: 'YAML',
      TargetType: '/AWS::EC2::Instance',
      // A named document cannot be replaced in place; NewVersion updates it and makes it the default.
      UpdateMethod: 'NewVersion',
      Content: {
        schemaVersion: '2.2',
        description: `ebship: the migration check of target ${name}, run in its "${container}" container (from ebship.yml).`,
        mainSteps: [
          {
            action: 'aws:runShellScript',
            name: 'runMigrationCheck',
            inputs: { timeoutSeconds: String(timeout), runCommand: [script] },
          },
        ],
      },
    },
  };
}

/** An SSM Command document running one shell script (aws:runShellScript) for `timeout` seconds. */
function commandDocument(nameSuffix, description, stepName, timeout, script, parameters) {
  return {
    Type: 'AWS::SSM::Document',
    Properties: {
      Name: { 'Fn::Sub': `\${AWS::StackName}-${nameSuffix}` },
      DocumentType: 'Command',
      DocumentFormat: 'YAML',
      TargetType: '/AWS::EC2::Instance',
      UpdateMethod: 'NewVersion',
      Content: {
        schemaVersion: '2.2',
        description,
        ...(parameters ? { parameters } : {}),
        mainSteps: [
          {
            action: 'aws:runShellScript',
            name: stepName,
            inputs: { timeoutSeconds: String(timeout), runCommand: [script] },
          },
        ],
      },
    },
  };
}

/** What lib/config/schema.ts defaults the release phase and the checks to. */
const DEFAULT_RELEASE_TIMEOUT = 600;
/** The release document's own step timeout adds the ECR login and pull (lib/config/limits.ts RELEASE_PULL_SECONDS). */
const RELEASE_PULL_SECONDS = 300;
const DEFAULT_POST_CHECK_TIMEOUT = 120;

/**
 * The release-phase document of a target, `<stack>-release-<target>`: the container, repository and
 * argv are fixed in the script (infra/release-script.cjs); its one parameter is the new image's
 * digest, which SSM refuses unless it matches `^sha256:[a-f0-9]{64}$`. The registry is this stack's
 * account and region (the ECR push rule only sees this account's pushes), joined in by CloudFormation.
 */
function releaseDocument(file, name, target) {
  const at = `targets.${name}.release`;
  const release = target.release;
  if (release === null || typeof release !== 'object') fail(file, `${at} must be a mapping`);
  const timeout = release.timeoutSeconds ?? DEFAULT_RELEASE_TIMEOUT;
  let script;
  try {
    script = releaseScript({
      container: requireString(file, release.container, `${at}.container`),
      repository: requireString(file, target.source?.repository, `targets.${name}.source.repository`),
      argv: release.command,
      timeoutSeconds: timeout,
    });
  } catch (err) {
    fail(file, `${at}: ${err.message}`);
  }
  const [beforeRegistry, rest] = script.split(RELEASE_REGISTRY_TOKEN);
  const [beforeRegion, afterRegion] = rest.split(RELEASE_REGION_TOKEN);
  const joined = {
    'Fn::Join': [
      '',
      [
        beforeRegistry,
        { Ref: 'AWS::AccountId' },
        '.dkr.ecr.',
        { Ref: 'AWS::Region' },
        '.',
        { Ref: 'AWS::URLSuffix' },
        beforeRegion,
        { Ref: 'AWS::Region' },
        afterRegion,
      ],
    ],
  };
  return commandDocument(
    `release-${name}`,
    `ebship: the release phase of target ${name}: a one-off container of the new image with the environment of "${release.container}" (from ebship.yml).`,
    'runReleasePhase',
    timeout + RELEASE_PULL_SECONDS,
    joined,
    {
      imageDigest: {
        type: 'String',
        description: 'The new image digest (sha256:<64 hex>).',
        allowedPattern: RELEASE_DIGEST_PATTERN,
      },
    },
  );
}

/** One post-deploy check's document, `<stack>-check-<target>-<check>`: the migration check's script, another argv. */
function checkDocument(file, name, check, i) {
  const at = `targets.${name}.checks.${i}`;
  if (check === null || typeof check !== 'object') fail(file, `${at} must be a mapping`);
  const checkName = requireString(file, check.name, `${at}.name`);
  const container = requireString(file, check.container, `${at}.container`);
  let script;
  try {
    script = migrationCheckScript(container, check.command);
  } catch (err) {
    fail(file, `${at}: ${err.message.replace('migration check', 'check')}`);
  }
  return {
    checkName,
    resource: commandDocument(
      `check-${name}-${checkName}`,
      `ebship: post-deploy check "${checkName}" of target ${name}, run in its "${container}" container (from ebship.yml).`,
      'runCheck',
      check.timeoutSeconds ?? DEFAULT_POST_CHECK_TIMEOUT,
      script,
    ),
  };
}

/**
 * What the ECR rule may filter on `image-tag` for one target, in EventBridge's content filters, or
 * undefined when its pattern cannot be expressed (a regex, or a glob with `?`, `[...]`, `{a,b}`...):
 * those pushes reach ResolveRelease, which ends them Ignored.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
 */
function tagFilter(source) {
  const tags = source?.tags ?? '*';
  const ignored = source?.ignoreTags ?? ['latest'];
  if (typeof tags !== 'string') return undefined;
  if (tags === '*' || tags === '**')
    return ignored.length > 0 ? { 'anything-but': [...ignored].sort() } : { exists: true };
  // ECR tags are [A-Za-z0-9_.-]; `*` is the only glob character EventBridge's wildcard knows.
  if (!/^[A-Za-z0-9_.*-]+$/.test(tags) || tags.includes('**')) return undefined;
  if (!tags.includes('*')) return tags;
  if (tags.indexOf('*') === tags.length - 1) return { prefix: tags.slice(0, -1) };
  return { wildcard: tags };
}

/**
 * The rule's `image-tag` filter: any target's filter matches. A superset of what the targets
 * deploy (ignoreTags and repositories are not paired with each pattern), so it never drops a push
 * a target would take; when one target's pattern cannot be expressed, every tagged push passes.
 * Untagged pushes never do: ResolveRelease ignores them anyway.
 */
function imageTagFilters(targets) {
  const filters = Object.values(targets).map((t) => tagFilter(t?.source));
  if (filters.some((f) => f === undefined)) return [{ exists: true }];
  const seen = new Map(filters.map((f) => [JSON.stringify(f), f]));
  return [...seen.keys()].sort().map((k) => seen.get(k));
}

/** Parses the text of an ebship.yml into the lists serverless.yml needs. `root`: its directory. */
function configVars(text, file = 'ebship.yml', root = resolve(__dirname, '..')) {
  const doc = parse(text);
  if (doc === null || typeof doc !== 'object') fail(file, 'is empty or not a mapping');
  const targets = doc.targets;
  if (targets === null || typeof targets !== 'object' || Object.keys(targets).length === 0) {
    fail(file, 'has no targets: ebship needs at least one to deploy');
  }

  const repositories = [];
  const applications = [];
  const environments = [];
  const secretIds = [];
  const alertTopicArns = [];
  const includePatterns = [];
  const migrationResources = {};
  const migrationDocumentNames = [];
  // Release-phase and post-deploy check documents (issue 11), and their name suffixes.
  const releaseResources = {};
  const releaseDocumentNames = [];
  const checkDocumentNames = [];
  // CloudWatch alarms gating deploys (health.alarms, issue 13).
  const alarmNames = [];
  for (const [name, target] of Object.entries(targets)) {
    const at = `targets.${name}`;
    if (target === null || typeof target !== 'object') fail(file, `${at} must be a mapping`);
    const application = requireString(file, target.application, `${at}.application`);
    const environment = requireString(file, target.environment, `${at}.environment`);
    repositories.push(requireString(file, target.source?.repository, `${at}.source.repository`));
    applications.push(application);
    environments.push({ application, environment });
    for (const [envVar, secret] of Object.entries(target.secrets ?? {})) {
      secretIds.push(requireString(file, secret?.secretId, `${at}.secrets.${envVar}.secretId`));
    }
    for (const [i, alarm] of (Array.isArray(target.health?.alarms) ? target.health.alarms : []).entries()) {
      alarmNames.push(requireString(file, alarm, `${at}.health.alarms.${i}`));
    }
    if (target.alertTopicArn !== undefined) {
      const topic = requireString(file, target.alertTopicArn, `${at}.alertTopicArn`);
      if (!SNS_ARN.test(topic)) fail(file, `${at}.alertTopicArn must be an SNS topic ARN`);
      alertTopicArns.push(topic);
    }
    if (target.include !== undefined) {
      const include = requireString(file, target.include, `${at}.include`);
      const dir = includeDir(file, root, include, at);
      const relDir = relative(root, resolve(root, include)).split(sep).join('/');
      for (const path of includeFiles(file, dir, include))
        includePatterns.push(literalPattern(`${relDir}/${path}`));
    }
    if (target.migrationCheck !== undefined) {
      const id = `MigrationCheckDocument${pascal(name)}`;
      if (id in migrationResources)
        fail(file, `targets ${name} and another target both map to ${id}; rename one`);
      migrationResources[id] = migrationDocument(file, name, target.migrationCheck);
      migrationDocumentNames.push(name);
    }
    if (target.release !== undefined) {
      const id = `ReleaseDocument${pascal(name)}`;
      if (id in releaseResources)
        fail(file, `targets ${name} and another target both map to ${id}; rename one`);
      releaseResources[id] = releaseDocument(file, name, target);
      releaseDocumentNames.push(`release-${name}`);
    }
    for (const [i, check] of (Array.isArray(target.checks) ? target.checks : []).entries()) {
      const { checkName, resource } = checkDocument(file, name, check, i);
      const id = `CheckDocument${pascal(name)}${pascal(checkName)}`;
      if (id in releaseResources)
        fail(file, `${id} is generated twice; rename check "${checkName}" of ${name}`);
      releaseResources[id] = resource;
      checkDocumentNames.push(`check-${name}-${checkName}`);
    }
  }

  const applicationArns = unique(applications).map((a) => localArn('elasticbeanstalk', `application/${a}`));
  const applicationVersionArns = unique(applications).map((a) =>
    localArn('elasticbeanstalk', `applicationversion/${a}/*`),
  );
  const envKeys = unique(environments.map((e) => `${e.application}/${e.environment}`));
  const secrets = unique(secretIds);
  return {
    repositories: unique(repositories),
    imageTagFilters: imageTagFilters(targets),
    applications: unique(applications),
    environmentNames: unique(environments.map((e) => e.environment)),
    repositoryArns: unique(repositories).map((r) => localArn('ecr', `repository/${r}`)),
    applicationArns,
    applicationVersionArns,
    // For actions authorized on both an application and its versions (CreateApplicationVersion, DescribeEvents).
    applicationAndVersionArns: [...applicationArns, ...applicationVersionArns],
    environmentArns: envKeys.map((k) => localArn('elasticbeanstalk', `environment/${k}`)),
    // CloudWatch Logs groups EB creates for an environment's instance logs.
    environmentLogGroupArns: unique(environments.map((e) => e.environment)).map((e) =>
      localArn('logs', `log-group:/aws/elasticbeanstalk/${e}/*`),
    ),
    // IAM refuses a statement with an empty Resource list; a name no secret can have keeps the
    // statement valid while granting nothing when no target declares secrets.
    secretArns:
      secrets.length > 0
        ? secrets.map(secretArn)
        : [localArn('secretsmanager', 'secret:ebship-no-secrets-configured-??????')],
    // DescribeAlarms is authorized per alarm ARN (service authorization reference, CloudWatch); metric
    // alarms only: composite alarms come back only with the permission on "*". "${" is literal in
    // Fn::Sub as "${!". A name no alarm has keeps the statement valid when no target lists alarms.
    alarmArns:
      alarmNames.length > 0
        ? unique(alarmNames).map((a) => localArn('cloudwatch', `alarm:${a.replaceAll('${', '${!')}`))
        : [localArn('cloudwatch', 'alarm:ebship-no-alarms-configured')],
    // The ebship topic first, then any per-target topics.
    alertTopicArns: [{ Ref: 'AlertTopic' }, ...unique(alertTopicArns)],
    // Files packaged with every function: the config itself and each file of each target's include
    // directory that a bundle carries, named one by one (dotfiles included).
    packagePatterns: ['ebship.yml', ...unique(includePatterns)],
    migrationResources,
    // SendCommand may use only these documents.
    migrationDocumentArns:
      migrationDocumentNames.length > 0
        ? migrationDocumentNames.map((n) =>
            localArn('ssm', `document/\${AWS::StackName}-migration-check-${n}`),
          )
        : [localArn('ssm', 'document/ebship-no-migration-checks-configured')],
    releaseResources,
    releaseDocumentArns:
      releaseDocumentNames.length > 0
        ? releaseDocumentNames.map((n) => localArn('ssm', `document/\${AWS::StackName}-${n}`))
        : [localArn('ssm', 'document/ebship-no-release-phase-configured')],
    checkDocumentArns:
      checkDocumentNames.length > 0
        ? checkDocumentNames.map((n) => localArn('ssm', `document/\${AWS::StackName}-${n}`))
        : [localArn('ssm', 'document/ebship-no-checks-configured')],
  };
}

/**
 * Validates ebship.yml with the full schema by running `ebship validate --json`, so `serverless
 * package` and `deploy` stop on exactly the line-numbered errors the CLI and the Lambdas report.
 * Returns the validated config with every default applied, which the Lambdas embed. A separate
 * process: infra never imports runtime code.
 */
function validateConfig(file = CONFIG_FILE) {
  const cli = resolve(__dirname, '..', 'bin', 'ebship.js');
  const result = spawnSync(process.execPath, [cli, '--config', file, '--json', 'validate'], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  let answer;
  try {
    answer = JSON.parse(result.stdout);
  } catch {
    answer = undefined;
  }
  if (result.status !== 0 || !answer?.valid) {
    const error = answer?.error;
    const why = error?.message
      ? [error.message, error.hint].filter(Boolean).join('\n')
      : (result.stderr || result.stdout || String(result.error ?? 'no output')).trim();
    throw new Error(why.replace(/^ebship: error: /, ''));
  }
  return answer.resolved;
}

/** Serverless calls the exported function when resolving `${file(infra/config-vars.cjs)}`. */
module.exports = async () => {
  const resolved = validateConfig();
  return {
    ...configVars(readFileSync(CONFIG_FILE, 'utf8')),
    // The validated config, defaults applied, as JSON in each bundle (esbuild define; lib/runtime.ts):
    // the Lambdas then build neither the YAML parser nor the config schema at cold start.
    esbuildDefine: { EBSHIP_PACKAGED_CONFIG: JSON.stringify(JSON.stringify(resolved)) },
  };
};
module.exports.validateConfig = validateConfig;
module.exports.configVars = configVars;
module.exports.imageTagFilters = imageTagFilters;
