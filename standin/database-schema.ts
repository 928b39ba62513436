import type { CommandOutcome } from './services/ssm.js';

/**
 * The environment's database, as far as Django migrations go: which migrations are applied, and
 * which ones each image declares. SSM commands of ebship's documents act on it the way the real
 * commands would on RDS: `manage.py migrate` (the release phase, in a one-off container of the new
 * image) applies the image's migrations; `manage.py migrate --check` (the migration check, a check
 * in the running container) exits 1 while the running image declares one that is not applied,
 * which its script reports as exit 3 (infra/migration-check-script.cjs). Anything else exits 0.
 */
export interface SchemaWorld {
  /** Migrations applied to the database. */
  readonly applied: Set<string>;
  /** The migrations the image of this digest declares (unknown digest: none). */
  declaredBy(digest: string): string[];
  /** The digest of the image an instance runs now. */
  digestOn(instanceId: string): string | undefined;
}

/** What a document runs (standin/ssm-document.ts): a one-off of the new image, or an exec in a running container. */
export interface DocumentRun {
  kind: 'release' | 'exec';
  argv: string[];
  /** Whose document: without a database, only the migration check answers with the scenario's outcome. */
  owner: 'migration-check' | 'release' | 'check';
}

const MIGRATE = (argv: string[]) => argv.some((a) => /\bmigrate\b/.test(a));
const CHECK_ONLY = (argv: string[]) => argv.some((a) => /--check\b|--plan\b/.test(a));

export function commandOutcome(
  world: SchemaWorld,
  run: DocumentRun,
  image: string | undefined,
  base: CommandOutcome,
): CommandOutcome {
  if (!MIGRATE(run.argv)) return { ...base, exitCode: 0, stdout: 'ok\n', stderr: '' };
  const declared = image ? world.declaredBy(image) : [];
  const pending = declared.filter((m) => !world.applied.has(m));
  const listing = declared.map((m) => ` [${world.applied.has(m) ? 'X' : ' '}] ${m}`).join('\n');
  if (CHECK_ONLY(run.argv)) {
    if (pending.length === 0) return { ...base, exitCode: 0, stdout: 'No changes detected\n', stderr: '' };
    // manage.py migrate --check exits 1; the check script reports exit 3 and the check's own code.
    return { ...base, exitCode: 3, stdout: `${listing}\n`, stderr: 'ebship-check-exit=1\n' };
  }
  for (const m of pending) world.applied.add(m);
  return {
    ...base,
    exitCode: 0,
    stdout:
      pending.length === 0
        ? 'Operations to perform:\n  Apply all migrations\nRunning migrations:\n  No migrations to apply.\n'
        : `Operations to perform:\n  Apply all migrations\nRunning migrations:\n${pending.map((m) => `  Applying ${m}... OK`).join('\n')}\n`,
    stderr: '',
  };
}
