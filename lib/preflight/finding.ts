/**
 * One preflight finding: what is wrong, where, and how to fix it. Findings travel in alerts, the CLI's
 * output and (warnings) the workflow state, so they never carry a secret value: messages name the
 * variable, key or file, never what it holds.
 */
export type Severity = 'error' | 'warning';

export interface Finding {
  /** Stable kebab-case id, e.g. `database-url-scheme`; what a user searches the docs for. */
  ruleId: string;
  severity: Severity;
  /** Path inside the bundle (`.ebextensions/02-python.config`), `ebship.yml`, or absent for AWS checks. */
  file?: string;
  /** 1-based line in `file`. */
  line?: number;
  message: string;
  fix: string;
}

/** A finding before it is placed in a file: what the pure checks return. */
export type Problem = Omit<Finding, 'file' | 'line'>;

export function at(problem: Problem, file?: string, line?: number): Finding {
  return {
    ...problem,
    ...(file === undefined ? {} : { file }),
    ...(line === undefined ? {} : { line }),
  };
}
