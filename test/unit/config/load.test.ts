import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getTarget, loadConfig, parseConfig, promotedFrom } from '../../../lib/config/load.js';
import { ConfigInvalid } from '../../../lib/errors.js';

const example = readFileSync('ebship.yml', 'utf8');

function problemsOf(text: string) {
  try {
    parseConfig(text);
  } catch (err) {
    if (err instanceof ConfigInvalid) return err;
    throw err;
  }
  throw new Error('config was accepted');
}

describe('the shipped example config', () => {
  it('describes both seeds: Antenna on ECS and the Django app on Docker', () => {
    const config = loadConfig('ebship.yml');
    expect(getTarget(config, 'antenna-prod')).toMatchObject({ platform: 'ecs', application: 'antenna' });
    expect(getTarget(config, 'antenna-prod').containers.map((c) => c.name)).toEqual([
      'django',
      'celeryworker',
      'celerybeat',
      'flower',
      'awscli',
    ]);
    expect(getTarget(config, 'treasury-plane-dev')).toMatchObject({
      platform: 'docker',
      database: { schemes: ['postgresql+psycopg'] },
    });
  });
});

describe('parseConfig errors', () => {
  it('names the field, its line and what is allowed', () => {
    const line = example.split('\n').indexOf('    platform: ecs') + 1;
    const err = problemsOf(example.replace('platform: ecs', 'platform: kubernetes'));
    expect(err.problems).toEqual([
      expect.objectContaining({
        path: 'targets.antenna-prod.platform',
        line,
        message: expect.stringContaining('"ecs"'),
      }),
    ]);
    expect(err.message).toContain(`targets.antenna-prod.platform (line ${line})`);
  });

  it('reports every problem at once', () => {
    const err = problemsOf(
      example
        .replace('environment: antenna-prod', 'environment: a')
        .replace('bakeSeconds: 300', 'bakeSeconds: -1'),
    );
    expect(err.problems.map((p) => p.path)).toEqual([
      'targets.antenna-prod.environment',
      'targets.antenna-prod.health.bakeSeconds',
    ]);
  });

  it('catches typos in field names instead of ignoring them', () => {
    const err = problemsOf(example.replace('allowedColors: [Green]', 'allowedColours: [Green]'));
    expect(err.problems[0]?.message).toContain('unknown field(s) "allowedColours"');
  });

  it('refuses a secret or variable named like a JavaScript object key it would be lost as, naming it', () => {
    for (const name of ['constructor', '__proto__', 'prototype']) {
      const err = problemsOf(example.replace('      REDIS_URL: {', `      ${name}: {`));
      expect(err.problems.map((p) => p.message).join('\n')).toContain('cannot pass between its steps');
      expect(err.problems.map((p) => p.path).join('\n')).toContain(name);
    }
  });

  it('rejects a target where no container runs the pushed image', () => {
    const err = problemsOf(example.replaceAll('image: "{{image}}"', 'image: "nginx:1.27"'));
    expect(err.problems.some((p) => p.message.includes('no container uses the pushed image'))).toBe(true);
  });

  it('rejects a migration check in a container that does not exist', () => {
    const err = problemsOf(example.replace('container: django', 'container: djang0'));
    expect(err.problems[0]).toMatchObject({
      path: 'targets.antenna-prod.migrationCheck.container',
      message: expect.stringContaining('use one of django, celeryworker'),
    });
  });

  it('rejects a timeout that leaves no room for the bake time and grace period', () => {
    const err = problemsOf(example.replace('timeoutSeconds: 1200', 'timeoutSeconds: 120'));
    expect(err.problems[0]?.message).toContain('longer than bakeSeconds + graceSeconds');
  });

  it('accepts only `image` as who applies migrations, and says what the others are found by', () => {
    const ok = parseConfig(
      example.replace('    platform: ecs', '    platform: ecs\n    migrations: { appliedBy: image }'),
    );
    expect(getTarget(ok, 'antenna-prod').migrations).toEqual({ appliedBy: 'image' });

    const err = problemsOf(
      example.replace('    platform: ecs', '    platform: ecs\n    migrations: { appliedBy: release }'),
    );
    expect(err.problems[0]).toMatchObject({
      path: 'targets.antenna-prod.migrations.appliedBy',
      message: expect.stringContaining("the only value is `image` (the image's start command migrates)"),
    });
  });

  it('points at the line of a YAML syntax error', () => {
    const err = problemsOf('version: 1\ntargets:\n  a: [unclosed\n');
    expect(err.problems[0]?.line).toBeGreaterThan(0);
  });

  it('lists the known targets for an unknown one', () => {
    expect(() => getTarget(loadConfig('ebship.yml'), 'antena-prod')).toThrow(
      'unknown target "antena-prod"; known targets: antenna-prod, treasury-plane-dev',
    );
  });

  it('says how to fix a missing config file', () => {
    expect(() => loadConfig('/nonexistent/ebship.yml')).toThrow(
      'cannot read the config file (ENOENT); create it or set EBSHIP_CONFIG',
    );
  });
});

describe('health.alarms and health.abortAfterSeconds', () => {
  const withHealth = (lines: string) =>
    example.replace(
      '      alarms: [antenna-prod-5xx, antenna-prod-p95-latency]\n',
      lines.length > 0 ? `${lines}\n` : '',
    );

  it('reads the shipped example: two alarms and a 180 s early abort', () => {
    const health = getTarget(parseConfig(example), 'antenna-prod').health;
    expect(health.alarms).toEqual(['antenna-prod-5xx', 'antenna-prod-p95-latency']);
    expect(health.abortAfterSeconds).toBe(180);
  });

  it('defaults to no alarms and an early abort after 180 s', () => {
    const docker = getTarget(parseConfig(example), 'treasury-plane-dev').health;
    expect(docker.alarms).toEqual([]);
    expect(docker.abortAfterSeconds).toBe(180);
  });

  it('refuses more than 100 alarms: one DescribeAlarms call takes at most 100 names (CloudWatch API reference, AlarmNames)', () => {
    const names = Array.from({ length: 101 }, (_, i) => `alarm-${i}`).join(', ');
    const err = problemsOf(withHealth(`      alarms: [${names}]`));
    expect(err.problems).toEqual([
      expect.objectContaining({
        path: 'targets.antenna-prod.health.alarms',
        message: expect.stringContaining('at most 100 alarms'),
      }),
    ]);
    expect(() =>
      parseConfig(withHealth(`      alarms: [${names.replace(', alarm-100', '')}]`)),
    ).not.toThrow();
  });

  it('refuses an alarm listed twice, an empty name and one over 255 characters', () => {
    expect(problemsOf(withHealth('      alarms: [a, a]')).problems[0]?.message).toContain('twice');
    expect(problemsOf(withHealth('      alarms: [""]')).problems[0]?.path).toBe(
      'targets.antenna-prod.health.alarms.0',
    );
    expect(problemsOf(withHealth(`      alarms: [${'x'.repeat(256)}]`)).problems[0]?.path).toBe(
      'targets.antenna-prod.health.alarms.0',
    );
    // Its state before the deploy is kept by name: a name an object key cannot carry would be lost.
    expect(problemsOf(withHealth('      alarms: [ok, constructor]')).problems[0]).toMatchObject({
      path: 'targets.antenna-prod.health.alarms.1',
      message: expect.stringContaining('rename it'),
    });
  });

  it('refuses an early abort under 30 s (one bad reading) or not shorter than the timeout', () => {
    const short = problemsOf(example.replace('abortAfterSeconds: 180', 'abortAfterSeconds: 10'));
    expect(short.problems[0]).toMatchObject({
      path: 'targets.antenna-prod.health.abortAfterSeconds',
      message: expect.stringContaining('0 (off) or at least 30'),
    });
    const long = problemsOf(example.replace('abortAfterSeconds: 180', 'abortAfterSeconds: 1200'));
    expect(long.problems[0]?.message).toContain('shorter than timeoutSeconds (1200)');
    expect(() =>
      parseConfig(example.replace('abortAfterSeconds: 180', 'abortAfterSeconds: 0')),
    ).not.toThrow();
  });
});

describe('promote: staging → production of the same digest (issue 14)', () => {
  /** The Docker target of the example, copied under `name`, on its own environment, with `promote` lines. */
  const docker = example.slice(example.indexOf('  treasury-plane-dev:'));
  const copy = (name: string, promote: string) =>
    docker
      .replace('  treasury-plane-dev:', `  ${name}:\n${promote}`)
      .replace(/environment: (\S+)/, `environment: ${name}-env`);
  const config = (...targets: string[]) => `${example}${targets.join('')}`;

  it('reads a chain dev → staging → prod, with the defaults: no approval, one hour to answer one', () => {
    const parsed = parseConfig(
      config(
        copy('plane-staging', '    promote: { from: treasury-plane-dev }\n'),
        copy('plane-prod', '    promote: { from: plane-staging, approval: manual, timeoutSeconds: 7200 }\n'),
      ),
    );
    expect(getTarget(parsed, 'plane-staging').promote).toEqual({
      from: 'treasury-plane-dev',
      approval: 'none',
      timeoutSeconds: 3600,
    });
    expect(getTarget(parsed, 'plane-prod').promote).toEqual({
      from: 'plane-staging',
      approval: 'manual',
      timeoutSeconds: 7200,
    });
    expect(promotedFrom(parsed, 'plane-staging')).toEqual(['plane-prod']);
    expect(promotedFrom(parsed, 'plane-prod')).toEqual([]);
  });

  it('rejects a cycle, naming it and what to do', () => {
    const err = problemsOf(
      config(
        copy('plane-staging', '    promote: { from: plane-prod }\n'),
        copy('plane-prod', '    promote: { from: plane-staging }\n'),
      ),
    );
    expect(err.problems).toEqual([
      expect.objectContaining({
        path: 'targets.plane-staging.promote.from',
        message: expect.stringContaining('promotion cycle plane-staging ← plane-prod ← plane-staging'),
      }),
      expect.objectContaining({
        path: 'targets.plane-prod.promote.from',
        message: expect.stringContaining('remove promote from one of them'),
      }),
    ]);
  });

  it('rejects a target promoting from itself or from an unknown target, listing the known ones', () => {
    const self = problemsOf(config(copy('plane-prod', '    promote: { from: plane-prod }\n')));
    expect(self.problems[0]?.message).toContain('cannot promote from itself');
    const unknown = problemsOf(config(copy('plane-prod', '    promote: { from: staging }\n')));
    expect(unknown.problems[0]).toMatchObject({
      path: 'targets.plane-prod.promote.from',
      message: expect.stringContaining('"staging" is not a target; known targets: antenna-prod, plane-prod'),
    });
  });

  it('does not blame a target that only feeds a cycle elsewhere', () => {
    const err = problemsOf(
      config(
        copy('plane-a', '    promote: { from: plane-b }\n'),
        copy('plane-b', '    promote: { from: plane-a }\n'),
        copy('plane-c', '    promote: { from: plane-a }\n'),
      ),
    );
    expect(err.problems.map((p) => p.path)).toEqual([
      'targets.plane-a.promote.from',
      'targets.plane-b.promote.from',
    ]);
  });

  it('refuses an approval timeout longer than 3 hours: the wait and the deploy must fit one execution', () => {
    const err = problemsOf(
      config(
        copy(
          'plane-prod',
          '    promote: { from: treasury-plane-dev, approval: manual, timeoutSeconds: 86400 }\n',
        ),
      ),
    );
    expect(err.problems[0]).toMatchObject({
      path: 'targets.plane-prod.promote.timeoutSeconds',
      message: expect.stringContaining('the approval wait and the deploy share one execution'),
    });
  });
});
