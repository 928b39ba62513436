import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { SsmDocumentSpec } from './services/ssm.js';

/**
 * The migration-check SSM document as infra/ssm.yml defines it: its parameters' allowedPattern and
 * its step's timeoutSeconds, so the stand-in's SendCommand checks exactly what AWS would.
 */
export const SSM_FILE = fileURLToPath(new URL('../infra/ssm.yml', import.meta.url));

export function loadMigrationDocument(file = SSM_FILE): SsmDocumentSpec | undefined {
  if (!existsSync(file)) return undefined;
  // CloudFormation tags (!Ref...) are kept as plain values: only the document content is read.
  const doc = parse(readFileSync(file, 'utf8'), { logLevel: 'silent' }) as {
    Resources?: Record<string, { Type?: string; Properties?: { Content?: unknown } }>;
  };
  const resource = Object.values(doc?.Resources ?? {}).find((r) => r.Type === 'AWS::SSM::Document');
  const content = resource?.Properties?.Content as
    | {
        parameters?: Record<string, { allowedPattern?: string; default?: unknown }>;
        mainSteps?: { inputs?: { timeoutSeconds?: unknown } }[];
      }
    | undefined;
  if (!content) return undefined;
  const parameters: SsmDocumentSpec['parameters'] = {};
  for (const [name, p] of Object.entries(content.parameters ?? {})) {
    parameters[name] = {
      ...(p.allowedPattern ? { allowedPattern: p.allowedPattern } : {}),
      ...(p.default !== undefined ? { default: String(p.default) } : {}),
    };
  }
  const timeout = Number(content.mainSteps?.[0]?.inputs?.timeoutSeconds);
  return {
    parameters,
    ...(Number.isFinite(timeout) && timeout > 0 ? { executionTimeoutSeconds: timeout } : {}),
  };
}
