import { join, resolve } from 'node:path';
import { buildSync } from 'esbuild';

/**
 * The AWS calls each Lambda's code can make, read from the code itself (see callsOf), each mapped
 * to its IAM action through the `@aws-sdk/*` package it comes from. The template test compares the roles with this, so a
 * grant the code no longer needs, or a call without a grant, fails it.
 */

const REPO = resolve(import.meta.dirname, '../..');

// `@aws-sdk/<package>` → IAM service prefix.
const SERVICE: Record<string, string> = {
  'client-dynamodb': 'dynamodb',
  'lib-dynamodb': 'dynamodb',
  'client-ecr': 'ecr',
  'client-elastic-beanstalk': 'elasticbeanstalk',
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
export function callsOf(handler: string): Set<string> {
  const result = buildSync({
    entryPoints: [join(REPO, handler)],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    treeShaking: true,
    logLevel: 'silent',
    absWorkingDir: REPO,
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
  return calls;
}
