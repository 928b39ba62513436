import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getTarget, parseConfig } from '../../../lib/config/load.js';
import { ConfigInvalid } from '../../../lib/errors.js';

/** `release:` and `checks:` in ebship.yml (issue 11): defaults, and errors naming the field, its line and the rule. */
const example = readFileSync('ebship.yml', 'utf8');
const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

function problemsOf(text: string) {
  try {
    parseConfig(text);
  } catch (err) {
    if (err instanceof ConfigInvalid) return err.problems;
    throw err;
  }
  throw new Error('config was accepted');
}

describe('release and checks in ebship.yml', () => {
  it('accepts the shipped targets, with migrationCheck alongside, and fills the defaults', () => {
    const antenna = getTarget(parseConfig(example), 'antenna-prod');

    expect(antenna.release).toEqual({
      container: 'django',
      command: ['python', 'manage.py', 'migrate', '--noinput'],
      timeoutSeconds: 600,
      onEmptyEnvironment: 'fail',
    });
    expect(antenna.migrationCheck?.command).toEqual(['python', 'manage.py', 'migrate', '--check']);
    expect(antenna.checks.map((c) => [c.name, c.on, c.onFailure, c.timeoutSeconds])).toEqual([
      ['django-deploy-check', 'one', 'rollback', 120],
      ['celery-worker', 'all', 'rollback', 60],
      ['celery-beat', 'one', 'warn', 30],
    ]);
  });

  it('names a release container that is not a container of the target, on its line', () => {
    const text = example.replace(
      'container: django           # its running copy',
      'container: djangoo          # its running copy',
    );

    expect(problemsOf(text)).toEqual([
      expect.objectContaining({
        path: 'targets.antenna-prod.release.container',
        line: lineOf(text, 'container: djangoo'),
        message: expect.stringContaining('use one of django, celeryworker'),
      }),
    ]);
  });

  it('refuses a release container that does not run the pushed image', () => {
    const text = example.replace(
      'container: django           # its running copy',
      'container: awscli           # its running copy',
    );

    expect(problemsOf(text)[0]?.message).toContain('does not run the pushed image');
  });

  it('states the naming rule for a bad check name, and refuses two checks of one name, each on its line', () => {
    const badName = example.replace('- name: celery-beat', '- name: Celery_Beat');
    const twice = example.replace('- name: celery-beat', '- name: celery-worker');

    expect(problemsOf(badName)).toEqual([
      expect.objectContaining({
        path: 'targets.antenna-prod.checks.2.name',
        line: lineOf(badName, 'name: Celery_Beat'),
        message:
          'check names are 1-40 lowercase letters, digits and hyphens, starting with a letter or digit',
      }),
    ]);
    const dup = problemsOf(twice);
    expect(dup).toEqual([
      expect.objectContaining({
        path: 'targets.antenna-prod.checks.2.name',
        message: expect.stringContaining('unique'),
      }),
    ]);
    // The second "celery-worker": the duplicate is reported where it is written.
    const lines = twice.split('\n');
    expect(dup[0]?.line).toBe(lines.findLastIndex((l) => l.includes('- name: celery-worker')) + 1);
  });

  it('refuses an unknown onFailure or on, listing what is allowed', () => {
    const text = example.replace('onFailure: warn', 'onFailure: page');

    expect(problemsOf(text)[0]).toMatchObject({ path: 'targets.antenna-prod.checks.2.onFailure' });
    expect(problemsOf(text)[0]?.message).toMatch(/rollback.*warn/);
  });
});
