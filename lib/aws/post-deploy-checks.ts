import type { SSMClient } from '@aws-sdk/client-ssm';
import type { PostDeployCheck } from '../config/schema.js';
import { CheckFailed } from '../errors.js';
import type { InstanceSnapshot } from '../health/verdict.js';
import type { CheckRun, ChecksResult } from '../workflow-state.js';
import { CHECK_EXIT } from './migration-check.js';
import {
  healthyInstances,
  maxPollsFor,
  POLL_SECONDS,
  readInvocation,
  sendCommand,
  sendRefusal,
} from './run-command.js';

/**
 * Post-deploy checks (ebship.yml `checks:`): each runs its fixed argv in a running container through
 * its own SSM document (the migration check's script, infra/migration-check-script.cjs, so the same
 * exit codes), on one or all healthy instances of the new version. All are sent at once and polled
 * together; the first failure of a `rollback` check ends the watch (CheckFailed, caught into RollBack),
 * a failing `warn` check becomes a warning for history and the alert.
 */

export interface ChecksContext {
  environment: string;
  versionLabel: string;
  checks: PostDeployCheck[];
  documentOf: (check: PostDeployCheck) => string;
}

/** One failure of one check on one instance, in words. */
function failureText(check: PostDeployCheck, instanceId: string, what: string, output: string): string {
  return `check "${check.name}" (${check.command.join(' ')} in ${check.container}) ${what} on ${instanceId}${output ? `. Output:\n${output}` : ''}`;
}

function fail(check: PostDeployCheck, text: string, warnings: string[]): void {
  if (check.onFailure === 'rollback') throw new CheckFailed(text);
  warnings.push(`warning only (onFailure: warn): ${text}`);
}

export async function startChecks(
  client: SSMClient,
  instances: InstanceSnapshot[],
  ctx: ChecksContext,
): Promise<ChecksResult> {
  const healthy = healthyInstances(instances, ctx.versionLabel);
  const runs: CheckRun[] = [];
  const warnings: string[] = [];
  for (const check of ctx.checks) {
    const targets = check.on === 'all' ? healthy : healthy.slice(0, 1);
    if (targets.length === 0) {
      fail(
        check,
        `check "${check.name}" could not run: no healthy instance of ${ctx.environment} reports ${ctx.versionLabel} as deployed`,
        warnings,
      );
      continue;
    }
    const document = ctx.documentOf(check);
    try {
      const commandId = await sendCommand(client, {
        document,
        instanceIds: targets,
        timeoutSeconds: check.timeoutSeconds,
        comment: `ebship check ${check.name} ${ctx.environment} ${ctx.versionLabel}`,
      });
      runs.push({ name: check.name, commandId, instanceIds: targets, finished: [] });
    } catch (err) {
      const refusal = sendRefusal(err, document, `check "${check.name}"`);
      if (!refusal) throw err;
      fail(check, `check "${check.name}" could not run: ${refusal}`, warnings);
    }
  }
  return {
    status: runs.length === 0 ? 'passed' : 'pending',
    runs,
    polls: 0,
    nextPollSeconds: POLL_SECONDS,
    warnings,
  };
}

/** One poll of every unfinished invocation. */
export async function pollChecks(
  client: SSMClient,
  previous: ChecksResult,
  ctx: ChecksContext,
): Promise<ChecksResult> {
  const polls = previous.polls + 1;
  const warnings = [...previous.warnings];
  const runs: CheckRun[] = [];
  for (const run of previous.runs) {
    const check = ctx.checks.find((c) => c.name === run.name);
    if (!check) throw new CheckFailed(`check "${run.name}" is no longer in ebship.yml; cannot judge it`);
    const finished = [...run.finished];
    for (const instanceId of run.instanceIds.filter((i) => !finished.includes(i))) {
      const read = await readInvocation(client, run.commandId, instanceId, check.timeoutSeconds);
      if (read.kind === 'pending') {
        if (polls > maxPollsFor(check.timeoutSeconds)) {
          fail(
            check,
            failureText(check, instanceId, `did not finish within ${check.timeoutSeconds}s`, ''),
            warnings,
          );
          finished.push(instanceId);
        }
        continue;
      }
      finished.push(instanceId);
      if (read.kind === 'not-run') {
        fail(check, failureText(check, instanceId, read.why, read.output), warnings);
        continue;
      }
      switch (read.code) {
        case CHECK_EXIT.passed:
          break;
        case CHECK_EXIT.checkFailed: {
          const own = /ebship-check-exit=(\d+)/.exec(read.output)?.[1];
          fail(
            check,
            failureText(check, instanceId, `failed (exit ${own ?? 'non-zero'})`, read.output),
            warnings,
          );
          break;
        }
        case CHECK_EXIT.noContainer:
          fail(
            check,
            failureText(
              check,
              instanceId,
              `could not run: no running "${check.container}" container`,
              read.output,
            ),
            warnings,
          );
          break;
        default:
          fail(
            check,
            failureText(
              check,
              instanceId,
              `could not run (script exit ${read.code}: docker missing or down)`,
              read.output,
            ),
            warnings,
          );
      }
    }
    runs.push({ ...run, finished });
  }
  const done = runs.every((r) => r.finished.length === r.instanceIds.length);
  return { status: done ? 'passed' : 'pending', runs, polls, nextPollSeconds: POLL_SECONDS, warnings };
}
