import type { Target } from '../config/schema.js';
import {
  type DockerrunSummary,
  gunicornLogProblems,
  lintCompose,
  lintDockerrun,
  type ProcessCommand,
} from './container-rules.js';
import {
  type ConfigCommand,
  type OptionSetting,
  type ParsedConfig,
  parseEbextension,
} from './ebextensions.js';
import { at, type Finding } from './finding.js';
import { lintScript, type Script } from './script-rules.js';
import { checkValue } from './value-checks.js';

/**
 * Lints a bundle: ebship's own rendered files and the user's `.ebextensions/`, `.platform/`,
 * `Procfile`, `Dockerrun.aws.json` and `docker-compose.yml`. Pure: paths and texts in, findings out.
 * Each rule is one the seeds' authors had to discover by hand after a failed deploy.
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

const ENVIRONMENT = 'aws:elasticbeanstalk:application:environment';
const ENVIRONMENT_SECRETS = 'aws:elasticbeanstalk:application:environmentsecrets';
const SECRET_NAME =
  /(SECRET|PASSWORD|PASSWD|PASSPHRASE|TOKEN|API_?KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIAL|AUTH_KEY|DSN)/i;
const REFERENCE_NAME = /_(ARN|NAME|FILE|PATH)$/i;
const CREDENTIAL_URL = /^[a-z][a-z0-9+.-]*:\/\/[^/\s@:]*:[^/\s@]+@/i;
const AWS_ACCESS_KEY = /^(AKIA|ASIA)[A-Z0-9]{16}$/;

function optionFindings(options: OptionSetting[], target?: Target): Finding[] {
  const findings: Finding[] = [];
  for (const o of options) {
    const value = o.value.trim();
    if (o.namespace === ENVIRONMENT_SECRETS && value !== '' && !value.startsWith('arn:')) {
      findings.push(
        at(
          {
            ruleId: 'environmentsecrets-not-arn',
            severity: 'error',
            message: `${o.name} in ${ENVIRONMENT_SECRETS} is not an ARN: EB only resolves Secrets Manager secret or SSM parameter ARNs there`,
            fix: 'Set the full ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<suffix>).',
          },
          o.file,
          o.line,
        ),
      );
      continue;
    }
    if (o.namespace !== ENVIRONMENT || value === '' || value.startsWith('arn:') || /^\$\{.*\}$/.test(value))
      continue;
    const declared = target?.secrets[o.name] !== undefined;
    const reason = declared
      ? `ebship.yml declares ${o.name} as a secret, yet this file sets it in plain text`
      : AWS_ACCESS_KEY.test(value)
        ? `${o.name} holds a static AWS access key in plain text`
        : SECRET_NAME.test(o.name) && !REFERENCE_NAME.test(o.name)
          ? `${o.name} looks like a secret and is set in plain text`
          : CREDENTIAL_URL.test(value)
            ? `${o.name} is a URL with a password in plain text`
            : undefined;
    if (reason !== undefined) {
      findings.push(
        at(
          {
            ruleId: 'plaintext-secret',
            severity: 'error',
            message: `${reason}: it is stored in the bundle, shown in the EB console and returned by DescribeConfigurationSettings`,
            fix: AWS_ACCESS_KEY.test(value)
              ? 'Remove the static keys and grant the EB instance profile the access instead; rotate the exposed key.'
              : `Put the value in Secrets Manager, declare ${o.name} under secrets in ebship.yml (ebship passes its ARN through ${ENVIRONMENT_SECRETS}), remove it from this file, and rotate it.`,
          },
          o.file,
          o.line,
        ),
      );
    }
    // Connection URLs in plain settings get the same checks as secrets, messages naming only the variable.
    if (value.includes('://')) {
      const format = /DATABASE_URL$/i.test(o.name)
        ? 'database-url'
        : /(REDIS|BROKER|CACHE|CELERY_RESULT_BACKEND).*URL$/i.test(o.name) || /^rediss?:\/\//i.test(value)
          ? 'redis-url'
          : undefined;
      if (format !== undefined && target) {
        for (const p of checkValue(value, format, `${o.name} in option_settings`, target))
          findings.push(at(p, o.file, o.line));
      }
    }
  }
  return findings;
}

const PIP_INSTALL = /\b(pip3?|python3?\s+-m\s+pip)\s+install\b/;
const DATA_WRITES =
  /\b(manage\.py|django-admin)\s+(loaddata|createsuperuser|flush)\b|\bpsql\b[^\n]*\s-[cf]\s/;

function commandFindings(commands: ConfigCommand[]): Finding[] {
  const findings: Finding[] = [];
  for (const c of commands) {
    if (PIP_INSTALL.test(c.command)) {
      findings.push(
        at(
          {
            ruleId: 'pip-install-in-deploy',
            severity: 'error',
            message: `${c.section} "${c.name}" runs pip install on every deploy${c.leaderOnly ? '' : ' and every instance'}: installs race with the running app, and a slow or failed download fails the deploy`,
            fix: 'Remove it: the Python platform installs requirements.txt itself, and a container image should already contain its dependencies.',
          },
          c.file,
          c.line,
        ),
      );
    } else if (DATA_WRITES.test(c.command) && !c.leaderOnly) {
      findings.push(
        at(
          {
            ruleId: 'not-leader-only',
            severity: 'error',
            message: `${c.section} "${c.name}" writes data and runs on every instance: each instance repeats it`,
            fix:
              c.section === 'commands'
                ? 'Move it to container_commands with leader_only: true.'
                : 'Add leader_only: true.',
          },
          c.file,
          c.line,
        ),
      );
    }
  }
  return findings;
}

const MIGRATE = /\b(manage\.py|django-admin)\s+migrate\b(?![^\n;&|]*--(check|plan))/;
const IGNORED_FAILURE = /\|\|\s*(true|:|exit\s+0)\b|;\s*(true|exit\s+0)\s*$/;
const DOCKER_EXEC = /\bdocker(-compose|\s+compose)?\s+(exec|run)\b/;

function migrationFindings(
  files: Record<string, string>,
  options: OptionSetting[],
  commands: ConfigCommand[],
  scripts: Script[],
  processes: ProcessCommand[],
  target?: Target,
): Finding[] {
  const findings: Finding[] = [];
  const containerBundle = 'Dockerrun.aws.json' in files || 'docker-compose.yml' in files;
  const migrateCommands = commands.filter((c) => MIGRATE.test(c.command));

  for (const c of migrateCommands) {
    if (c.section === 'commands' || !c.leaderOnly) {
      findings.push(
        at(
          {
            ruleId: 'migrate-not-leader-only',
            severity: 'error',
            message: `${c.section} "${c.name}" runs migrations on every instance at once: concurrent migrations collide and fail the deploy`,
            fix: 'Run migrations from container_commands with leader_only: true.',
          },
          c.file,
          c.line,
        ),
      );
    }
    if (c.ignoreErrors || IGNORED_FAILURE.test(c.command)) {
      findings.push(
        at(
          {
            ruleId: 'migrate-failure-ignored',
            severity: 'error',
            message: `${c.section} "${c.name}" ignores a failed migration: the new code goes live against the old schema`,
            fix: 'Remove ignoreErrors and "|| true"; let a failed migration fail the deploy (ebship rolls back).',
          },
          c.file,
          c.line,
        ),
      );
    }
    if (DOCKER_EXEC.test(c.command) && (containerBundle || target !== undefined)) {
      findings.push(
        at(
          {
            ruleId: 'migrate-before-containers',
            severity: 'error',
            message: `${c.section} "${c.name}" migrates through docker, but container_commands run before EB deploys the new version: it reaches the old container, or none on a new instance`,
            fix: "Run migrations from the image's start command or a one-off container of the new version; ebship's migrationCheck then confirms they applied.",
          },
          c.file,
          c.line,
        ),
      );
    }
  }

  // EB runs config files in name order, and container_commands in name order within a file.
  const order = commands
    .filter((c) => c.section === 'container_commands')
    .sort((a, b) => (a.file === b.file ? a.name.localeCompare(b.name) : a.file.localeCompare(b.file)));
  const firstMigrate = order.findIndex((c) => MIGRATE.test(c.command));
  const firstCollect = order.findIndex((c) => /\bcollectstatic\b/.test(c.command));
  const collect = order[firstCollect];
  if (firstMigrate > firstCollect && firstCollect >= 0 && collect) {
    findings.push(
      at(
        {
          ruleId: 'migrate-after-collectstatic',
          severity: 'warning',
          message: `container_commands "${collect.name}" (collectstatic) runs before the migrations: settings or storage that read the database see the old schema, and a failing migration leaves new static files live`,
          fix: 'Name the migrate command so it sorts first (01_migrate, 02_collectstatic).',
        },
        collect.file,
        collect.line,
      ),
    );
  }

  for (const s of scripts) {
    if (s.label === 'platform hook' && MIGRATE.test(s.text) && !/leader/i.test(s.text)) {
      findings.push(
        at(
          {
            ruleId: 'migrate-not-leader-only',
            severity: 'warning',
            message: 'platform hook runs migrations on every instance: hooks have no leader_only',
            fix: 'Run migrations from container_commands with leader_only: true, or guard the hook so one instance runs them.',
          },
          s.file,
          s.line,
        ),
      );
    }
  }

  const migrates =
    migrateCommands.length > 0 ||
    scripts.some((s) => MIGRATE.test(s.text)) ||
    processes.some((p) => MIGRATE.test(p.command));
  const allText = Object.values(files).join('\n');
  const django =
    target?.migrationCheck !== undefined ||
    /manage\.py|DJANGO_SETTINGS_MODULE|\.wsgi:application/.test(allText) ||
    options.some((o) => o.name === 'WSGIPath');
  // In a container bundle the image's start command may migrate, which preflight cannot see; when the
  // target has a migrationCheck, ebship verifies after the deploy instead (and rolls back).
  if (django && !migrates && !(containerBundle && target?.migrationCheck)) {
    findings.push(
      at({
        ruleId: 'migrate-missing',
        severity: containerBundle ? 'warning' : 'error',
        message: containerBundle
          ? "nothing in the bundle runs Django migrations; unless the image's start command does, new models have no tables"
          : 'nothing in the bundle runs Django migrations: new models have no tables and the app crashes on first use',
        fix: containerBundle
          ? "Migrate from the web container's start command (python manage.py migrate --noinput && exec gunicorn ...), and add migrationCheck to the target in ebship.yml so ebship confirms it."
          : 'Add container_commands: 01_migrate: { command: "python manage.py migrate --noinput", leader_only: true }, before collectstatic.',
      }),
    );
  }
  return findings;
}

function wsgiFindings(files: Record<string, string>, options: OptionSetting[]): Finding[] {
  if (!('Procfile' in files)) return [];
  return options
    .filter((o) => o.namespace === 'aws:elasticbeanstalk:container:python' && o.name === 'WSGIPath')
    .map((o) =>
      at(
        {
          ruleId: 'wsgipath-with-procfile',
          severity: 'error',
          message:
            'WSGIPath is set while a Procfile exists: EB ignores it (the Procfile decides how the app starts), so the setting misleads whoever reads it',
          fix: 'Remove the aws:elasticbeanstalk:container:python WSGIPath/NumProcesses/NumThreads settings and keep the Procfile.',
        },
        o.file,
        o.line,
      ),
    );
}

function healthPath(o: OptionSetting): string | undefined {
  const direct =
    (o.namespace === 'aws:elasticbeanstalk:application' && o.name === 'Application Healthcheck URL') ||
    (o.namespace === 'aws:elasticbeanstalk:environment:process:default' && o.name === 'HealthCheckPath') ||
    (o.namespace === 'aws:elb:healthcheck' && o.name === 'Target');
  if (!direct || o.value.trim() === '') return undefined;
  // "HTTP:80/health" and "/health" both name /health.
  const path = o.value.trim().replace(/^[A-Za-z]+:\d+/, '');
  return path.startsWith('/') ? path : `/${path}`;
}

function truthy(value: string | undefined): boolean {
  return /^(true|yes|on|1)$/i.test((value ?? '').trim());
}

function healthCheckFindings(options: OptionSetting[], target?: Target): Finding[] {
  const findings: Finding[] = [];
  const set = options.filter((o) => healthPath(o) !== undefined);
  if (set.length === 0) {
    findings.push(
      at({
        ruleId: 'health-check-path-missing',
        severity: 'warning',
        message:
          'no health check path is set: EB checks "/", which a Django app often answers with 400 (ALLOWED_HOSTS) or a redirect, so healthy instances look unhealthy',
        fix: `Set aws:elasticbeanstalk:environment:process:default HealthCheckPath (load-balanced) or aws:elasticbeanstalk:application "Application Healthcheck URL" to ${target?.health.path ?? 'a path that returns 200 without auth or redirects'}.`,
      }),
    );
  } else if (target) {
    for (const o of set) {
      if (healthPath(o) !== target.health.path) {
        findings.push(
          at(
            {
              ruleId: 'health-check-path-mismatch',
              severity: 'warning',
              message: `${o.name} points EB at a different path than health.path in ebship.yml (${target.health.path})`,
              fix: 'Use one path in both places.',
            },
            o.file,
            o.line,
          ),
        );
      }
    }
  }
  const env = new Map<string, { value: string; file: string; line?: number }>();
  for (const [name, value] of Object.entries(target?.environmentVariables ?? {}))
    env.set(name, { value, file: 'ebship.yml' });
  for (const o of options.filter((x) => x.namespace === ENVIRONMENT))
    env.set(o.name, { value: o.value, file: o.file, line: o.line });
  const redirect = [...env].find(([name, v]) => /SECURE_SSL_REDIRECT$/i.test(name) && truthy(v.value));
  const exempt = [...env.keys()].some((name) => /HEALTH_?CHECK|SECURE_REDIRECT_EXEMPT/i.test(name));
  if (redirect && !exempt) {
    findings.push(
      at(
        {
          ruleId: 'https-redirect-health-check',
          severity: 'warning',
          message: `${redirect[0]} redirects every HTTP request to HTTPS, including EB's health check, which speaks plain HTTP and counts the 301 as a failure`,
          fix: 'Exempt the health check path (Django SECURE_REDIRECT_EXEMPT, or an EB_HEALTHCHECK switch the settings read), or terminate HTTPS at the load balancer and trust X-Forwarded-Proto.',
        },
        redirect[1].file,
        redirect[1].line,
      ),
    );
  }
  return findings;
}

function nginxRedirectFindings(file: string, text: string): Finding[] {
  if (/ELB-HealthChecker/i.test(text)) return [];
  const lines = text.split('\n');
  const index = lines.findIndex(
    (l) => !l.trim().startsWith('#') && /\breturn\s+30[1278]\s+https:|\brewrite\s+\S+\s+https:\/\//.test(l),
  );
  if (index < 0) return [];
  return [
    at(
      {
        ruleId: 'https-redirect-health-check',
        severity: 'error',
        message:
          "nginx redirects all HTTP to HTTPS, including EB's health checker: every instance is marked unhealthy and the deploy never turns green",
        fix: 'Skip the redirect for the health checker: if ($http_user_agent !~ "ELB-HealthChecker") { return 301 https://$host$request_uri; }',
      },
      file,
      index + 1,
    ),
  ];
}

function platformFindings(
  dockerrun: DockerrunSummary | undefined,
  hasCompose: boolean,
  target?: Target,
): Finding[] {
  if (!target) return [];
  const mismatch = (file: string, message: string, fix: string) =>
    at({ ruleId: 'bundle-platform-mismatch', severity: 'error', message, fix }, file);
  if (target.platform === 'ecs') {
    if (hasCompose && dockerrun?.version !== 2)
      return [
        mismatch(
          'docker-compose.yml',
          'the target is on the ECS platform, which ignores docker-compose.yml and needs Dockerrun.aws.json v2',
          'Remove docker-compose.yml and describe the containers in ebship.yml (ebship renders Dockerrun v2), or set platform: docker.',
        ),
      ];
    if (dockerrun && dockerrun.version !== 2)
      return [
        mismatch(
          'Dockerrun.aws.json',
          `the target is on the ECS platform, which needs AWSEBDockerrunVersion 2 (found ${dockerrun.version ?? 'none'})`,
          'Set "AWSEBDockerrunVersion": 2 with containerDefinitions.',
        ),
      ];
  } else if (dockerrun?.version === 2) {
    return [
      mismatch(
        'Dockerrun.aws.json',
        'Dockerrun.aws.json v2 is for the ECS platform; the target is on the Docker platform, which refuses it',
        'Use docker-compose.yml (ebship renders it from ebship.yml), or set platform: ecs.',
      ),
    ];
  }
  return [];
}
