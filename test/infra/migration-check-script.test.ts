import { execFile, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CHECK_EXIT } from '../../lib/aws/migration-check.js';
import { RELEASE_EXIT } from '../../lib/aws/release-phase.js';

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

/**
 * The release-phase script (infra/release-script.cjs) under the same shells, with a stand-in `docker`
 * and `aws` that log what they were asked to do. What a user would notice: the command ran in the new
 * image with the app container's environment, the secrets file was private (0600, in a 0700
 * directory on a tmpfs) and is gone afterwards whatever happened, and each failure has its own code.
 */
const { releaseScript, RELEASE_EXIT: SCRIPT_RELEASE_EXIT } = createRequire(import.meta.url)(
  '../../infra/release-script.cjs',
) as {
  releaseScript: (p: {
    container: string;
    repository: string;
    argv: string[];
    timeoutSeconds: number;
    registry?: string;
    region?: string;
    digest?: string;
  }) => string;
  RELEASE_EXIT: Record<string, number>;
};

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const REGISTRY = '123456789012.dkr.ecr.us-east-1.amazonaws.com';

describe('release phase script', () => {
  let fakes: string;
  let shm: string;
  let log: string;
  beforeAll(() => {
    fakes = mkdtempSync(join(tmpdir(), 'ebship-release-fakes-'));
    log = join(fakes, 'calls.log');
    // docker: `ps` knows the ECS container django; `inspect` gives its env (two secrets, one image
    // line); `image inspect` gives the old image's own env; `run` records its env file (path, mode,
    // directory mode, content) and exits with $RUN_EXIT after $RUN_SLEEP seconds.
    writeFileSync(
      join(fakes, 'docker'),
      [
        '#!/bin/sh',
        'echo "docker $*" >>"$FAKE_LOG"',
        'case "$1" in',
        '  ps) case "$*" in *container-name=django*) echo ecs0001 ;; esac; exit 0 ;;',
        '  inspect)',
        '    case "$3" in',
        '      *len*) echo 3 ;;',
        '      *.Image*) echo sha256:old ;;',
        '      *) printf "PATH=/usr/local/bin:/usr/bin\\nDATABASE_URL=postgres://app:s3cret@db/app\\nDJANGO_SECRET_KEY=k3y\\n" ;;',
        '    esac; exit 0 ;;',
        '  image) printf "PATH=/usr/local/bin:/usr/bin\\n"; exit 0 ;;',
        '  login) cat >/dev/null; echo "login $DOCKER_CONFIG" >>"$FAKE_LOG"; exit 0 ;;',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion.
        '  pull) exit "${PULL_EXIT:-0}" ;;',
        '  rm) exit 0 ;;',
        '  run)',
        '    while [ $# -gt 0 ]; do',
        '      if [ "$1" = --env-file ]; then',
        '        echo "envfile $2 $(stat -c %a "$2") $(stat -c %a "$(dirname "$2")")" >>"$FAKE_LOG"',
        '        sed "s/^/env /" "$2" >>"$FAKE_LOG"',
        '      fi',
        '      shift',
        '    done',
        '    [ -n "$RUN_SLEEP" ] && sleep "$RUN_SLEEP"',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion.
        '    exit "${RUN_EXIT:-0}" ;;',
        'esac',
        'exit 99',
      ].join('\n'),
      { mode: 0o755 },
    );
    writeFileSync(join(fakes, 'aws'), '#!/bin/sh\necho "aws $*" >>"$FAKE_LOG"\necho token\n', {
      mode: 0o755,
    });
  });
  afterAll(() => rmSync(fakes, { recursive: true, force: true }));

  const script = (argv: string[] = ['python', 'manage.py', 'migrate', '--noinput'], timeoutSeconds = 60) =>
    releaseScript({
      container: 'django',
      repository: 'antenna-backend',
      argv,
      timeoutSeconds,
      registry: REGISTRY,
      region: 'us-east-1',
      digest: DIGEST,
    });

  function calls(): string[] {
    try {
      return readFileSync(log, 'utf8').trim().split('\n');
    } catch {
      return [];
    }
  }
  /** What is left in the tmpfs after the script: must be nothing. */
  const leftovers = () => readdirSync(shm);

  it('uses the exit codes lib/aws/release-phase.ts reads', () => {
    expect(SCRIPT_RELEASE_EXIT).toEqual(RELEASE_EXIT);
  });

  it('refuses a digest, registry or region with shell characters when it is generated', () => {
    expect(() =>
      releaseScript({
        container: 'django',
        repository: 'r',
        argv: ['true'],
        timeoutSeconds: 5,
        digest: "x'; reboot",
      }),
    ).toThrow(/unsafe characters/);
    expect(() =>
      releaseScript({ container: "dj'ango", repository: 'r', argv: ['true'], timeoutSeconds: 5 }),
    ).toThrow(/letters, digits/);
  });

  for (const { name, argv: shell } of SHELLS) {
    const path = shellPath(shell[0] ?? '');
    const run = (text: string, env: Record<string, string> = {}) =>
      runScript([path ?? 'sh', ...shell.slice(1)], text, {
        PATH: `${fakes}:/usr/bin:/bin`,
        FAKE_LOG: log,
        EBSHIP_TMPFS: shm,
        ...env,
      });
    describe(`under ${name}`, () => {
      beforeEach(() => {
        rmSync(log, { force: true });
        shm = mkdtempSync('/dev/shm/ebship-test-');
      });
      afterEach(() => rmSync(shm, { recursive: true, force: true }));

      it.skipIf(path === undefined)(
        "runs the argv in the new image with the app container's environment from a private tmpfs file, then removes it",
        async () => {
          const argv = ['python', 'manage.py', 'migrate', '$(id)', "it's"];
          const result = await run(script(argv));

          expect(result.code).toBe(RELEASE_EXIT.passed);
          const log = calls();
          const runLine = log.find((l) => l.startsWith('docker run'));
          expect(runLine).toContain(
            `--network container:ecs0001 ${REGISTRY}/antenna-backend@${DIGEST} ${argv.join(' ')}`,
          );
          const envfile = log.find((l) => l.startsWith('envfile '))?.split(' ') ?? [];
          expect(envfile[1]?.startsWith(`${shm}/ebship-release.`)).toBe(true);
          expect(envfile.slice(2)).toEqual(['600', '700']);
          // The app's secrets, not the old image's own PATH (the new image brings its own).
          expect(log.filter((l) => l.startsWith('env '))).toEqual([
            'env DATABASE_URL=postgres://app:s3cret@db/app',
            'env DJANGO_SECRET_KEY=k3y',
          ]);
          // docker's ECR login lives in the same private directory, not in ~/.docker.
          expect(log.find((l) => l.startsWith('login '))).toMatch(
            new RegExp(`^login ${shm}/ebship-release\\.`),
          );
          expect(log).toContain(`aws ecr get-login-password --region us-east-1`);
          expect(result.stdout + result.stderr).not.toContain('s3cret');
          expect(leftovers()).toEqual([]);
        },
      );

      it.skipIf(path === undefined)(
        'reports a failing command as exit 3 with its own code, and cleans up',
        async () => {
          const result = await run(script(), { RUN_EXIT: '2' });

          expect(result.code).toBe(RELEASE_EXIT.failed);
          expect(result.stderr).toContain('ebship-release-exit=2');
          expect(leftovers()).toEqual([]);
        },
      );

      it.skipIf(path === undefined)(
        'stops a command that overruns its timeout (exit 6), removes the one-off container and the secrets',
        async () => {
          const result = await run(script(['sleep'], 1), { RUN_SLEEP: '5' });

          expect(result.code).toBe(RELEASE_EXIT.timedOut);
          expect(calls().some((l) => /^docker rm -f ebship-release-\d+$/.test(l))).toBe(true);
          expect(leftovers()).toEqual([]);
        },
      );

      it.skipIf(path === undefined)(
        'removes the secrets when the script itself is killed (TERM)',
        async () => {
          const [cmd = 'sh', ...args] = [path ?? 'sh', ...shell.slice(1)];
          const child = spawn(cmd, [...args, '-c', script()], {
            env: {
              HOME: fakes,
              PATH: `${fakes}:/usr/bin:/bin`,
              FAKE_LOG: log,
              EBSHIP_TMPFS: shm,
              RUN_SLEEP: '30',
            },
          });
          const ended = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
          // Wait until the one-off container runs (the env file is written), then stop the script.
          for (let i = 0; i < 200 && !calls().some((l) => l.startsWith('envfile ')); i++) await sleep(25);
          expect(leftovers()).toHaveLength(1);
          child.kill('SIGTERM');

          expect(await ended).toBe(143);
          expect(leftovers()).toEqual([]);
        },
      );

      it.skipIf(path === undefined)(
        'exits 7 when the new image cannot be pulled, naming the permissions',
        async () => {
          const result = await run(script(), { PULL_EXIT: '1' });

          expect(result.code).toBe(RELEASE_EXIT.cannotPull);
          expect(result.stderr).toContain('ecr:BatchGetImage');
          expect(leftovers()).toEqual([]);
        },
      );

      it.skipIf(path === undefined)('refuses to write secrets outside a tmpfs (exit 5)', async () => {
        const disk = mkdtempSync(join(process.cwd(), '.ebship-disk-'));
        try {
          const result = await run(script(), { EBSHIP_TMPFS: disk });
          expect(result.code).toBe(RELEASE_EXIT.cannotStart);
          expect(result.stderr).toContain('is not a tmpfs');
          expect(readdirSync(disk)).toEqual([]);
          expect(calls().some((l) => l.startsWith('docker run'))).toBe(false);
        } finally {
          rmSync(disk, { recursive: true, force: true });
        }
      });

      it.skipIf(path === undefined)('exits 4 when no container has the configured name', async () => {
        const text = releaseScript({
          container: 'web',
          repository: 'antenna-backend',
          argv: ['true'],
          timeoutSeconds: 5,
          registry: REGISTRY,
          region: 'us-east-1',
          digest: DIGEST,
        });
        const result = await run(text);

        expect(result.code).toBe(RELEASE_EXIT.noContainer);
        expect(leftovers()).toEqual([]);
      });
    });
  }
});
