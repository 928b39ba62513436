import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const DEFINITION_FILE = fileURLToPath(new URL('../../state-machines/deploy.asl.yml', import.meta.url));

/** The `${Name}` placeholders the definition uses for Lambda ARNs. */
export function substitutionNames(text = readFileSync(DEFINITION_FILE, 'utf8')): string[] {
  return [...new Set([...text.matchAll(/\$\{([A-Za-z0-9]+)\}/g)].map((m) => m[1] ?? ''))].sort();
}

/** Fake but well-formed Lambda ARN for local runs: `arn:aws:lambda:us-east-1:000000000000:function:ebship-local-ResolveRelease`. */
export function localFunctionArn(name: string): string {
  return `arn:aws:lambda:us-east-1:000000000000:function:ebship-local-${name.replace(/Arn$/, '')}`;
}

/** The deploy state machine with its placeholders replaced (default: local fake ARNs). */
export function loadDeployDefinition(substitute: (name: string) => string = localFunctionArn): Record<
  string,
  unknown
> & {
  States: Record<string, Record<string, unknown>>;
  StartAt: string;
} {
  const text = readFileSync(DEFINITION_FILE, 'utf8').replace(/\$\{([A-Za-z0-9]+)\}/g, (_, name: string) =>
    substitute(name),
  );
  return parse(text);
}
