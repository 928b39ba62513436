import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../lib/config/load.js';
import { packagedConfig } from '../../lib/runtime.js';

/**
 * The config packaged into each Lambda is what `ebship validate --json` returned at package time
 * (infra/config-vars.cjs): the Lambda checks it is that output instead of building the zod schema
 * again at cold start (issue 16).
 */
const TEXT = readFileSync('ebship.yml', 'utf8');

describe('packagedConfig', () => {
  it('gives back the config ebship validate resolved, defaults included', () => {
    const validated = parseConfig(TEXT);

    const packaged = packagedConfig(JSON.stringify(validated));

    expect(packaged).toEqual(validated);
    const [name] = Object.keys(validated.targets);
    expect(packaged.targets[name ?? '']?.health.bakeSeconds).toBe(
      validated.targets[name ?? '']?.health.bakeSeconds,
    );
  });

  it('has targets without a prototype, so "constructor" is no target', () => {
    const packaged = packagedConfig(JSON.stringify(parseConfig(TEXT)));

    expect(packaged.targets.constructor).toBeUndefined();
  });

  it('refuses a config nobody validated (defaults not applied), naming the target and the fix', () => {
    const raw = parse(TEXT) as { targets: Record<string, unknown> };
    const [name] = Object.keys(raw.targets);

    expect(() => packagedConfig(JSON.stringify(raw))).toThrow(
      new RegExp(`targets\\.${name}: has no [a-zA-Z, ]+ \\(defaults not applied\\).*serverless package`),
    );
  });

  it('refuses what is not a config at all', () => {
    expect(() => packagedConfig('{"targets": []}')).toThrow(/ConfigInvalid|is not a validated ebship config/);
    expect(() => packagedConfig('null')).toThrow(/is not a validated ebship config/);
  });
});
