import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECK_EXIT } from '../../lib/aws/migration-check.js';

/**
 * The migration check script that each target's SSM document runs (infra/migration-check-script.cjs),
 * run under every shell EB's Docker and ECS platforms may start it with: dash (a plain POSIX sh) and
 * bash (AL2 has 4.2, AL2023 5.2; the script uses nothing newer than POSIX, so `bash --posix` and
 * plain bash cover both), with a stand-in `docker` on PATH.
 */

const { migrationCheckScript, MIGRATION_CHECK_EXIT } = createRequire(import.meta.url)(
  '../../infra/migration-check-script.cjs',
) as {
  migrationCheckScript: (container: string, argv: string[]) => string;
  MIGRATION_CHECK_EXIT: Record<string, number>;
};

function shellPath(name: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const SHELLS: { name: string; argv: string[] }[] = [
  { name: 'dash', argv: ['dash'] },
  { name: 'bash', argv: ['bash'] },
  { name: 'bash --posix', argv: ['bash', '--posix'] },
];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let bin: string;
beforeAll(() => {
  bin = mkdtempSync(join(tmpdir(), 'ebship-docker-'));
  // `docker ps` knows one ECS container (django) and one compose service (web); `docker exec`
  // prints each argument on its own line and exits with the number in its first argument when that
  // argument is `exit=N`. With DOCKER_DOWN set, `docker ps` fails like a stopped daemon.
  writeFileSync(
    join(bin, 'docker'),
    [
      '#!/bin/sh',
      'if [ "$1" = ps ]; then',
      '  if [ -n "$DOCKER_DOWN" ]; then echo "Cannot connect to the Docker daemon" >&2; exit 1; fi',
      '  case "$*" in',
      '    *com.amazonaws.ecs.container-name=django*) printf "ecs0001\\necs0002\\n" ;;',
      '    *com.docker.compose.service=web*) echo cmp0001 ;;',
      '  esac',
      '  exit 0',
      'fi',
      'if [ "$1" = exec ]; then',
      '  shift; echo "container=$1"; shift',
      '  for a in "$@"; do printf "arg=[%s]\\n" "$a"; done',
      '  case "$1" in exit=*) exit "$(printf %s "$1" | cut -c6-)" ;; esac',
      '  exit 0',
      'fi',
      'exit 99',
    ].join('\n'),
  );
  chmodSync(join(bin, 'docker'), 0o755);
});
afterAll(() => rmSync(bin, { recursive: true, force: true }));

function runScript(shell: string[], script: string, env: Record<string, string> = {}): Promise<Run> {
  const [cmd = 'sh', ...args] = shell;
  return new Promise((resolve) => {
    execFile(
      cmd,
      [...args, '-c', script],
      // HOME without a .bashrc: bash reads ~/.bashrc when it thinks stdin is a remote shell's socket.
      { env: { HOME: bin, PATH: `${bin}:/usr/bin:/bin`, ...env } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('migration check script', () => {
  it('uses the exit codes lib/aws/migration-check.ts reads', () => {
    expect(MIGRATION_CHECK_EXIT).toEqual(CHECK_EXIT);
  });

  it('refuses a container name that is not a plain name, and NUL in an argument', () => {
    expect(() => migrationCheckScript("web'; reboot", ['true'])).toThrow(/letters, digits/);
    expect(() => migrationCheckScript('web', ['a\0b'])).toThrow(/without NUL/);
  });

  for (const { name, argv: shell } of SHELLS) {
    const path = shellPath(shell[0] ?? '');
    const run = (script: string, env?: Record<string, string>) =>
      runScript([path ?? 'sh', ...shell.slice(1)], script, env);
    describe(`under ${name}`, () => {
      // CI installs dash and bash (Debian packages); elsewhere a missing shell is reported, not hidden.
      it.skipIf(path === undefined)(
        `runs the argv in the ECS container, every argument intact and nothing evaluated${path ? '' : ` (skipped: ${shell[0]} is not installed; apt-get install ${shell[0]})`}`,
        async () => {
          const argv = [
            'python',
            'manage.py',
            'two words',
            '$(touch /tmp/ebship-pwned)',
            "it's `id`",
            '{{ image }}',
            'trailing\n\n',
            '',
          ];

          const result = await run(migrationCheckScript('django', argv));

          expect(result.code).toBe(CHECK_EXIT.passed);
          expect(result.stdout).toBe(`container=ecs0001\n${argv.map((a) => `arg=[${a}]`).join('\n')}\n`);
        },
      );

      it.skipIf(path === undefined)(
        'finds a docker compose service and reports a failed check as exit 3 with its own code',
        async () => {
          const result = await run(migrationCheckScript('web', ['exit=1', 'migrate', '--check']));

          expect(result.code).toBe(CHECK_EXIT.checkFailed);
          expect(result.stdout).toContain('container=cmp0001');
          expect(result.stderr).toContain('ebship-check-exit=1');
        },
      );

      it.skipIf(path === undefined)(
        'keeps a check that exits 4 or 5 apart from "no container" and "cannot start"',
        async () => {
          const result = await run(migrationCheckScript('web', ['exit=4']));

          expect(result.code).toBe(CHECK_EXIT.checkFailed);
          expect(result.stderr).toContain('ebship-check-exit=4');
        },
      );

      it.skipIf(path === undefined)(
        'exits 4 with an explanation when no container has that name',
        async () => {
          const result = await run(migrationCheckScript('celeryworker', ['true']));

          expect(result.code).toBe(CHECK_EXIT.noContainer);
          expect(result.stderr).toContain("no running container named 'celeryworker'");
        },
      );

      it.skipIf(path === undefined)('exits 5 when the Docker daemon does not answer', async () => {
        const result = await run(migrationCheckScript('django', ['true']), { DOCKER_DOWN: '1' });

        expect(result.code).toBe(CHECK_EXIT.cannotStart);
        expect(result.stderr).toContain('docker ps failed');
      });

      it.skipIf(path === undefined)('exits 5 when docker is not installed', async () => {
        const result = await run(migrationCheckScript('django', ['true']), {
          PATH: toolsWithoutDocker(),
        });

        expect(result.code).toBe(CHECK_EXIT.cannotStart);
        expect(result.stderr).toContain('docker is not installed');
      });
    });
  }
});

/** A PATH with base64, head and uname but no docker: links to just those tools. */
let toolsDir: string | undefined;
function toolsWithoutDocker(): string {
  if (toolsDir) return toolsDir;
  toolsDir = mkdtempSync(join(tmpdir(), 'ebship-tools-'));
  for (const tool of ['base64', 'head', 'uname']) {
    const real = shellPath(tool);
    if (real) writeFileSync(join(toolsDir, tool), `#!/bin/sh\nexec ${real} "$@"\n`, { mode: 0o755 });
  }
  return toolsDir;
}
afterAll(() => {
  if (toolsDir) rmSync(toolsDir, { recursive: true, force: true });
});
