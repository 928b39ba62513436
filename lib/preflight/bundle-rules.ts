import type { Target } from '../config/schema.js';
import { commandFindings, migrationFindings } from './command-rules.js';
import {
  type DockerrunSummary,
  gunicornLogProblems,
  lintCompose,
  lintDockerrun,
  type ProcessCommand,
} from './container-rules.js';
import { type ParsedConfig, parseEbextension } from './ebextensions.js';
import { at, type Finding } from './finding.js';
import { optionFindings } from './option-rules.js';
import {
  healthCheckFindings,
  nginxRedirectFindings,
  platformFindings,
  wsgiFindings,
} from './platform-rules.js';
import { lintScript, type Script } from './script-rules.js';

/**
 * Lints a bundle: ebship's own rendered files and the user's `.ebextensions/`, `.platform/`,
 * `Procfile`, `Dockerrun.aws.json` and `docker-compose.yml`. Pure: paths and texts in, findings out.
 * Each rule is one the seeds' authors had to discover by hand after a failed deploy. This file walks
 * the bundle; the rule families live in option-rules, command-rules, platform-rules, container-rules
 * and script-rules, and every rule is listed in rules.ts (`ebship lint --rules`).
 */
export function lintBundle(files: Record<string, string>, target?: Target): Finding[] {
  const findings: Finding[] = [];
  const configs: ParsedConfig[] = [];
  const scripts: Script[] = [];
  const processes: ProcessCommand[] = [];
  let dockerrun: DockerrunSummary | undefined;
  const hasCompose = 'docker-compose.yml' in files;

  for (const path of Object.keys(files).sort()) {
    const text = files[path] ?? '';
    if (path.startsWith('.ebextensions/')) {
      if (!/^\.ebextensions\/[^/]+\.config$/.test(path)) {
        findings.push(
          at(
            {
              ruleId: 'ebextensions-ignored-file',
              severity: 'warning',
              message:
                'EB only reads files ending in .config directly inside .ebextensions/: this one is ignored',
              fix: 'Rename it to <name>.config at the top of .ebextensions/, or remove it.',
            },
            path,
          ),
        );
        continue;
      }
      const { parsed, findings: parseFindings } = parseEbextension(path, text);
      findings.push(...parseFindings);
      if (parsed) configs.push(parsed);
    } else if (/^\.platform\/(hooks|confighooks)\//.test(path)) {
      if (!text.startsWith('#!')) {
        findings.push(
          at(
            {
              ruleId: 'hook-no-shebang',
              severity: 'error',
              message:
                'platform hook has no #! line: EB executes hooks directly and the deploy fails with "exec format error"',
              fix: 'Start the file with #!/bin/bash (and make it executable: chmod +x).',
            },
            path,
            1,
          ),
        );
      }
      scripts.push({ file: path, line: 1, label: 'platform hook', text });
    } else if (path.startsWith('.platform/nginx/')) {
      findings.push(...nginxRedirectFindings(path, text));
    } else if (path === 'Procfile') {
      text.split('\n').forEach((l, i) => {
        const m = /^([A-Za-z0-9_-]+):\s*(.*)$/.exec(l);
        if (m?.[2])
          processes.push({ file: path, line: i + 1, label: `Procfile process "${m[1]}"`, command: m[2] });
      });
    } else if (path === 'Dockerrun.aws.json') {
      const result = lintDockerrun(path, text);
      findings.push(...result.findings);
      dockerrun = result.summary;
      processes.push(...(result.summary?.processes ?? []));
    } else if (path === 'docker-compose.yml') {
      const result = lintCompose(path, text);
      findings.push(...result.findings);
      processes.push(...result.processes);
    }
  }
  for (const c of target?.containers ?? []) {
    const command = [...(c.entryPoint ?? []), ...(c.command ?? [])].join(' ');
    if (command !== '') processes.push({ file: 'ebship.yml', label: `container "${c.name}"`, command });
  }

  const options = configs.flatMap((c) => c.options);
  const commands = configs.flatMap((c) => c.commands);
  for (const f of configs.flatMap((c) => c.files)) {
    if (f.path.startsWith('/opt/elasticbeanstalk/hooks/')) {
      findings.push(
        at(
          {
            ruleId: 'legacy-platform-hook',
            severity: 'warning',
            message: `writes a hook to ${f.path}: Amazon Linux 2 and later platforms never run /opt/elasticbeanstalk/hooks, so this script is silently skipped`,
            fix: 'Move the script to .platform/hooks/predeploy/ (and .platform/confighooks/predeploy/) in the bundle.',
          },
          f.file,
          f.line,
        ),
      );
    }
    if (f.path.endsWith('.sh') || f.content.startsWith('#!')) {
      scripts.push({
        file: f.file,
        line: f.contentLine,
        label: `the script written to ${f.path}`,
        text: f.content,
      });
    }
  }
  for (const c of commands) {
    scripts.push({ file: c.file, line: c.commandLine, label: `${c.section} "${c.name}"`, text: c.command });
  }

  for (const s of scripts) findings.push(...lintScript(s, target));
  for (const p of processes)
    findings.push(...gunicornLogProblems(p.command, p.label).map((x) => at(x, p.file, p.line)));
  findings.push(...optionFindings(options, target));
  findings.push(...commandFindings(commands));
  findings.push(...migrationFindings(files, options, commands, scripts, processes, target));
  findings.push(...wsgiFindings(files, options));
  findings.push(...healthCheckFindings(options, target));
  findings.push(...platformFindings(dockerrun, hasCompose, target));
  return findings;
}
