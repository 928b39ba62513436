import type { Target } from '../config/schema.js';
import { at, type Finding } from './finding.js';
import { checkDatabaseScheme } from './value-checks.js';

/** A piece of shell: a hook, a `files:` script, a multi-line command. */
export interface Script {
  file: string;
  /** 1-based line of the script's first line in `file`, when known. */
  line?: number;
  /** What it is, for messages: `hook`, `command "01_load"`, `file /opt/app/load.sh`. */
  label: string;
  text: string;
}

// Calls whose failure matters and is easy to lose: the AWS CLI (secrets, parameters, S3) and HTTP.
const FETCH = /\b(aws\s+(secretsmanager|ssm|s3|s3api|sts|kms|ecr|rds|elasticache)\b|curl\b|wget\b)/;
const ERREXIT = /^\s*set\s+(-[a-zA-Z]*e[a-zA-Z]*\b|-o\s+errexit\b)|^#!\S*\s+-[a-zA-Z]*e/m;
// `local x=$(cmd)`, `export x=$(cmd)`: the status is that of local/export, so even `set -e` and a
// following `$?` check see 0 when cmd failed.
const MASKED =
  /\b(local|export|readonly|declare(\s+-\w+)*)\s+[A-Za-z_][A-Za-z0-9_]*=("?)(\$\(|`)\s*(aws|curl|wget)\b/;
const DATABASE_URL_SCHEME = /DATABASE_URL\w*\s*=\W*([A-Za-z][A-Za-z0-9+.-]*):\/\//;

export function lintScript(script: Script, target?: Target): Finding[] {
  const findings: Finding[] = [];
  const lines = script.text.split('\n');
  const lineAt = (i: number) => (script.line === undefined ? undefined : script.line + i);
  const commandLines = lines.filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  const hasErrexit = ERREXIT.test(script.text);

  const fetchIndex = lines.findIndex((l) => !l.trim().startsWith('#') && FETCH.test(l));
  const fetchLine = lines[fetchIndex];
  if (fetchLine !== undefined && !hasErrexit) {
    // One bare command returns its own status; a failure is lost once it is captured or followed.
    const captured = /(\$\(|`)\s*(aws|curl|wget)\b/.test(fetchLine) || /\|/.test(fetchLine);
    if (captured || commandLines.length > 1) {
      const tool = /aws\s+\S+|curl|wget/.exec(fetchLine)?.[0] ?? 'a fetch';
      findings.push(
        at(
          {
            ruleId: 'script-without-set-e',
            severity: 'error',
            message: `${script.label} calls \`${tool}\` without \`set -e\`: if the call fails the script goes on with an empty value and the deploy fails later with no clear cause`,
            fix: 'Start the script with `set -euo pipefail` (after the shebang), and fail on empty values: `[ -n "$DB_PASS" ] || { echo "DB_PASS empty" >&2; exit 1; }`.',
          },
          script.file,
          lineAt(fetchIndex),
        ),
      );
    }
  }

  lines.forEach((l, i) => {
    if (l.trim().startsWith('#')) return;
    if (MASKED.test(l)) {
      findings.push(
        at(
          {
            ruleId: 'script-masked-exit-status',
            severity: 'error',
            message: `${script.label} assigns a command's output in the same statement as local/export: its failure is masked (the status is that of local/export), so neither \`set -e\` nor \`$?\` sees it`,
            fix: 'Declare first, then assign: `local result; result=$(aws ...)`.',
          },
          script.file,
          lineAt(i),
        ),
      );
    }
    const scheme = DATABASE_URL_SCHEME.exec(l)?.[1];
    if (scheme !== undefined && target) {
      for (const p of checkDatabaseScheme(scheme, `the DATABASE_URL built by ${script.label}`, target)) {
        findings.push(at(p, script.file, lineAt(i)));
      }
    }
  });
  return findings;
}
