import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run as ebship } from '../../cli/main.js';
import { readIncludeDir } from '../../lib/bundle/include.js';
import { EBEXTENSION_PATH } from '../../lib/bundle/render.js';
import { listZip } from '../../lib/bundle/zip.js';
import { copyService, packageService } from '../support/package-service.js';

/**
 * A target's include files must reach AWS exactly as `ebship plan` renders them. Packages a copy of
 * the service whose ebship.yml includes `.ebextensions/`, `.platform/` hooks (one reached through a
 * symlink) and a Procfile, unzips the packaged BuildBundle function as Lambda would, and compares
 * what BuildBundle reads from it with the include files in plan's bundle.
 */

const INCLUDE = 'deploy/antenna';

const CONFIG = `version: 1
targets:
  antenna-prod:
    application: antenna
    environment: antenna-prod
    platform: ecs
    source: { repository: antenna-backend, tags: "v*" }
    containers:
      - name: django
        image: "{{image}}"
        memory: 512
        portMappings: [{ hostPort: 80, containerPort: 5000 }]
    include: ${INCLUDE}
`;

let service: string;
let taskRoot: string;
let packaged: string;

function write(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

beforeAll(async () => {
  service = copyService('ebship-service-');
  writeFileSync(join(service, 'ebship.yml'), CONFIG);
  const include = join(service, INCLUDE);
  write(
    join(include, '.ebextensions/01-app.config'),
    'option_settings:\n  - option_name: APP\n    value: "1"\n',
  );
  write(join(include, '.platform/nginx/conf.d/proxy.conf'), 'client_max_body_size 20M;\n');
  write(join(include, '.platform/hooks/predeploy/01-migrate.sh'), '#!/bin/sh\necho predeploy\n');
  symlinkSync('hooks', join(include, '.platform/confighooks'));
  write(join(include, 'Procfile'), 'web: /start\n');
  write(join(include, 'README.md'), 'not part of any bundle\n');

  const out = join(service, '.package');
  packaged = out;
  await slsPackage(out);
  taskRoot = join(service, '.task-root');
  for (const [file, bytes] of Object.entries(unzipSync(readFileSync(join(out, 'buildBundle.zip'))))) {
    if (file.endsWith('/')) continue;
    write(join(taskRoot, file), '');
    writeFileSync(join(taskRoot, file), bytes);
  }
}, 300_000);

afterAll(() => {
  if (service) rmSync(service, { recursive: true, force: true });
});

function slsPackage(out: string) {
  return packageService(service, out);
}

async function planIncludeFiles(): Promise<Record<string, string>> {
  const zip = join(service, 'plan.zip');
  let stderr = '';
  const code = await ebship(
    ['plan', 'antenna-prod', '--tag', 'v10', '--out', zip, '--config', 'ebship.yml'],
    {
      stdout: { write: () => true },
      stderr: {
        write: (s: string) => {
          stderr += s;
          return true;
        },
      },
      env: {},
      cwd: service,
    },
  );
  expect(stderr).toBe('');
  expect(code).toBe(0);
  const files = listZip(readFileSync(zip));
  return Object.fromEntries(
    Object.entries(files).filter(
      ([path]) =>
        path !== EBEXTENSION_PATH &&
        (path === 'Procfile' || path.startsWith('.ebextensions/') || path.startsWith('.platform/')),
    ),
  );
}

describe('packaged include files', () => {
  it('are in the BuildBundle zip, dotfiles included, exactly as ebship plan renders them', async () => {
    const packaged = readIncludeDir(join(taskRoot, INCLUDE));
    const planned = await planIncludeFiles();

    expect(Object.keys(packaged)).toEqual([
      '.ebextensions/01-app.config',
      '.platform/confighooks/predeploy/01-migrate.sh',
      '.platform/hooks/predeploy/01-migrate.sh',
      '.platform/nginx/conf.d/proxy.conf',
      'Procfile',
    ]);
    expect(packaged).toEqual(planned);
  });

  it('leave out files of the include directory that no bundle carries', () => {
    expect(() => readFileSync(join(taskRoot, INCLUDE, 'README.md'))).toThrow(/ENOENT/);
  });
});

describe('serverless package on an invalid ebship.yml', () => {
  it('fails with the same line-numbered errors as ebship validate', async () => {
    writeFileSync(
      join(service, 'ebship.yml'),
      CONFIG.replace('memory: 512', 'memory: lots').replace('platform: ecs', 'platform: kubernetes'),
    );
    let cliErr = '';
    const cliCode = await ebship(['validate'], {
      stdout: { write: () => true },
      stderr: {
        write: (s: string) => {
          cliErr += s;
          return true;
        },
      },
      env: {},
      cwd: service,
    });

    const failure = await slsPackage(join(service, '.package-invalid')).then(
      () => undefined,
      (err: { stdout: string; stderr: string }) => `${err.stdout}\n${err.stderr}`,
    );

    expect(cliCode).toBe(2);
    const problems = cliErr.split('\n').filter((l) => l.startsWith('  - '));
    expect(problems).toEqual([
      expect.stringMatching(/^ {2}- targets\.antenna-prod\.platform \(line 6\): /),
      '  - targets.antenna-prod.containers.0.memory (line 11): must be a number, not "lots" (a string)',
    ]);
    expect(failure).toBeDefined();
    for (const line of problems) expect(failure).toContain(line);
  }, 120_000);
});

describe('packaged functions', () => {
  it('read the config embedded as JSON: only BuildBundle carries the YAML parser (issue 16)', async () => {
    const zips = readdirSync(packaged).filter((f) => f.endsWith('.zip'));
    for (const zip of zips) {
      const code = Object.entries(unzipSync(readFileSync(join(packaged, zip))))
        .filter(([name]) => name.startsWith('functions/'))
        .map(([, bytes]) => Buffer.from(bytes).toString('utf8'))
        .join('');
      expect(code.includes('YAMLParseError'), zip).toBe(zip === 'buildBundle.zip');
      // The SDK's default credential chain gives way to Lambda's environment credentials.
      expect(code, zip).not.toContain('sso_start_url');
    }

    // A function unzipped without ebship.yml beside it still knows the targets.
    const root = join(service, '.task-root-resolve');
    for (const [file, bytes] of Object.entries(
      unzipSync(readFileSync(join(packaged, 'resolveRelease.zip'))),
    )) {
      if (file.endsWith('/') || file === 'ebship.yml') continue;
      write(join(root, file), '');
      writeFileSync(join(root, file), bytes);
    }
    expect(existsSync(join(root, 'ebship.yml'))).toBe(false);
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      TABLE_NAME: 'ebship-test',
      BUNDLE_BUCKET: 'bundles',
      ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:ebship',
      MIGRATION_DOCUMENT_NAME: 'ebship-test-migration-check',
      EBSHIP_CONFIG: join(root, 'missing.yml'),
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    });
    try {
      const mod = (await import(join(root, 'functions/resolve-release.cjs'))) as {
        handler: (event: unknown) => Promise<unknown>;
      };
      await expect(
        mod.handler({
          input: { target: 'antena-prod', imageTag: 'v1' },
          executionId: 'arn:aws:states:us-east-1:123456789012:execution:ebship:one',
          startedAt: '2026-12-01T00:00:00Z',
          stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:ebship',
        }),
      ).rejects.toThrow('unknown target "antena-prod"; known targets: antenna-prod');
    } finally {
      process.env = saved;
    }
  });

  it('carry only the AWS SDK code they use: the commands they send, the clients they send through (issue 16)', () => {
    const code = (zip: string) =>
      Object.entries(unzipSync(readFileSync(join(packaged, zip))))
        .filter(([name]) => name.startsWith('functions/'))
        .map(([, bytes]) => Buffer.from(bytes).toString('utf8'))
        .join('');
    // The SDK's ES modules (mainFields: module first): an EB operation no step sends is left out,
    // where the CommonJS build brought all of them with the client. (Operation names, as the SDK's
    // schemas spell them: the command classes' own names are minified.)
    const createAppVersion = code('createAppVersion.zip');
    expect(createAppVersion).toContain('"CreateApplicationVersion"');
    expect(createAppVersion).not.toContain('TerminateEnvironment');
    // The clients are pure: CheckChecks reads SSM only, though its step module imports the EB client.
    const checkChecks = code('checkChecks.zip');
    expect(checkChecks).toContain('SSMClient');
    expect(checkChecks).not.toContain('ElasticBeanstalkClient');
    // The SDK's event-stream code, which its protocol layer imports lazily, is left out: no Lambda
    // streams events (infra/esbuild-plugins.cjs, lib/aws/no-event-streams.ts). Only LogTail keeps
    // it, because the CloudWatch Logs client imports it statically to build its config.
    for (const zip of ['checkHealth.zip', 'resolveRelease.zip', 'reconcile.zip', 'notify.zip']) {
      expect(code(zip), zip).not.toContain(':event-type');
      expect(code(zip), zip).toContain('event streams are not bundled in the ebship Lambdas');
    }
    // The config was validated at package time: no Lambda builds the config schema again, so its
    // rules' messages are in none of them.
    for (const zip of readdirSync(packaged).filter((f) => f.endsWith('.zip'))) {
      expect(code(zip), zip).not.toContain('lists an alarm twice');
    }
  });

  it('ship without source maps, which stay beside the build for `ebship trace`', () => {
    const zips = readdirSync(packaged).filter((f) => f.endsWith('.zip'));
    expect(zips.length).toBeGreaterThan(10);
    for (const zip of zips) {
      const files = unzipSync(readFileSync(join(packaged, zip)));
      const code = Object.entries(files).filter(([name]) => name.startsWith('functions/'));
      expect(
        code.map(([name]) => name),
        zip,
      ).toEqual([expect.stringMatching(/^functions\/[\w-]+\.cjs$/)]);
      const [name, bytes] = code[0] ?? ['', new Uint8Array()];
      // Without a map in the zip, a sourceMappingURL comment would only send Node looking for it.
      expect(Buffer.from(bytes).toString('utf8'), zip).not.toContain('sourceMappingURL');
      expect(existsSync(join(service, '.esbuild', '.build', `${name}.map`)), `${name}.map`).toBe(true);
    }
  });
});
