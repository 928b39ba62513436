'use strict';

/**
 * Reads ebship.yml at package time so the EventBridge rule and every IAM policy are scoped to the
 * configured targets only. Used from serverless.yml as `custom.ebship: ${file(infra/config-vars.cjs)}`.
 *
 * Deliberately independent of lib/: infra never imports runtime code (docs/architecture.md). It
 * checks only what it needs to build ARNs; the full schema is enforced by lib/config at run time
 * and by `ebship plan`.
 *
 * ARNs that need the account or region are returned as `Fn::Sub` objects: CloudFormation fills in
 * `${AWS::...}`, and the Serverless variable resolver leaves those placeholders alone (they have no
 * Serverless source prefix).
 */

const { readFileSync } = require('node:fs');
const { resolve } = require('node:path');
const { parse } = require('yaml');

// The same file the Lambdas read at cold start (EBSHIP_CONFIG=ebship.yml, packaged at the zip root).
const CONFIG_FILE = resolve(__dirname, '..', 'ebship.yml');
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

/** Parses the text of an ebship.yml into the lists serverless.yml needs. */
function configVars(text, file = 'ebship.yml') {
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
  const includeDirs = [];
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
    if (target.alertTopicArn !== undefined) {
      const topic = requireString(file, target.alertTopicArn, `${at}.alertTopicArn`);
      if (!SNS_ARN.test(topic)) fail(file, `${at}.alertTopicArn must be an SNS topic ARN`);
      alertTopicArns.push(topic);
    }
    if (target.include !== undefined) includeDirs.push(requireString(file, target.include, `${at}.include`));
  }

  const applicationArns = unique(applications).map((a) => localArn('elasticbeanstalk', `application/${a}`));
  const applicationVersionArns = unique(applications).map((a) =>
    localArn('elasticbeanstalk', `applicationversion/${a}/*`),
  );
  const envKeys = unique(environments.map((e) => `${e.application}/${e.environment}`));
  const secrets = unique(secretIds);
  return {
    repositories: unique(repositories),
    applications: unique(applications),
    environmentNames: unique(environments.map((e) => e.environment)),
    repositoryArns: unique(repositories).map((r) => localArn('ecr', `repository/${r}`)),
    applicationArns,
    applicationVersionArns,
    // For actions authorized on both an application and its versions (CreateApplicationVersion, DescribeEvents).
    applicationAndVersionArns: [...applicationArns, ...applicationVersionArns],
    environmentArns: envKeys.map((k) => localArn('elasticbeanstalk', `environment/${k}`)),
    // IAM refuses a statement with an empty Resource list; a name no secret can have keeps the
    // statement valid while granting nothing when no target declares secrets.
    secretArns:
      secrets.length > 0
        ? secrets.map(secretArn)
        : [localArn('secretsmanager', 'secret:ebship-no-secrets-configured-??????')],
    // The ebship topic first, then any per-target topics.
    alertTopicArns: [{ Ref: 'AlertTopic' }, ...unique(alertTopicArns)],
    // Files packaged with every function: the config itself and each target's include directory.
    packagePatterns: ['ebship.yml', ...unique(includeDirs).map((d) => `${d}/**`)],
  };
}

/** Serverless calls the exported function when resolving `${file(infra/config-vars.cjs)}`. */
module.exports = async () => configVars(readFileSync(CONFIG_FILE, 'utf8'));
module.exports.configVars = configVars;
