import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../cli/exit-codes.js';
import { listZip } from '../../lib/bundle/zip.js';
import { cli, DIGEST } from './harness.js';

const SEEDS = fileURLToPath(new URL('../fixtures/seeds/', import.meta.url));
const tmp = () => mkdtempSync(join(tmpdir(), 'ebship-plan-'));

describe('ebship plan', () => {
  it('writes the bundle a deploy would build, pinned to a labelled placeholder digest, without AWS', async () => {
    // Arrange: no region, no credentials.
    const cwd = tmp();

    // Act
    const r = await cli(['plan', 'antenna-prod', '--tag', 'v1.4.2'], { cwd, env: { AWS_REGION: undefined } });

    // Assert
    expect(r.code).toBe(ExitCode.Ok);
    const label = r.stdout.match(/version\s+(v1\.4\.2-[0-9a-f]{12})/)?.[1] ?? '';
    expect(label).not.toBe('');
    expect(r.stdout).toContain('PLACEHOLDER derived from the tag, not the image');
    const files = listZip(readFileSync(join(cwd, `antenna-prod-${label}.zip`)));
    expect(Object.keys(files)).toEqual(['.ebextensions/00-ebship.config', 'Dockerrun.aws.json']);
    expect(files['Dockerrun.aws.json']).toContain(`antenna-backend@sha256:${label.slice(-12)}`);
    expect(r.stdout).toMatch(/Dockerrun\.aws\.json\s+\d+ bytes/);
    expect(r.stdout).toMatch(/runs in AWS\s+ValidateSecrets: 6 secret\(s\)/);
    expect(r.stdout).toMatch(
      /runs in AWS\s+Migration check: `python manage\.py migrate --check` in container django/,
    );
    expect(r.stdout).toContain('No problems found.');
  });

  it('plans the same bytes for the same tag, and uses the real digest when given', async () => {
    // Arrange
    const cwd = tmp();

    // Act
    const a = await cli(['plan', 'treasury-plane-dev', '--tag', 'v2.0.0', '--out', 'a.zip', '--json'], {
      cwd,
    });
    const b = await cli(['plan', 'treasury-plane-dev', '--tag', 'v2.0.0', '--out', 'b.zip', '--json'], {
      cwd,
    });
    const real = await cli(
      ['plan', 'treasury-plane-dev', '--tag', 'v2.0.0', '--digest', DIGEST, '--out', 'c.zip', '--json'],
      { cwd },
    );

    // Assert
    type Plan = {
      image: { digest: string; digestIsPlaceholder: boolean };
      versionLabel: string;
      bundle: { sha256: string; files: { path: string }[] };
      checks: { aws: string[] };
      errors: number;
    };
    const pa = a.json<Plan>();
    const pc = real.json<Plan>();
    expect(pa.bundle.sha256).toBe(b.json<Plan>().bundle.sha256);
    expect(pa.image.digestIsPlaceholder).toBe(true);
    expect(pc.image).toMatchObject({ digest: DIGEST, digestIsPlaceholder: false });
    expect(pc.versionLabel).toBe('v2.0.0-3f2a9c1b7d4e');
    expect(pc.bundle.files.map((f) => f.path)).toEqual([
      '.ebextensions/00-ebship.config',
      'docker-compose.yml',
    ]);
    expect(listZip(readFileSync(join(cwd, 'c.zip')))['docker-compose.yml']).toContain(
      `treasury-plane-api@${DIGEST}`,
    );
    expect(pc.checks.aws.some((c) => c.startsWith('ValidateSecrets'))).toBe(true);
  });

  it('exits 1 with the findings when the include directory would break the deploy', async () => {
    // Arrange: the target's include dir carries the seed's plaintext secrets.
    const dir = tmp();
    mkdirSync(join(dir, 'eb', '.ebextensions'), { recursive: true });
    writeFileSync(
      join(dir, 'eb', '.ebextensions', '10-app.config'),
      readFileSync(join(SEEDS, '004-antenna', '.ebextensions', '00_setup.config'), 'utf8'),
    );
    const seedConfig = readFileSync(join(SEEDS, 'ebship.yml'), 'utf8');
    writeFileSync(
      join(dir, 'ebship.yml'),
      seedConfig.replace(
        '    migrationCheck:\n      container: django',
        '    include: eb\n    migrationCheck:\n      container: django',
      ),
    );

    // Act
    const r = await cli(['plan', 'antenna-prod', '--tag', 'v1.4.2', '--json'], {
      cwd: dir,
      env: { EBSHIP_CONFIG: undefined },
    });

    // Assert
    expect(r.code).toBe(ExitCode.Findings);
    const out = r.json<{
      errors: number;
      findings: { ruleId: string; file: string }[];
      bundle: { files: { path: string }[] };
    }>();
    expect(out.bundle.files.map((f) => f.path)).toContain('.ebextensions/10-app.config');
    expect(out.errors).toBeGreaterThan(0);
    expect(out.findings).toContainEqual(
      expect.objectContaining({ ruleId: 'plaintext-secret', file: '.ebextensions/10-app.config' }),
    );
  });

  it.each([
    [['plan', 'antenna-prod'], 'give --tag <tag>'],
    [['plan', 'antenna-prod', '--tag', 'v1', '--digest', 'sha256:1'], 'is malformed'],
    [['plan', 'nope', '--tag', 'v1'], 'unknown target "nope"'],
  ])('refuses %j (exit 2)', async (argv, message) => {
    // Act
    const r = await cli(argv);

    // Assert
    expect(r.code).toBe(ExitCode.Usage);
    expect(r.stderr).toContain(message);
  });

  it('reports an unreadable config file with the path (exit 2)', async () => {
    // Act
    const r = await cli(['plan', 'antenna-prod', '--tag', 'v1', '--config', '/nonexistent/ebship.yml']);

    // Assert
    expect(r.code).toBe(ExitCode.Usage);
    expect(r.stderr).toContain('/nonexistent/ebship.yml is invalid');
    expect(r.stderr).toContain('cannot read the config file (ENOENT)');
  });
});

describe('ebship lint', () => {
  it('lists every rule with its id, severity and fix (--rules), without a directory or AWS', async () => {
    // Act
    const text = await cli(['lint', '--rules'], { env: { AWS_REGION: undefined } });
    const json = await cli(['lint', '--rules', '--json']);

    // Assert
    expect(text.code).toBe(ExitCode.Ok);
    expect(text.stdout).toMatch(/^ {2}secret-key-empty \(error\)$/m);
    expect(text.stdout).toContain('fix:   Fill in the key, or mark it optional: true in ebship.yml.');
    expect(text.stdout).toMatch(/^ {2}migrate-not-leader-only \(error; warning in a platform hook/m);
    const rules = json.json<{ rules: { id: string; severity: string; fix: string }[] }>().rules;
    expect(rules.map((r) => r.id)).toEqual(
      expect.arrayContaining(['hook-no-shebang', 'plaintext-secret', 'redis-url-tls']),
    );
    expect(text.stdout).toContain(`${rules.length} rules.`);
    for (const r of rules) expect(text.stdout).toContain(`  ${r.id} (${r.severity}`);
  });

  it("groups the seed bundle's findings by file and exits 1 on errors", async () => {
    // Act
    const r = await cli(['lint', join(SEEDS, '004-antenna'), '--target', 'antenna-prod']);

    // Assert
    expect(r.code).toBe(ExitCode.Findings);
    expect(r.stdout).toContain('Checked 2 files');
    const ebext = r.stdout.indexOf('\n.ebextensions/00_setup.config\n');
    const dockerrun = r.stdout.indexOf('\nDockerrun.aws.json\n');
    expect(ebext).toBeGreaterThan(0);
    expect(dockerrun).toBeGreaterThan(ebext);
    expect(r.stdout).toContain('[plaintext-secret]');
    expect(r.stdout).toMatch(/\d+ errors, \d+ warnings/);
  });

  it('prints JSON for CI', async () => {
    // Act
    const r = await cli([
      'lint',
      join(SEEDS, '000-treasury-plane-fix-plan'),
      '--target',
      'treasury-plane-dev',
      '--json',
    ]);

    // Assert
    expect(r.code).toBe(ExitCode.Findings);
    const out = r.json<{
      files: string[];
      errors: number;
      warnings: number;
      findings: { ruleId: string; severity: string }[];
    }>();
    expect(out.files).toContain('Procfile');
    expect(out.errors).toBe(out.findings.filter((f) => f.severity === 'error').length);
    expect(out.findings.map((f) => f.ruleId)).toContain('script-masked-exit-status');
  });

  it('exits 0 on warnings only, relative to the working directory, with no config needed', async () => {
    // Arrange
    const cwd = tmp();
    mkdirSync(join(cwd, 'bundle'));
    writeFileSync(join(cwd, 'bundle', 'Procfile'), 'web: gunicorn app.wsgi --bind 0.0.0.0:8000\n');

    // Act
    const r = await cli(['lint', 'bundle', '--json'], { cwd, env: { EBSHIP_CONFIG: '/nonexistent.yml' } });

    // Assert
    expect(r.code).toBe(ExitCode.Ok);
    expect(r.json()).toMatchObject({ files: ['Procfile'], errors: 0 });
  });

  it('warns that there is nothing to check in an empty directory', async () => {
    // Act
    const r = await cli(['lint', tmp()]);

    // Assert
    expect(r.code).toBe(ExitCode.Ok);
    expect(r.stdout).toContain('[no-bundle-files]');
  });

  it('rejects an unknown --target (exit 2)', async () => {
    // Act
    const r = await cli(['lint', tmp(), '--target', 'nope']);

    // Assert
    expect(r.code).toBe(ExitCode.Usage);
    expect(r.stderr).toContain('unknown target "nope"');
  });
});
