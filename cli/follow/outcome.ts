import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import type { StateJson, TerminalStatus } from './track.js';

export type OutcomeName =
  | 'deployed'
  | 'ignored'
  | 'skipped'
  | 'rolled-back'
  | 'failed-before-deploy'
  | 'rollback-failed'
  /** A promotion waiting for manual approval was rejected, expired or superseded (issue 14). */
  | 'not-approved'
  | 'aborted'
  | 'timed-out'
  | 'failed'
  | 'detached';

export interface Outcome {
  outcome: OutcomeName;
  exitCode: ExitCodeValue;
  headline: string;
  /** Why nothing was deployed, for ignored and skipped executions. */
  note?: string;
}

/**
 * How an execution ended, from its status, the Fail state's error (state-machines/deploy.asl.yml:
 * DeploymentRolledBack, DeploymentFailed, RollbackFailed) and the state it ended in. Pure.
 */
export function outcomeOf(p: {
  status: TerminalStatus;
  error?: string;
  endState?: string;
  state: StateJson;
}): Outcome {
  if (p.status === 'SUCCEEDED') {
    const ignored = reasonAt(p.state, 'resolved', 'ignored') ?? reasonAt(p.state, 'ignored');
    if (p.endState === 'Ignored' || ignored) {
      return {
        outcome: 'ignored',
        exitCode: ExitCode.Ok,
        headline: 'Nothing deployed: the execution ignored this image',
        note: ignored,
      };
    }
    const skipped = reasonAt(p.state, 'lock', 'skipped');
    if (p.endState === 'Skipped' || skipped) {
      return {
        outcome: 'skipped',
        exitCode: ExitCode.Ok,
        headline: 'Nothing deployed: the execution skipped this image',
        note: skipped,
      };
    }
    return { outcome: 'deployed', exitCode: ExitCode.Ok, headline: 'Deployed' };
  }
  if (p.status === 'ABORTED')
    return { outcome: 'aborted', exitCode: ExitCode.ExecutionFailed, headline: 'Execution aborted' };
  if (p.status === 'TIMED_OUT')
    return { outcome: 'timed-out', exitCode: ExitCode.ExecutionFailed, headline: 'Execution timed out' };
  switch (p.error) {
    case 'DeploymentRolledBack':
      return {
        outcome: 'rolled-back',
        exitCode: ExitCode.RolledBack,
        headline: 'Rolled back: the new version failed its checks',
      };
    case 'DeploymentFailed':
      return {
        outcome: 'failed-before-deploy',
        exitCode: ExitCode.FailedBeforeDeploy,
        headline: 'Deploy failed before the environment was changed',
      };
    case 'NotApproved':
      // Nothing was changed, as with a failure before deploy: scripts read the same exit code.
      return {
        outcome: 'not-approved',
        exitCode: ExitCode.FailedBeforeDeploy,
        headline:
          'Not approved: the promotion was rejected, expired or superseded; the environment was not changed',
      };
    case 'RollbackFailed':
      return {
        outcome: 'rollback-failed',
        exitCode: ExitCode.RollbackFailed,
        headline: 'ROLLBACK FAILED: manual action needed',
      };
    default:
      return {
        outcome: 'failed',
        exitCode: ExitCode.ExecutionFailed,
        headline: `Execution failed${p.error ? ` (${p.error})` : ''}`,
      };
  }
}

function reasonAt(state: StateJson, ...path: string[]): string | undefined {
  let current: unknown = state;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  if (typeof current !== 'object' || current === null) return undefined;
  const reason = (current as { reason?: unknown }).reason;
  return typeof reason === 'string' ? reason : undefined;
}
