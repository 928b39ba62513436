'use strict';

/**
 * The release-phase script: one per target with `release:` in ebship.yml, generated at package time
 * (infra/config-vars.cjs puts it in the target's SSM document). It runs the configured argv once, in
 * a one-off container of the NEW image, with the environment and secrets of the app container that
 * runs on the instance now, before UpdateEnvironment.
 *
 * What is fixed here, from ebship.yml: the container whose environment is borrowed, the repository,
 * the argv (base64-embedded, as in infra/migration-check-script.cjs, so no byte of it is shell syntax
 * and no `{{ }}` in it is an SSM parameter reference) and the command's timeout. The one document
 * parameter is the image digest: SSM refuses any value that does not match its allowedPattern
 * (`^sha256:[a-f0-9]{64}$`) before the command reaches the instance (SendCommand: InvalidParameters),
 * so what SSM substitutes into the script is 71 characters of [a-z0-9:]; the script checks it again.
 *
 * Secrets: the borrowed environment is written to an --env-file in a directory made by `mktemp -d`
 * (0700, files 0600 under umask 077) on a tmpfs (/dev/shm: memory, never disk), and an EXIT trap
 * removes it (and the one-off container, and docker's ECR login, kept there too) on every exit path,
 * signals included. Nothing of it is printed: SSM returns the output to ebship.
 *
 * POSIX sh: runShellScript starts bash 4.2 (AL2), bash 5.2 (AL2023) or sh. The script owns its exit
 * codes; lib/aws/release-phase.ts reads them (keep the two in step):
 */
const EXIT = {
  /** The command ran in the new image and exited 0. */
  passed: 0,
  /** The command exited non-zero: its own code is on stderr as `ebship-release-exit=N`. */
  failed: 3,
  /** No running container carries the configured name: nothing to borrow the environment from. */
  noContainer: 4,
  /** docker, aws, base64, timeout or a tmpfs is missing, or docker failed: the release could not start. */
  cannotStart: 5,
  /** The command ran past release.timeoutSeconds; the one-off container was removed. */
  timedOut: 6,
  /** ECR login or the pull of the new image failed (instance profile permissions, a wrong digest). */
  cannotPull: 7,
  /** The running container's environment cannot be passed through an env file (a value with a newline). */
  envUnusable: 8,
};

/** The tokens config-vars.cjs replaces with the stack's ECR registry and region (Fn::Join). */
const REGISTRY_TOKEN = '@@EBSHIP_REGISTRY@@';
const REGION_TOKEN = '@@EBSHIP_REGION@@';
/** SSM's parameter reference for the digest (documents-syntax-data-elements-parameters). */
const DIGEST_REFERENCE = '{{ imageDigest }}';
const DIGEST_PATTERN = '^sha256:[a-f0-9]{64}$';

const CONTAINER = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const REPOSITORY = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

/** `printf '%s' '<b64>' | base64 -d`, keeping trailing newlines, into variable `name`. */
function decodeInto(name, text) {
  const b64 = Buffer.from(text, 'utf8').toString('base64');
  return `${name}=$(printf '%s' '${b64}' | base64 -d && printf x) || exit ${EXIT.cannotStart}\n${name}=\${${name}%x}`;
}

/**
 * Returns the script for one target's release phase. `registry`/`region` default to the tokens that
 * config-vars.cjs turns into the stack's own (`<account>.dkr.ecr.<region>.<suffix>`).
 */
function releaseScript({
  container,
  repository,
  argv,
  timeoutSeconds,
  registry = REGISTRY_TOKEN,
  region = REGION_TOKEN,
  digest = DIGEST_REFERENCE,
}) {
  if (typeof container !== 'string' || !CONTAINER.test(container)) {
    throw new Error(`release container "${container}" must be letters, digits, "_" or "-"`);
  }
  if (typeof repository !== 'string' || !REPOSITORY.test(repository)) {
    throw new Error(`release repository "${repository}" must be an ECR repository name`);
  }
  if (!Array.isArray(argv) || argv.length === 0) throw new Error('release command must be a non-empty list');
  for (const arg of argv) {
    if (typeof arg !== 'string' || arg.includes('\0')) {
      throw new Error('release command arguments must be strings without NUL characters');
    }
  }
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1) {
    throw new Error('release timeoutSeconds must be a positive whole number');
  }
  for (const [what, value] of [
    ['registry', registry],
    ['region', region],
    ['digest', digest],
  ]) {
    if (!/^[A-Za-z0-9@{}._: -]+$/.test(value))
      throw new Error(`release ${what} "${value}" has unsafe characters`);
  }
  const decode = argv.map((arg, i) => decodeInto(`a${i}`, arg));
  const positional = argv.map((_, i) => `"$a${i}"`).join(' ');
  // Go templates for docker inspect, base64-embedded: "{{" in the script would read as SSM syntax.
  const templates = [
    decodeInto('env_format', '{{range .Config.Env}}{{println .}}{{end}}'),
    decodeInto('env_count_format', '{{len .Config.Env}}'),
    decodeInto('image_format', '{{.Image}}'),
  ];
  return `#!/bin/sh
# ebship release phase, generated from ebship.yml at package time: change ebship.yml and redeploy.
container='${container}'
image_repository='${registry}/${repository}'
region='${region}'
digest='${digest}'
limit=${timeoutSeconds}
${decode.join('\n')}
${templates.join('\n')}
set -- ${positional}
host=$(uname -n)
# SSM checked the digest against ${DIGEST_PATTERN}; so does the script, before using it.
case "$digest" in
  sha256:*) ;;
  *) echo "ebship: the image digest is not sha256:<64 hex>" >&2; exit ${EXIT.cannotStart} ;;
esac
hex=\${digest#sha256:}
if [ \${#hex} -ne 64 ] || [ -n "$(printf '%s' "$hex" | tr -d '0-9a-f')" ]; then
  echo "ebship: the image digest is not sha256:<64 hex>" >&2
  exit ${EXIT.cannotStart}
fi
for tool in docker aws base64 timeout mktemp grep; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "ebship: $tool is not installed on $host; the release phase needs the Docker or ECS platform of Amazon Linux 2 or 2023" >&2
    exit ${EXIT.cannotStart}
  fi
done
workdir=''
one_off=''
run_pid=''
cleanup() {
  rc=$?
  trap - EXIT HUP INT TERM
  if [ -n "$run_pid" ]; then kill "$run_pid" 2>/dev/null; fi
  if [ -n "$one_off" ]; then docker rm -f "$one_off" >/dev/null 2>&1; fi
  if [ -n "$workdir" ]; then rm -rf "$workdir"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
umask 077
# Secrets go to memory only: /dev/shm is a tmpfs on Amazon Linux. Refuse to write them to a disk.
# EBSHIP_TMPFS: only the tests set it (a tmpfs of their own); SSM runs the script with the agent's environment.
shm=\${EBSHIP_TMPFS:-/dev/shm}
if [ "$(stat -f -c %T "$shm" 2>/dev/null)" != tmpfs ]; then
  echo "ebship: $shm on $host is not a tmpfs; the release phase will not write the app's secrets to disk" >&2
  exit ${EXIT.cannotStart}
fi
if ! workdir=$(mktemp -d "$shm/ebship-release.XXXXXX"); then
  workdir=''
  echo "ebship: cannot create a private directory in $shm on $host" >&2
  exit ${EXIT.cannotStart}
fi
# ECS platform: the ECS agent labels containers with their Dockerrun name.
# Docker platform: docker compose labels them with their service name.
if ! ecs=$(docker ps --quiet --filter "label=com.amazonaws.ecs.container-name=$container"); then
  echo "ebship: docker ps failed on $host; is the Docker daemon running?" >&2
  exit ${EXIT.cannotStart}
fi
if ! compose=$(docker ps --quiet --filter "label=com.docker.compose.service=$container"); then
  echo "ebship: docker ps failed on $host; is the Docker daemon running?" >&2
  exit ${EXIT.cannotStart}
fi
cid=$ecs
[ -n "$cid" ] || cid=$compose
cid=$(printf '%s\\n' "$cid" | head -n 1)
if [ -z "$cid" ]; then
  echo "ebship: no running container named '$container' on $host to take the environment from" >&2
  exit ${EXIT.noContainer}
fi
# The app container's environment less its image's own ENV lines (PATH and the like come from the
# new image instead). Values never reach the output.
if ! docker inspect --format "$env_format" "$cid" >"$workdir/container.env" 2>/dev/null; then
  echo "ebship: docker inspect failed for container '$container' on $host" >&2
  exit ${EXIT.cannotStart}
fi
count=$(docker inspect --format "$env_count_format" "$cid" 2>/dev/null) || count=-1
lines=$(grep -c '' "$workdir/container.env")
if [ "$count" != "$lines" ]; then
  echo "ebship: an environment variable of container '$container' holds a newline; docker's --env-file cannot carry it" >&2
  exit ${EXIT.envUnusable}
fi
old_image=$(docker inspect --format "$image_format" "$cid" 2>/dev/null) || old_image=''
: >"$workdir/image.env"
if [ -n "$old_image" ]; then
  docker image inspect --format "$env_format" "$old_image" >"$workdir/image.env" 2>/dev/null || : >"$workdir/image.env"
fi
grep -v -x -F -f "$workdir/image.env" "$workdir/container.env" >"$workdir/release.env"
if [ $? -gt 1 ]; then
  echo "ebship: could not prepare the environment file on $host" >&2
  exit ${EXIT.cannotStart}
fi
rm -f "$workdir/container.env" "$workdir/image.env"
# ECR login with the instance profile; docker keeps the token in the private directory, not in ~/.docker.
DOCKER_CONFIG="$workdir/docker"
export DOCKER_CONFIG
registry=\${image_repository%%/*}
image="$image_repository@$digest"
if ! aws ecr get-login-password --region "$region" | docker login --username AWS --password-stdin "$registry" >/dev/null; then
  echo "ebship: ECR login to $registry failed on $host; the instance profile needs ecr:GetAuthorizationToken (docs/iam.md)" >&2
  exit ${EXIT.cannotPull}
fi
if ! docker pull --quiet "$image" >/dev/null; then
  echo "ebship: could not pull $image on $host; the instance profile needs ecr:BatchGetImage and ecr:GetDownloadUrlForLayer on the repository (docs/iam.md)" >&2
  exit ${EXIT.cannotPull}
fi
one_off="ebship-release-$$"
# The app container's network: the release reaches the database the way the app does.
# In the background and waited for: a shell runs its traps only once a foreground command ends, and
# \`wait\` returns at once on a signal, so SIGTERM from SSM (its timeout, a cancel) cleans up now.
timeout -k 15 "$limit" docker run --rm --name "$one_off" --env-file "$workdir/release.env" \\
  --network "container:$cid" "$image" "$@" &
run_pid=$!
wait "$run_pid"
status=$?
run_pid=''
if [ "$status" -eq 124 ]; then
  echo "ebship: the release command ran past its ${timeoutSeconds}s timeout on $host and was stopped" >&2
  exit ${EXIT.timedOut}
fi
if [ "$status" -eq 125 ]; then
  echo "ebship: docker could not start the one-off container of $image on $host" >&2
  exit ${EXIT.cannotStart}
fi
if [ "$status" -ne 0 ]; then
  echo "ebship-release-exit=$status" >&2
  exit ${EXIT.failed}
fi
exit ${EXIT.passed}
`;
}

module.exports = {
  releaseScript,
  RELEASE_EXIT: EXIT,
  RELEASE_REGISTRY_TOKEN: REGISTRY_TOKEN,
  RELEASE_REGION_TOKEN: REGION_TOKEN,
  RELEASE_DIGEST_PATTERN: DIGEST_PATTERN,
};
