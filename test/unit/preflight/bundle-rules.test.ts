import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lib/config/load.js';
import type { Target } from '../../../lib/config/schema.js';
import { lintBundle } from '../../../lib/preflight/bundle-rules.js';
import { bundleCases, containerBundleWithoutMigrate } from '../../fixtures/preflight/bundle-cases.js';

const config = loadConfig(new URL('../../fixtures/seeds/ebship.yml', import.meta.url).pathname);
const targetOf = (name?: string): Target | undefined => (name ? config.targets[name] : undefined);

describe('lintBundle', () => {
  describe.each(bundleCases.map((c, i) => [`${c.ruleId} #${i}`, c] as const))('%s', (_, c) => {
    it('reports the failing bundle', () => {
      // Act
      const findings = lintBundle(c.failing, targetOf(c.target)).filter((f) => f.ruleId === c.ruleId);

      // Assert
      expect(findings.length).toBeGreaterThan(0);
      const [first] = findings;
      if (c.file !== undefined) expect(first?.file).toBe(c.file);
      if (c.line !== undefined) expect(first?.line).toBe(c.line);
      expect(first?.message).not.toBe('');
      expect(first?.fix).not.toBe('');
    });

    it('accepts the fixed bundle', () => {
      // Act
      const findings = lintBundle(c.passing, targetOf(c.target));

      // Assert
      expect(findings.map((f) => f.ruleId)).not.toContain(c.ruleId);
    });
  });

  it('never quotes a plain-text secret it reports', () => {
    // Arrange
    const canary = 'canary-7f3a9c1e-plaintext';
    const files = {
      '.ebextensions/00.config': [
        'option_settings:',
        '  aws:elasticbeanstalk:application:environment:',
        `    DJANGO_SECRET_KEY: ${canary}`,
        `    DATABASE_URL: postgres://app:${canary}@db.example.internal:5432/app`,
        `    REDIS_URL: redis://:${canary}@cache.example.internal:6379/0`,
      ].join('\n'),
    };

    // Act
    const findings = lintBundle(files, targetOf('treasury-plane-dev'));

    // Assert
    expect(findings.map((f) => f.ruleId)).toEqual(
      expect.arrayContaining(['plaintext-secret', 'database-url-scheme']),
    );
    expect(JSON.stringify(findings)).not.toContain(canary);
  });

  it('lints a bundle without a target, skipping the checks that need one', () => {
    // Arrange: a redis:// URL is only wrong when the target's cache encrypts in transit.
    const files = {
      '.ebextensions/00.config':
        'option_settings:\n  aws:elasticbeanstalk:application:environment:\n    CELERY_BROKER_URL: redis://cache.example.internal:6379/0\n',
    };

    // Act
    const ids = lintBundle(files).map((f) => f.ruleId);

    // Assert
    expect(ids).not.toContain('redis-url-tls');
    expect(ids).toContain('health-check-path-missing');
  });

  it('stops a container bundle that nothing migrates, unless the target says its image migrates (issue 11)', () => {
    const treasury = targetOf('treasury-plane-dev');
    if (!treasury) throw new Error('fixture target missing');
    const { migrationCheck: _, release: __, ...bare } = treasury;

    const silent = lintBundle(containerBundleWithoutMigrate, { ...bare, checks: [] });
    const declared = lintBundle(containerBundleWithoutMigrate, {
      ...bare,
      checks: [],
      migrations: { appliedBy: 'image' as const },
    });

    const missing = silent.filter((f) => f.ruleId === 'migrate-missing');
    expect(missing.map((f) => f.severity)).toEqual(['error']);
    expect(missing[0]?.fix).toContain('release:');
    expect(missing[0]?.fix).toContain('migrations: { appliedBy: image }');
    expect(declared.map((f) => f.ruleId)).not.toContain('migrate-missing');
  });

  it('is not turned off when a target only checks migrations: a check is not a migration (issue 11)', () => {
    const treasury = targetOf('treasury-plane-dev');
    if (!treasury) throw new Error('fixture target missing');
    const { release: _, ...checkOnly } = treasury;
    const withCheckEntry = {
      ...checkOnly,
      migrationCheck: undefined,
      checks: [
        {
          name: 'schema',
          container: 'web',
          command: ['python', 'manage.py', 'migrate', '--check'],
          timeoutSeconds: 60,
          on: 'one' as const,
          onFailure: 'rollback' as const,
        },
      ],
    };

    for (const target of [checkOnly, withCheckEntry]) {
      const missing = lintBundle(containerBundleWithoutMigrate, target).filter(
        (f) => f.ruleId === 'migrate-missing',
      );
      expect(missing.map((f) => f.severity)).toEqual(['error']);
      expect(missing[0]?.message).toContain('a check is not a migration');
      expect(missing[0]?.fix).toContain('release:');
    }
    // Outside a container bundle too: an error, check or no check.
    const procfile = lintBundle({ Procfile: 'web: gunicorn plane.wsgi:application\n' }, checkOnly);
    expect(procfile.filter((f) => f.ruleId === 'migrate-missing').map((f) => f.severity)).toEqual(['error']);
  });

  it('is satisfied by a release phase that migrates, and not by one that does something else', () => {
    const seed = targetOf('treasury-plane-dev');
    if (!seed) throw new Error('fixture target missing');
    const treasury = {
      ...seed,
      release: {
        container: 'web',
        command: ['python', 'manage.py', 'migrate', '--noinput'],
        timeoutSeconds: 300,
        onEmptyEnvironment: 'skip' as const,
      },
    };

    const migrating = lintBundle(containerBundleWithoutMigrate, treasury);
    const collectstatic = lintBundle(containerBundleWithoutMigrate, {
      ...treasury,
      release: { ...treasury.release, command: ['python', 'manage.py', 'collectstatic', '--noinput'] },
    });

    expect(migrating.map((f) => f.ruleId)).not.toContain('migrate-missing');
    expect(collectstatic.filter((f) => f.ruleId === 'migrate-missing').map((f) => f.severity)).toEqual([
      'error',
    ]);
  });
});
