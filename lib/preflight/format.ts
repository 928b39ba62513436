import { PreflightFailed } from '../errors.js';
import type { Finding } from './finding.js';

const NO_FILE = '(environment and secrets)';

/**
 * Findings as text for the CLI and the alert: grouped by file (files in name order, AWS-side
 * findings last), errors before warnings, then by line; each with its fix on the next line.
 */
export function formatFindings(findings: Finding[], options: { color?: boolean } = {}): string {
  if (findings.length === 0) return 'No problems found.';
  const paint = (code: string, text: string) => (options.color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const groups = new Map<string, Finding[]>();
  for (const f of findings) {
    const key = f.file ?? NO_FILE;
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  const keys = [...groups.keys()].sort((a, b) =>
    a === NO_FILE ? 1 : b === NO_FILE ? -1 : a.localeCompare(b),
  );
  const out: string[] = [];
  for (const key of keys) {
    out.push(paint('1', key));
    const sorted = [...(groups.get(key) ?? [])].sort(
      (a, b) =>
        Number(a.severity !== 'error') - Number(b.severity !== 'error') || (a.line ?? 0) - (b.line ?? 0),
    );
    for (const f of sorted) {
      const where = f.line === undefined ? '' : `line ${f.line}: `;
      const severity = f.severity === 'error' ? paint('31', 'error  ') : paint('33', 'warning');
      out.push(`  ${severity} ${where}${f.message} [${f.ruleId}]`);
      out.push(`          fix: ${f.fix}`);
    }
    out.push('');
  }
  const errors = findings.filter((f) => f.severity === 'error').length;
  const warnings = findings.length - errors;
  out.push(`${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`);
  return out.join('\n');
}

export function hasErrors(findings: Finding[]): boolean {
  return findings.some((f) => f.severity === 'error');
}

/**
 * Stops the deploy on an error-level finding (PreflightFailed, every finding in its message), and
 * otherwise returns the warnings as the state carries them: "<rule> <file>:<line>: <message>".
 */
export function warningsOrStop(findings: Finding[], targetName: string): string[] {
  if (hasErrors(findings)) {
    throw new PreflightFailed(
      `preflight checks failed for ${targetName}; nothing was deployed:\n${formatFindings(findings)}`,
    );
  }
  return findings.map(
    (f) => `${f.ruleId}${f.file ? ` ${f.file}${f.line ? `:${f.line}` : ''}` : ''}: ${f.message}`,
  );
}
