import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { deployBudget, EXECUTION_TIMEOUT_SECONDS, maxDeploySeconds } from '../../../lib/config/limits.js';
import { getTarget, parseConfig, tagRegexProblem } from '../../../lib/config/load.js';
import { ConfigInvalid } from '../../../lib/errors.js';

const example = readFileSync('ebship.yml', 'utf8');
const stateMachine = readFileSync('state-machines/deploy.asl.yml', 'utf8');
const acquireLock = readFileSync('lib/steps/acquire-lock.ts', 'utf8');

function problemsOf(text: string) {
  try {
    parseConfig(text);
  } catch (err) {
    if (err instanceof ConfigInvalid) return err;
    throw err;
  }
  throw new Error('config was accepted');
}

const target = (name: string, extra = '', environment = `${name}-env`) => `
  ${name}:
    application: shop
    environment: ${environment}
    platform: docker
    source: { repository: shop/api }
    containers: [{ name: web, image: "{{image}}" }]
${extra}`;

describe('target names', () => {
  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])(
    'are looked up as own keys only: "%s" is an unknown target, not an Object method',
    (name) => {
      const config = parseConfig(example);

      expect(config.targets[name]).toBeUndefined();
      expect(() => getTarget(config, name)).toThrow(`unknown target "${name}"`);
    },
  );

  it('state the naming rule when one is broken', () => {
    const err = problemsOf(`version: 1\ntargets:${target('Shop_API')}`);

    expect(err.message).toContain('target names are 1-63 lowercase letters, digits and hyphens');
  });
});

describe('config rules', () => {
  it('says what was written when a number is expected ("memory: lots")', () => {
    const err = problemsOf(example.replace('memory: 1536', 'memory: lots'));

    expect(err.problems[0]).toMatchObject({
      path: 'targets.antenna-prod.containers.0.memory',
      message: 'must be a number, not "lots" (a string)',
    });
  });

  it('rejects two targets on one EB environment, naming both', () => {
    const text = `version: 1\ntargets:${target('shop-a', '', 'shop-env')}${target('shop-b', '', 'shop-env')}`;

    const err = problemsOf(text);

    expect(err.problems).toEqual([
      expect.objectContaining({
        path: 'targets.shop-b.environment',
        line: 12,
        message: expect.stringContaining('targets "shop-a" and "shop-b" both deploy to environment shop-env'),
      }),
    ]);
  });

  it.each([
    ['../shared', 'no ".." segments'],
    ['deploy/../..', 'no ".." segments'],
    ['/etc', 'not absolute'],
  ])('keeps include inside the repository: "%s" is refused', (include, message) => {
    const err = problemsOf(`version: 1\ntargets:${target('shop', `    include: "${include}"\n`)}`);

    expect(err.problems[0]).toMatchObject({
      path: 'targets.shop.include',
      message: expect.stringContaining(message),
    });
  });

  it('refuses "{{ image }}" with spaces instead of copying it into the bundle', () => {
    const text = `version: 1\ntargets:${target('shop')}`.replace('"{{image}}"', '"{{ image }}"');

    const err = problemsOf(text);

    expect(err.problems[0]).toMatchObject({
      path: 'targets.shop.containers.0.image',
      message: expect.stringContaining('write "{{image}}" exactly (no spaces)'),
    });
  });

  it('refuses a NUL character in the migration check command, which would split the argument', () => {
    const text = `version: 1\ntargets:${target('shop', '    migrationCheck: { container: web, command: ["python", "manage.py\\0x"] }\n')}`;

    const err = problemsOf(text);

    expect(err.problems[0]).toMatchObject({
      path: 'targets.shop.migrationCheck.command.1',
      message: 'must not contain a NUL character',
    });
  });
});

describe('tag regexes', () => {
  it.each(['^(v+)+$', '^(a|aa)*$', '^((ab)*c)+$', '^(\\d+\\.)+\\d+$', '^(x)\\1$'])(
    'refuses %s, which can backtrack for minutes on one tag',
    (regex) => {
      expect(tagRegexProblem(regex)).toBeDefined();
    },
  );

  it.each([
    '^(v\\d+\\.\\d+\\.\\d+|main-[0-9a-f]{7,40})$',
    '^v[0-9]+(\\.[0-9]+)?$',
    '^(release|hotfix)-\\d+$',
    '^[(+*]+$',
  ])('accepts %s', (regex) => {
    expect(tagRegexProblem(regex)).toBeUndefined();
  });

  it('reports the rule in the config error', () => {
    const err = problemsOf(example.replace('tags: "v*"', 'tags: { regex: "^(v+)+$" }'));

    expect(err.problems[0]).toMatchObject({
      path: 'targets.antenna-prod.source.tags.regex',
      message: expect.stringContaining('repeat single characters or classes instead'),
    });
  });
});

describe('timeouts add up', () => {
  it('uses the execution timeout of the state machine, which is the lock lease', () => {
    expect(stateMachine).toMatch(new RegExp(`^TimeoutSeconds: ${EXECUTION_TIMEOUT_SECONDS}$`, 'm'));
    expect(acquireLock).toMatch(/LEASE_SECONDS = 6 \* 3600;/);
    expect(6 * 3600).toBe(EXECUTION_TIMEOUT_SECONDS);
  });

  it('accepts the shipped targets, whose worst case fits', () => {
    const config = parseConfig(example);

    for (const t of Object.values(config.targets))
      expect(maxDeploySeconds(t)).toBeLessThanOrEqual(EXECUTION_TIMEOUT_SECONDS / 2);
  });

  it('counts the deploy watch, the rollback watch and the migration check', () => {
    const t = getTarget(parseConfig(example), 'antenna-prod');
    const longer = { ...t, health: { ...t.health, timeoutSeconds: t.health.timeoutSeconds + 100 } };
    const slowerCheck = {
      ...t,
      migrationCheck: { container: 'django', command: ['true'], timeoutSeconds: 400 },
    };

    expect(maxDeploySeconds(longer) - maxDeploySeconds(t)).toBe(200);
    expect(maxDeploySeconds(slowerCheck) - maxDeploySeconds(t)).toBe(100);
    expect(deployBudget(t).total).toBe(maxDeploySeconds(t));
  });

  // A 7200 s watch plus a 7200 s rollback watch outlived the 3-hour execution (issue 8, item 10).
  it('rejects a health timeout whose deploy and rollback watches outlive the execution, with the arithmetic', () => {
    const err = problemsOf(example.replace('timeoutSeconds: 1200', 'timeoutSeconds: 7200'));

    const problem = err.problems.find((p) => p.path === 'targets.antenna-prod.health.timeoutSeconds');
    expect(problem?.message).toMatch(
      /can take \d+s \(preflight \d+ \+ (?:release phase \(release\.timeoutSeconds\) \d+ \+ )?deploy start \d+ \+ health watch \(health\.timeoutSeconds\) 7338 \+ .*rollback watch \(health\.timeoutSeconds\) 7338 .*\), \d+s more than the 10800s a deploy may take \(half the state machine's 21600s TimeoutSeconds.*lower health\.timeoutSeconds to at most \d+/,
    );
    const allowed = Number(/at most (\d+)/.exec(problem?.message ?? '')?.[1]);
    expect(() =>
      parseConfig(example.replace('timeoutSeconds: 1200', `timeoutSeconds: ${allowed}`)),
    ).not.toThrow();
  });
});
