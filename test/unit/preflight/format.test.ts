import { describe, expect, it } from 'vitest';
import type { Finding } from '../../../lib/preflight/finding.js';
import { formatFindings, hasErrors } from '../../../lib/preflight/format.js';

const finding = (over: Partial<Finding>): Finding => ({
  ruleId: 'rule',
  severity: 'error',
  message: 'message',
  fix: 'fix',
  ...over,
});

describe('formatFindings', () => {
  it('groups by file, files in name order and AWS-side findings last, errors before warnings', () => {
    // Arrange
    const findings = [
      finding({ ruleId: 'environment-basic-health', message: 'basic health' }),
      finding({
        ruleId: 'gunicorn-logs-to-file',
        severity: 'warning',
        file: 'Procfile',
        line: 1,
        message: 'logs to file',
      }),
      finding({
        ruleId: 'image-not-pinned',
        severity: 'warning',
        file: 'Dockerrun.aws.json',
        line: 5,
        message: 'by tag',
      }),
      finding({
        ruleId: 'dockerrun-no-web-port',
        file: 'Dockerrun.aws.json',
        line: 1,
        message: 'no port 80',
      }),
    ];

    // Act
    const text = formatFindings(findings);

    // Assert
    const order = [
      'Dockerrun.aws.json',
      'no port 80',
      'by tag',
      'Procfile',
      'logs to file',
      '(environment and secrets)',
      'basic health',
    ];
    const positions = order.map((s) => text.indexOf(s));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(text).toContain('line 5: by tag [image-not-pinned]');
    expect(text).toContain('fix: fix');
    expect(text.trimEnd().endsWith('2 errors, 2 warnings')).toBe(true);
  });

  it('colours only when asked', () => {
    const findings = [finding({ file: 'Procfile' })];
    expect(formatFindings(findings)).not.toContain('\u001b[');
    expect(formatFindings(findings, { color: true })).toContain('\u001b[31m');
  });

  it('says so when there is nothing to report', () => {
    expect(formatFindings([])).toBe('No problems found.');
  });
});

describe('hasErrors', () => {
  it('is true only when an error-level finding exists', () => {
    expect(hasErrors([finding({ severity: 'warning' })])).toBe(false);
    expect(hasErrors([finding({ severity: 'warning' }), finding({ severity: 'error' })])).toBe(true);
    expect(hasErrors([])).toBe(false);
  });
});
