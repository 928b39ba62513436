'use strict';

/**
 * The migration check script: one per target, generated at package time with the container name
 * and argv fixed from ebship.yml, so the SSM document takes no parameters and its role cannot run
 * anything else (infra/config-vars.cjs puts one document per target in the stack).
 *
 * Written for POSIX sh: EB's Docker and ECS platforms run it under bash 4.2 (Amazon Linux 2: no
 * `mapfile -d`), bash 5.2 (AL2023) or a plain sh, whichever runShellScript starts. Each argument is
 * embedded as base64 and decoded into a positional parameter, so no byte of the argv is ever shell
 * syntax, and no `{{ }}` in it can be read as an SSM parameter reference.
 *
 * The script owns its exit codes; lib/aws/migration-check.ts reads them (keep the two in step):
 */
const EXIT = {
  /** The check ran and exited 0: no unapplied migrations. */
  passed: 0,
  /** The check ran and exited non-zero: its own code is on stderr as `ebship-check-exit=N`. */
  checkFailed: 3,
  /** No running container carries the configured name (ECS label or compose service). */
  noContainer: 4,
  /** docker (or base64) is missing, or `docker ps` failed: the check could not be started. */
  cannotStart: 5,
};

const CONTAINER = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/** Returns the script text for one target's check. */
function migrationCheckScript(container, argv) {
  if (typeof container !== 'string' || !CONTAINER.test(container)) {
    throw new Error(`migration check container "${container}" must be letters, digits, "_" or "-"`);
  }
  if (!Array.isArray(argv) || argv.length === 0)
    throw new Error('migration check command must be a non-empty list');
  for (const arg of argv) {
    if (typeof arg !== 'string' || arg.includes('\0')) {
      throw new Error('migration check command arguments must be strings without NUL characters');
    }
  }
  // `printf x` after the decoded bytes keeps trailing newlines, which $(...) would strip.
  const decode = argv.map((arg, i) => {
    const b64 = Buffer.from(arg, 'utf8').toString('base64');
    return `a${i}=$(printf '%s' '${b64}' | base64 -d && printf x) || exit ${EXIT.cannotStart}\na${i}=\${a${i}%x}`;
  });
  const positional = argv.map((_, i) => `"$a${i}"`).join(' ');
  return `#!/bin/sh
# ebship migration check, generated from ebship.yml at package time: change ebship.yml and redeploy.
container='${container}'
${decode.join('\n')}
set -- ${positional}
if ! command -v docker >/dev/null 2>&1; then
  echo "ebship: docker is not installed on $(uname -n); the migration check needs the Docker or ECS platform" >&2
  exit ${EXIT.cannotStart}
fi
# ECS platform: the ECS agent labels containers with their Dockerrun name.
# Docker platform: docker compose labels them with their service name.
if ! ecs=$(docker ps --quiet --filter "label=com.amazonaws.ecs.container-name=$container"); then
  echo "ebship: docker ps failed on $(uname -n); is the Docker daemon running?" >&2
  exit ${EXIT.cannotStart}
fi
if ! compose=$(docker ps --quiet --filter "label=com.docker.compose.service=$container"); then
  echo "ebship: docker ps failed on $(uname -n); is the Docker daemon running?" >&2
  exit ${EXIT.cannotStart}
fi
cid=$ecs
[ -n "$cid" ] || cid=$compose
cid=$(printf '%s\\n' "$cid" | head -n 1)
if [ -z "$cid" ]; then
  echo "ebship: no running container named '$container' on $(uname -n); check migrationCheck.container in ebship.yml" >&2
  exit ${EXIT.noContainer}
fi
docker exec "$cid" "$@"
status=$?
if [ "$status" -ne 0 ]; then
  echo "ebship-check-exit=$status" >&2
  exit ${EXIT.checkFailed}
fi
exit ${EXIT.passed}
`;
}

module.exports = { migrationCheckScript, MIGRATION_CHECK_EXIT: EXIT };
