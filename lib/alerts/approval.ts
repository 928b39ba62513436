import { formatDuration } from '../text/duration.js';
import { maskAppText } from '../text/mask.js';
import { causeMessage } from '../workflow/caught-error.js';
import type { CaughtError, DeployState } from '../workflow-state.js';
import { consoleLinks } from './links.js';
import { type AlertModel, SEVERITY } from './model.js';

/**
 * Manual approval of a promotion (issue 14): the alert that asks for an answer, and the words for
 * how a wait ended without one. Nothing here ever sees the task token: the request's facts are
 * passed in without it, so no rendering can print it.
 */
export interface ApprovalRequestFacts {
  target: string;
  application: string;
  environment: string;
  versionLabel: string;
  imageDigest: string;
  imageTag?: string;
  repository: string;
  promotedFrom?: { target: string; executionId: string };
  executionId: string;
  requestedAt: string;
  /** ISO time the wait ends by itself (not approved). */
  expiresAt: string;
  timeoutSeconds: number;
  /** Older promotions to the target that this one replaced while they waited. */
  superseded: string[];
}

export function approvalRequestModel(f: ApprovalRequestFacts): AlertModel {
  const from = f.promotedFrom ? ` (passed on ${f.promotedFrom.target})` : '';
  const t = shellWord(f.target);
  return {
    outcome: 'APPROVAL_NEEDED',
    severity: SEVERITY.APPROVAL_NEEDED,
    target: f.target,
    application: f.application,
    environment: f.environment,
    title: `APPROVAL NEEDED: ${f.target} ${f.versionLabel}`,
    summary:
      `${f.versionLabel}${from} waits for approval before ebship deploys it to ${f.target} (${f.environment}). ` +
      `Nothing changes until someone answers; without an answer by ${f.expiresAt} ` +
      `(${formatDuration(f.timeoutSeconds)} after the request) it is not deployed.`,
    facts: [
      ['Target', f.target],
      ['Application', f.application],
      ['Environment', f.environment],
      ['Version', f.versionLabel],
      ['Image', `${f.repository}${f.imageTag ? `:${f.imageTag}` : ''} @ ${f.imageDigest}`],
      ...(f.promotedFrom
        ? ([['Promoted from', `${f.promotedFrom.target} (execution ${f.promotedFrom.executionId})`]] as [
            string,
            string,
          ][])
        : []),
      ['Requested', f.requestedAt],
      ['Expires', f.expiresAt],
      ['Execution', f.executionId],
    ].map(([k, v]) => [k, oneLine(v ?? '')] as [string, string]),
    sections:
      f.superseded.length > 0
        ? [
            {
              title: 'Replaced',
              lines: f.superseded.map(
                (s) => `  ${oneLine(s)}: an older promotion that still waited; it ends not approved`,
              ),
            },
          ]
        : [],
    stepsTitle: 'What to do',
    stepsIntro: [
      'Answer with ebship, as an IAM identity allowed states:SendTaskSuccess / states:SendTaskFailure on the deploy state machine (docs/iam.md): who answers is recorded in history.',
    ],
    steps: [
      { text: `To deploy ${f.versionLabel} to ${f.target}:`, commands: [`ebship approve ${t}`] },
      { text: 'Not this one:', commands: [`ebship reject ${t} --reason "<why>"`] },
      { text: 'See what waits, and where the target is:', commands: [`ebship status ${t}`] },
    ],
    links: consoleLinks({
      executionArn: f.executionId,
      application: f.application,
      environment: f.environment,
    }),
    instances: [],
    logTails: [],
    executionId: f.executionId,
    // As compose.ts's threadIdOf: the environment's chat thread.
    threadId: `ebship/${f.application}/${f.environment}`,
    keywords: ['APPROVAL_NEEDED', f.target, f.environment, f.versionLabel],
  };
}

/**
 * How a wait for approval ended without one, for history and the alert (`$.error` of WaitForApproval):
 * rejected (`ebship reject`: Cause `{ by, reason }`), no answer in time (States.Timeout), or replaced
 * by a newer promotion (Cause `{ by, versionLabel }`).
 */
export function notApprovedReason(state: Pick<DeployState, 'error' | 'release'>): string {
  const error: CaughtError | undefined = state.error;
  const cause = parseCause(error?.Cause);
  switch (error?.Error) {
    case 'ApprovalRejected':
      return oneLine(
        `rejected by ${text(cause.by) ?? 'someone'}: ${text(cause.reason) ?? causeMessage(error.Cause) ?? 'no reason given'}`,
      );
    case 'States.Timeout': {
      const seconds = state.release?.approvalTimeoutSeconds;
      return `no answer within ${seconds ?? 'the approval timeout of'} s`;
    }
    case 'ApprovalSuperseded':
      return oneLine(
        `superseded by ${text(cause.versionLabel) ?? 'a newer promotion'}${text(cause.by) ? ` (execution ${text(cause.by)})` : ''}`,
      );
    default:
      return oneLine(`not approved: ${error?.Error ?? 'no answer'}`);
  }
}

function parseCause(cause: string | undefined): Record<string, unknown> {
  if (!cause) return {};
  try {
    const parsed: unknown = JSON.parse(cause);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim().length > 0 ? value.trim() : undefined;
}

function oneLine(value: string, max = 500): string {
  const masked = maskAppText(value.replace(/\s*\n\s*/g, ' / ')).trim();
  return masked.length > max ? `${masked.slice(0, max - 1)}…` : masked;
}

function shellWord(value: string): string {
  return /^[A-Za-z0-9._:/@=+-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
