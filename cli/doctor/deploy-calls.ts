import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildSync } from 'esbuild';
import { parse } from 'yaml';

/**
 * What a deploy calls, read from the code that deploys: serverless.yml names each Lambda's handler
 * and role, and each handler's bundled code names the AWS SDK commands it can send. The template
 * test (test/infra/template.test.ts) holds the roles to exactly these calls; `ebship doctor`
 * simulates the same calls against the deployed roles. There is no hand-written list of actions.
 */

/** The ebship checkout this CLI runs from: the code that was (or will be) deployed. */
export const REPO = resolve(import.meta.dirname, '../..');

export interface DeployFunction {
  /** The function's key in serverless.yml (`deployVersion`). */
  key: string;
  /** Its handler module, relative to the repository (`functions/deploy-version.ts`). */
  handler: string;
  /** The logical id of its role in infra/iam.yml (`DeployVersionRole`). */
  roleLogicalId: string;
}

/** Each Lambda of serverless.yml with its handler file and role. */
export function deployFunctions(repo = REPO): DeployFunction[] {
  // CloudFormation tags (!Ref, !GetAtt...) elsewhere in the file parse as plain values.
  const doc = parse(readFileSync(join(repo, 'serverless.yml'), 'utf8'), { logLevel: 'silent' }) as {
    functions?: Record<string, { handler?: string; role?: string }>;
  };
  return Object.entries(doc.functions ?? {}).flatMap(([key, fn]) => {
    const module = /^(.+)\.[A-Za-z_$][\w$]*$/.exec(fn.handler ?? '')?.[1];
    return module && fn.role ? [{ key, handler: `${module}.ts`, roleLogicalId: fn.role }] : [];
  });
}

/** A function's role name, as infra/iam.yml names it: `ebship-<stage>-<function in kebab case>`. */
export function roleNameOf(fn: DeployFunction, stage: string): string {
  return `ebship-${stage}-${fn.key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * Grants a function needs beyond the SDK calls its code makes, by role (function name in Pascal
 * case), each because AWS checks them on the caller while serving one of those calls. The template
 * test allows exactly these beyond the code's calls; doctor simulates them too.
 */
export const ON_BEHALF: Record<string, Record<string, string>> = {
  ValidateSecrets: {
    'kms:Decrypt': 'GetSecretValue of a secret under a customer key decrypts with the caller’s rights',
  },
  CreateAppVersion: {
    's3:GetObject': 'CreateApplicationVersion reads the bundle with the caller’s credentials',
    's3:GetBucketLocation':
      'CreateApplicationVersion locates the bundle bucket with the caller’s credentials',
  },
  Notify: { 'kms:GenerateDataKey*': 'publishing to the KMS-encrypted topic', 'kms:Decrypt': 'same' },
  ExecutionEnded: { 'kms:GenerateDataKey*': 'publishing to the KMS-encrypted topic', 'kms:Decrypt': 'same' },
  Reconcile: { 'kms:GenerateDataKey*': 'publishing to the KMS-encrypted topic', 'kms:Decrypt': 'same' },
  RequestApproval: {
    'kms:GenerateDataKey*': 'publishing to the KMS-encrypted topic',
    'kms:Decrypt': 'same',
  },
};

/** The on-behalf grants of a function (ON_BEHALF), by its serverless.yml key. */
export function onBehalfOf(fn: DeployFunction): string[] {
  return Object.keys(ON_BEHALF[fn.key.charAt(0).toUpperCase() + fn.key.slice(1)] ?? {});
}

// `@aws-sdk/<package>` → IAM service prefix.
const SERVICE: Record<string, string> = {
  'client-cloudwatch': 'cloudwatch',
  'client-cloudwatch-logs': 'logs',
  'client-dynamodb': 'dynamodb',
  'lib-dynamodb': 'dynamodb',
  'client-ecr': 'ecr',
  'client-elastic-beanstalk': 'elasticbeanstalk',
  'client-iam': 'iam',
  'client-s3': 's3',
  'client-secrets-manager': 'secretsmanager',
  'client-sfn': 'states',
  'client-sns': 'sns',
  'client-ssm': 'ssm',
};
// lib-dynamodb's document commands and the low-level action each one is.
const DOCUMENT_COMMANDS: Record<string, string> = {
  Get: 'GetItem',
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  Query: 'Query',
  Scan: 'Scan',
  BatchGet: 'BatchGetItem',
  BatchWrite: 'BatchWriteItem',
  TransactGet: 'TransactGetItems',
  TransactWrite: 'TransactWriteItems',
};

/**
 * IAM actions of the SDK commands a handler's code can construct. esbuild bundles the handler with
 * the SDK external and drops code nothing reaches, so the `@aws-sdk/*` imports left in the output
 * name exactly the commands the function can send.
 */
export function callsOf(handler: string, repo = REPO): Set<string> {
  const key = join(repo, handler);
  const cached = CACHE.get(key);
  if (cached) return new Set(cached);
  const calls = readCalls(handler, repo);
  CACHE.set(key, calls);
  return new Set(calls);
}

// The code does not change while one process runs: each handler is bundled once.
const CACHE = new Map<string, Set<string>>();

function readCalls(handler: string, repo: string): Set<string> {
  const result = buildSync({
    entryPoints: [join(repo, handler)],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    treeShaking: true,
    logLevel: 'silent',
    absWorkingDir: repo,
  });
  const text = result.outputFiles.map((f) => f.text).join('\n');
  // Imported name (as the bundle spells it) → `service:Action`.
  const actions = new Map<string, string>();
  for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*"@aws-sdk\/([a-z0-9-]+)"/g)) {
    const pkg = m[2] ?? '';
    const service = SERVICE[pkg];
    if (!service) continue;
    for (const item of (m[1] ?? '').split(',')) {
      const [, imported, local] =
        /^\s*([A-Za-z0-9]+)Command(?:\s+as\s+([A-Za-z0-9_$]+))?\s*$/.exec(item) ?? [];
      if (!imported) continue;
      const action = pkg === 'lib-dynamodb' ? (DOCUMENT_COMMANDS[imported] ?? imported) : imported;
      actions.set(local ?? `${imported}Command`, `${service}:${action}`);
    }
  }
  // Only commands the remaining code constructs: esbuild keeps unused imports of external packages.
  const calls = new Set<string>();
  for (const m of text.matchAll(/new\s+([A-Za-z0-9_$]+)\s*\(/g)) {
    const action = actions.get(m[1] ?? '');
    if (action) calls.add(action);
  }
  // Calls sent as signed HTTP requests without an SDK client: their functions survive tree shaking
  // only where the code can reach them.
  for (const [fn, action] of Object.entries(SIGNED_HTTP_CALLS)) {
    if (new RegExp(`function ${fn}\\(`).test(text)) calls.add(action);
  }
  return calls;
}

/** Functions that make an AWS call as a signed HTTP request (lib/aws/s3-put.ts), and the call. */
const SIGNED_HTTP_CALLS: Record<string, string> = { putObject: 's3:PutObject' };
