import type { Target } from '../config/schema.js';
import type { ProcessCommand } from './container-rules.js';
import type { ConfigCommand, OptionSetting } from './ebextensions.js';
import { at, type Finding } from './finding.js';
import type { Script } from './script-rules.js';

/** Rules on commands and migrations: pip installs in a deploy, leader_only, how and when Django migrates. */

const PIP_INSTALL = /\b(pip3?|python3?\s+-m\s+pip)\s+install\b/;
const DATA_WRITES =
  /\b(manage\.py|django-admin)\s+(loaddata|createsuperuser|flush)\b|\bpsql\b[^\n]*\s-[cf]\s/;

export function commandFindings(commands: ConfigCommand[]): Finding[] {
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

export function migrationFindings(
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

  // The release phase (ebship.yml `release:`) applies migrations when its argv does; a check
  // (migrationCheck, or a `checks:` entry running `migrate --check`) only confirms them. An image that
  // migrates in its own start command is invisible here: the target says so with
  // `migrations: { appliedBy: image }`, an explicit claim that the migration check then verifies.
  const releaseMigrates = target?.release !== undefined && MIGRATE.test(target.release.command.join(' '));
  const migrates =
    releaseMigrates ||
    target?.migrations?.appliedBy === 'image' ||
    migrateCommands.length > 0 ||
    scripts.some((s) => MIGRATE.test(s.text)) ||
    processes.some((p) => MIGRATE.test(p.command));
  const checksMigrations =
    target?.migrationCheck !== undefined ||
    (target?.checks ?? []).some((c) => /\bmigrate\b/.test(c.command.join(' ')));
  const allText = Object.values(files).join('\n');
  const django =
    checksMigrations ||
    /manage\.py|DJANGO_SETTINGS_MODULE|\.wsgi:application/.test(allText) ||
    options.some((o) => o.name === 'WSGIPath');
  if (django && !migrates) {
    const releaseFix =
      "Add a release phase to the target in ebship.yml: release: { container: <web container>, command: [python, manage.py, migrate, --noinput] } (runs the new image once, before the environment changes). If the image's start command already migrates, say so: migrations: { appliedBy: image }.";
    findings.push(
      at({
        ruleId: 'migrate-missing',
        severity: 'error',
        message: checksMigrations
          ? 'nothing applies Django migrations: the target only checks them (a check is not a migration), so any release that adds one fails its check and rolls back'
          : containerBundle
            ? 'nothing runs Django migrations: no release phase, no container_commands or platform hook, and the target does not say its image migrates: new models have no tables'
            : 'nothing in the bundle runs Django migrations: new models have no tables and the app crashes on first use',
        fix: containerBundle
          ? releaseFix
          : 'Add container_commands: 01_migrate: { command: "python manage.py migrate --noinput", leader_only: true }, before collectstatic, or a release phase in ebship.yml.',
      }),
    );
  }
  return findings;
}
