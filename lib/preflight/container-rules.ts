import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import { PINNED_IMAGE } from '../release/image-ref.js';
import { at, type Finding, type Problem } from './finding.js';

/**
 * Checks of the container definitions EB runs: Dockerrun.aws.json v2 (ECS platform) and
 * docker-compose.yml (Docker platform), plus the gunicorn command line wherever it appears.
 * Dockerrun v2 reference: https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/create_deploy_docker_v2config.html
 */

/** A container's start command as it appears in a bundle file, with where it was found. */
export interface ProcessCommand {
  file: string;
  line?: number;
  /** `container "django"`, `Procfile process "web"`. */
  label: string;
  command: string;
}

export interface DockerrunSummary {
  version?: number;
  processes: ProcessCommand[];
}

interface DockerrunContainer {
  name?: unknown;
  image?: unknown;
  essential?: unknown;
  memory?: unknown;
  memoryReservation?: unknown;
  portMappings?: unknown;
  links?: unknown;
  mountPoints?: unknown;
  volumesFrom?: unknown;
  command?: unknown;
  entryPoint?: unknown;
}

const LOG_OPTION = /--(access-logfile|error-logfile|log-file)(?:=|\s+)(\S+)/g;
const STREAMS = new Set(['-', '/dev/stdout', '/dev/stderr', "'-'", '"-"']);

/** gunicorn writing to files: EB's CloudWatch streaming and `eb logs` read stdout/stderr. */
export function gunicornLogProblems(command: string, label: string): Problem[] {
  if (!/\bgunicorn\b/.test(command)) return [];
  const files = [...command.matchAll(LOG_OPTION)].filter((m) => !STREAMS.has(m[2] ?? '-')).map((m) => m[1]);
  if (files.length === 0) return [];
  return [
    {
      ruleId: 'gunicorn-logs-to-file',
      severity: 'warning',
      message: `${label} sends gunicorn's ${[...new Set(files)].join(' and ')} to a file: CloudWatch Logs and \`eb logs\` only see stdout/stderr, so errors stay invisible`,
      fix: 'Use `--access-logfile - --error-logfile - --capture-output`.',
    },
  ];
}

function jsonLine(text: string, position: number): number {
  return text.slice(0, position).split('\n').length;
}

/** Line of `"key": "value"` in a JSON text, for pointing at a container. */
function lineOfPair(text: string, key: string, value: string): number | undefined {
  const escaped = value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`"${key}"\\s*:\\s*"${escaped}"`).exec(text);
  return match ? jsonLine(text, match.index) : undefined;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function objects(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value)
    ? value.filter((v): v is Record<string, unknown> => v !== null && typeof v === 'object')
    : [];
}

function imagePinned(image: string): boolean {
  return PINNED_IMAGE.test(image) || image.includes('{{image}}');
}

export function lintDockerrun(
  file: string,
  text: string,
): { summary?: DockerrunSummary; findings: Finding[] } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    const position = /position (\d+)/.exec((err as Error).message)?.[1];
    return {
      findings: [
        at(
          {
            ruleId: 'parse-error',
            severity: 'error',
            message: 'not valid JSON',
            fix: 'Fix the syntax (no trailing commas or comments in JSON); EB cannot start any container otherwise.',
          },
          file,
          position === undefined ? undefined : jsonLine(text, Number(position)),
        ),
      ],
    };
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    return {
      findings: [
        at(
          {
            ruleId: 'parse-error',
            severity: 'error',
            message: 'is not a JSON object',
            fix: 'Start from {"AWSEBDockerrunVersion": 2, "containerDefinitions": [...]}.',
          },
          file,
          1,
        ),
      ],
    };
  }
  const root = doc as Record<string, unknown>;
  const version = Number(root.AWSEBDockerrunVersion);
  const summary: DockerrunSummary = {
    version: Number.isFinite(version) ? version : undefined,
    processes: [],
  };
  if (version !== 2) return { summary, findings: [] };

  const findings: Finding[] = [];
  const containers = objects(root.containerDefinitions) as DockerrunContainer[];
  if (containers.length === 0) {
    findings.push(
      at(
        {
          ruleId: 'dockerrun-no-containers',
          severity: 'error',
          message: 'has no containerDefinitions',
          fix: 'List the containers to run under containerDefinitions.',
        },
        file,
        1,
      ),
    );
    return { summary, findings };
  }
  const names = new Set(containers.map((c) => (typeof c.name === 'string' ? c.name : '')));
  const volumes = new Set(
    objects(root.volumes)
      .map((v) => v.name)
      .filter((n): n is string => typeof n === 'string'),
  );
  const lineOf = (c: DockerrunContainer) =>
    typeof c.name === 'string' ? lineOfPair(text, 'name', c.name) : undefined;

  // ECS treats a container without `essential` as essential.
  if (containers.every((c) => c.essential === false)) {
    findings.push(
      at(
        {
          ruleId: 'dockerrun-no-essential',
          severity: 'error',
          message: 'no container is essential: ECS will not start the task',
          fix: 'Mark the web container "essential": true.',
        },
        file,
        1,
      ),
    );
  }
  const webMapped = containers.some((c) => objects(c.portMappings).some((p) => Number(p.hostPort) === 80));
  if (!webMapped) {
    findings.push(
      at(
        {
          ruleId: 'dockerrun-no-web-port',
          severity: 'error',
          message: 'no container maps host port 80: the proxy and the EB health check reach nothing',
          fix: 'Map the web container\'s port to host port 80, e.g. "portMappings": [{"hostPort": 80, "containerPort": 5000}].',
        },
        file,
        1,
      ),
    );
  }
  for (const c of containers) {
    const name = typeof c.name === 'string' ? c.name : '(unnamed)';
    const line = lineOf(c);
    if (c.memory === undefined && c.memoryReservation === undefined) {
      findings.push(
        at(
          {
            ruleId: 'dockerrun-memory-missing',
            severity: 'error',
            message: `container "${name}" has neither memory nor memoryReservation: EB refuses the Dockerrun file`,
            fix: `Set "memoryReservation" (MiB) on "${name}", or "memory" for a hard limit.`,
          },
          file,
          line,
        ),
      );
    }
    for (const link of strings(c.links)) {
      const ref = link.split(':')[0] ?? link;
      if (!names.has(ref)) {
        findings.push(
          at(
            {
              ruleId: 'dockerrun-unknown-reference',
              severity: 'error',
              message: `container "${name}" links to "${ref}", which is not a container in this file`,
              fix: `Remove the link or add a container named "${ref}".`,
            },
            file,
            line,
          ),
        );
      }
    }
    for (const mount of objects(c.mountPoints)) {
      const source = mount.sourceVolume;
      if (typeof source === 'string' && !volumes.has(source)) {
        findings.push(
          at(
            {
              ruleId: 'dockerrun-unknown-reference',
              severity: 'error',
              message: `container "${name}" mounts volume "${source}", which is not declared under "volumes"`,
              fix: `Declare {"name": "${source}", "host": {"sourcePath": "..."}} under "volumes", or fix the name.`,
            },
            file,
            line,
          ),
        );
      }
    }
    for (const from of objects(c.volumesFrom)) {
      const source = from.sourceContainer;
      if (typeof source === 'string' && !names.has(source)) {
        findings.push(
          at(
            {
              ruleId: 'dockerrun-unknown-reference',
              severity: 'error',
              message: `container "${name}" takes volumes from "${source}", which is not a container in this file`,
              fix: `Fix "sourceContainer" to name one of: ${[...names].join(', ')}.`,
            },
            file,
            line,
          ),
        );
      }
    }
    if (typeof c.image === 'string' && !imagePinned(c.image)) {
      findings.push(
        at(
          {
            ruleId: 'image-not-pinned',
            severity: 'warning',
            message: `container "${name}" pulls its image by tag: a re-pushed tag changes what runs, and instances can disagree`,
            fix: 'Pin the image by digest (repository@sha256:...); ebship pins "{{image}}" containers to the pushed digest.',
          },
          file,
          line,
        ),
      );
    }
    const command = [...strings(c.entryPoint), ...strings(c.command)].join(' ');
    if (command !== '') summary.processes.push({ file, line, label: `container "${name}"`, command });
  }
  return { summary, findings };
}

export function lintCompose(
  file: string,
  text: string,
): { processes: ProcessCommand[]; findings: Finding[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0];
    return {
      processes: [],
      findings: [
        at(
          {
            ruleId: 'parse-error',
            severity: 'error',
            message: `not valid YAML: ${(first?.message ?? 'parse error').split('\n')[0]}`,
            fix: 'Fix the syntax (indent with spaces, never tabs).',
          },
          file,
          first?.linePos?.[0]?.line,
        ),
      ],
    };
  }
  const services = isMap(doc.contents)
    ? doc.contents.items.find((p) => isScalar(p.key) && p.key.value === 'services')?.value
    : undefined;
  if (!isMap(services)) {
    return {
      processes: [],
      findings: [
        at(
          {
            ruleId: 'compose-no-services',
            severity: 'error',
            message: 'has no "services"',
            fix: 'Declare the web service under "services".',
          },
          file,
          1,
        ),
      ],
    };
  }
  const findings: Finding[] = [];
  const processes: ProcessCommand[] = [];
  let webMapped = false;
  for (const pair of services.items) {
    const name = isScalar(pair.key) ? String(pair.key.value) : '(unnamed)';
    const line =
      pair.key && isScalar(pair.key) && pair.key.range
        ? lineCounter.linePos(pair.key.range[0]).line
        : undefined;
    const service: unknown = isMap(pair.value) ? pair.value.toJSON() : {};
    const s = (service ?? {}) as Record<string, unknown>;
    for (const port of Array.isArray(s.ports) ? s.ports : []) {
      // "80:8000", "0.0.0.0:80:8000/tcp", or the long form { published: 80, target: 8000 }.
      if (typeof port === 'string' || typeof port === 'number') {
        const parts = String(port).split('/')[0]?.split(':') ?? [];
        if (parts.length >= 2 && parts[parts.length - 2] === '80') webMapped = true;
      } else if (
        port &&
        typeof port === 'object' &&
        Number((port as { published?: unknown }).published) === 80
      ) {
        webMapped = true;
      }
    }
    if (typeof s.image === 'string' && !imagePinned(s.image)) {
      findings.push(
        at(
          {
            ruleId: 'image-not-pinned',
            severity: 'warning',
            message: `service "${name}" pulls its image by tag: a re-pushed tag changes what runs, and instances can disagree`,
            fix: 'Pin the image by digest (repository@sha256:...); ebship pins "{{image}}" services to the pushed digest.',
          },
          file,
          line,
        ),
      );
    }
    const command = [
      ...(Array.isArray(s.entrypoint)
        ? s.entrypoint
        : typeof s.entrypoint === 'string'
          ? [s.entrypoint]
          : []),
      ...(Array.isArray(s.command) ? s.command : typeof s.command === 'string' ? [s.command] : []),
    ]
      .map(String)
      .join(' ');
    if (command !== '') processes.push({ file, line, label: `service "${name}"`, command });
  }
  if (!webMapped) {
    findings.push(
      at(
        {
          ruleId: 'compose-no-web-port',
          severity: 'error',
          message: 'no service publishes host port 80: the EB proxy and health check reach nothing',
          fix: 'Publish the web service on port 80, e.g. ports: ["80:8000"].',
        },
        file,
        1,
      ),
    );
  }
  return { processes, findings };
}
