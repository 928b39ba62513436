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

  it('only warns about missing migrations in a container bundle, and not at all when ebship checks them', () => {
    // Arrange
    const treasury = targetOf('treasury-plane-dev');
    if (!treasury) throw new Error('fixture target missing');
    const { migrationCheck: _, ...unchecked } = treasury;

    // Act
    const withoutCheck = lintBundle(containerBundleWithoutMigrate, unchecked);
    const withCheck = lintBundle(containerBundleWithoutMigrate, treasury);

    // Assert
    expect(withoutCheck.filter((f) => f.ruleId === 'migrate-missing').map((f) => f.severity)).toEqual([
      'warning',
    ]);
    expect(withCheck.map((f) => f.ruleId)).not.toContain('migrate-missing');
  });
});
