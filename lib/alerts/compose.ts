import { DIGEST, TAG } from '../release/image-ref.js';
import { shortDigest } from '../release/version-label.js';
import { formatDuration } from '../text/duration.js';
import { maskAppText } from '../text/mask.js';
import { stateMachineArnOf } from '../workflow/arns.js';
import { causeMessage as messageOfCause } from '../workflow/caught-error.js';
import type { CaughtError, DeployState, HealthProgress, OutcomeStatus, Release } from '../workflow-state.js';
import { notApprovedReason } from './approval.js';
import type { ChatNotification } from './chat-schema.js';
import { diagnosticsOf } from './diagnostics.js';
import { consoleLinks } from './links.js';
import { type AlertModel, type AlertStep, type InstanceVersion, SEVERITY, WHOLE_STAGE } from './model.js';
import {
  type AlertData,
  asciiSubject,
  EMAIL_MAX_BYTES,
  renderChat,
  renderData,
  renderEmail,
  SUBJECT_MAX,
  subjectOf,
} from './render.js';

/**
 * The on-call alert for a finished deployment, built from the state machine's state. Pure: the
 * Notify step publishes what this returns.
 *
 * Only fields chosen here are printed, each one cleaned and capped: the state also holds the raw
 * execution input, error traces and command output, and none of that is dumped into an email.
 * composeModel builds the one AlertModel; lib/alerts/render.ts renders it per channel.
 */
export interface Alert {
  subject: string;
  /** The email (and SNS "default") rendering. */
  message: string;
  /** SNS message attributes, for subscription filter policies: outcome, severity, target, application, environment. */
  attributes: Record<string, string>;
  /** Amazon Q Developer's custom notification (chat). */
  chat: ChatNotification;
  /** The model as JSON, for machines (SQS, Lambda subscribers). */
  data: AlertData;
}

export { asciiSubject, SUBJECT_MAX };
export const MESSAGE_MAX_BYTES = EMAIL_MAX_BYTES;
const TEXT_MAX = 1_000;
const LIST_MAX = 10;

const HEADLINE: Record<OutcomeStatus, string> = {
  SUCCEEDED: 'Deployed',
  ROLLED_BACK: 'ROLLED BACK',
  FAILED_BEFORE_DEPLOY: 'Deploy failed, environment unchanged',
  ROLLBACK_FAILED: 'ROLLBACK FAILED - manual action needed',
  OVERRIDDEN: 'Deploy overridden by someone else',
  NOT_APPROVED: 'Not approved, environment unchanged',
};

/** Renders a model for every channel, with the attributes filter policies match on. */
export function renderAlert(model: AlertModel): Alert {
  return {
    subject: subjectOf(model),
    message: renderEmail(model),
    attributes: attributesOf(model),
    chat: renderChat(model),
    data: renderData(model),
  };
}

export function attributesOf(model: AlertModel): Record<string, string> {
  return {
    outcome: model.outcome,
    severity: model.severity,
    target: model.target,
    application: model.application,
    environment: model.environment,
  };
}

export function composeAlert(state: DeployState, now: Date): Alert {
  return renderAlert(composeModel(state, now));
}

export function composeModel(state: DeployState, now: Date): AlertModel {
  const status = state.outcome?.status ?? inferStatus(state);
  const { release } = state;
  const target = release?.target ?? inputTarget(state.input) ?? 'unknown target';
  const diagnostics = diagnosticsOf(state);
  const endedAt = endedAtOf(state, now);
  const durationSeconds = release ? durationOf(release.startedAt, endedAt) : undefined;
  const executionId = release?.executionId ?? executionOf(state);
  const base = {
    outcome: status,
    severity: SEVERITY[status],
    target,
    application: release?.application ?? WHOLE_STAGE,
    environment: release?.environment ?? WHOLE_STAGE,
    title: titleOf(state, status, target, release),
    links: consoleLinks({
      ...(executionId ? { executionArn: executionId } : {}),
      ...(release ? { application: release.application, environment: release.environment } : {}),
      ...(diagnostics?.environmentId ? { environmentId: diagnostics.environmentId } : {}),
    }),
    instances: diagnostics?.instances ?? [],
    ...atVerdict(state, status),
    logTails: diagnostics?.logTails ?? [],
    ...(tailNote(state, diagnostics?.note) ? { logTailNote: tailNote(state, diagnostics?.note) } : {}),
    ...(durationSeconds !== undefined ? { durationSeconds } : {}),
    ...(executionId ? { executionId } : {}),
    threadId: release ? threadIdOf(release.application, release.environment) : `ebship/${target}`,
    keywords: [status, target, ...(release ? [release.environment, release.versionLabel] : [])],
  };
  if (!release) return { ...base, ...unresolvedModel(state, status) };
  const todo = whatToDo(state, release, status);
  return {
    ...base,
    summary: headline(state, release, status),
    facts: facts(state, release, status, durationSeconds),
    sections: why(state, status),
    ...todo,
  };
}

/**
 * The instances and the version each ran at the health verdict that failed the deploy: only when
 * that differs from one version everywhere (a partial deploy), and only for outcomes after a deploy
 * that did not hold. Read defensively: the health step may not record them.
 */
function atVerdict(
  state: DeployState,
  status: OutcomeStatus,
): Pick<AlertModel, 'instancesAtVerdict'> | Record<string, never> {
  if (status !== 'ROLLED_BACK' && status !== 'ROLLBACK_FAILED') return {};
  const raw = (state.health as { instances?: unknown } | undefined)?.instances;
  if (!Array.isArray(raw)) return {};
  const list: InstanceVersion[] = raw.flatMap((i: unknown) => {
    if (!isRecord(i)) return [];
    const id = typeof i.instanceId === 'string' ? i.instanceId : typeof i.id === 'string' ? i.id : undefined;
    if (!id) return [];
    const text = (v: unknown) => (typeof v === 'string' && v.length > 0 ? oneLine(v, 120) : undefined);
    const versionLabel = text(i.versionLabel);
    const deploymentStatus = text(i.deploymentStatus);
    const color = text(i.color);
    return [
      {
        instanceId: oneLine(id, 40),
        ...(versionLabel ? { versionLabel } : {}),
        ...(deploymentStatus ? { deploymentStatus } : {}),
        ...(color ? { color } : {}),
      },
    ];
  });
  const mixed =
    new Set(list.map((i) => i.versionLabel)).size > 1 || list.some((i) => i.deploymentStatus === 'Failed');
  return mixed ? { instancesAtVerdict: list } : {};
}

/** Why a log tail that was wanted is missing: its step failed (`$.logTailError`) or said why. */
function tailNote(state: DeployState, note: string | undefined): string | undefined {
  const failed = (state as { logTailError?: CaughtError }).logTailError;
  const target = state.release?.target ?? '<target>';
  if (failed)
    return `The app's log tail could not be read (${oneLine(failed.Error, 80)}): run \`ebship logs ${target}\`.`;
  return note ? oneLine(note, 300) : undefined;
}

/** One chat thread per environment (Amazon Q Developer's metadata.threadId). */
export function threadIdOf(application: string, environment: string): string {
  return `ebship/${application}/${environment}`;
}

/**
 * The Mark* states set the outcome; should one ever be missing, never claim success that the state
 * does not show: an environment that was changed and not proven healthy needs a person.
 */
function inferStatus(state: DeployState): OutcomeStatus {
  if (state.rollback) {
    return !state.error && state.rollbackHealth?.verdict === 'healthy' ? 'ROLLED_BACK' : 'ROLLBACK_FAILED';
  }
  if (!state.deploy)
    return state.error || state.failure || !state.health ? 'FAILED_BEFORE_DEPLOY' : 'SUCCEEDED';
  const healthy = state.health?.verdict === 'healthy' && !state.failure && !state.error;
  return healthy ? 'SUCCEEDED' : 'ROLLBACK_FAILED';
}

function titleOf(
  state: DeployState,
  status: OutcomeStatus,
  target: string,
  release: Release | undefined,
): string {
  const head = `${HEADLINE[status]}: ${target}`;
  if (!release) return head;
  const back = status === 'ROLLED_BACK' && state.rollback ? `, back on ${state.rollback.toVersion}` : '';
  return `${head} ${release.versionLabel}${back}`;
}

function headline(state: DeployState, release: Release, status: OutcomeStatus): string {
  const to = release.versionLabel;
  const env = release.environment;
  const back = state.rollback?.toVersion ?? state.deploy?.fromVersion;
  switch (status) {
    case 'SUCCEEDED':
      return `${release.target} now runs ${to} on ${env}${state.deploy?.fromVersion ? ` (was ${state.deploy.fromVersion})` : ''}.`;
    case 'ROLLED_BACK':
      return `${release.target}: ${to} failed on ${env}, so ebship rolled back to ${back ?? 'the previous version'}, which is healthy again.`;
    case 'FAILED_BEFORE_DEPLOY':
      return `${release.target}: ${to} was not deployed. It failed before Elastic Beanstalk was asked to change anything: the environment ${env} was not changed.`;
    case 'ROLLBACK_FAILED':
      return state.rollback
        ? `${release.target}: ${to} failed on ${env} and the rollback to ${state.rollback.toVersion} did not become healthy. ${env} needs a person now.`
        : `${release.target}: ${to} failed on ${env} and ebship could not roll back. ${env} needs a person now.`;
    case 'NOT_APPROVED':
      return `${release.target}: ${to} was not deployed (${notApprovedReason(state)}): the environment ${env} was not changed.`;
    case 'OVERRIDDEN':
      return `${release.target}: while ebship watched ${to} on ${env}, another version was deployed there by someone else. ebship stopped and changed nothing.`;
  }
}

function facts(
  state: DeployState,
  release: Release,
  status: OutcomeStatus,
  durationSeconds: number | undefined,
): [string, string][] {
  const from = state.deploy?.fromVersion;
  const version =
    status === 'FAILED_BEFORE_DEPLOY' || status === 'NOT_APPROVED'
      ? `${from ?? '(current, unchanged)'} → ${release.versionLabel} (not deployed)`
      : `${from ?? '(unknown)'} → ${release.versionLabel}`;
  const rows: [string, string][] = [
    ['Target', release.target],
    ['Application', release.application],
    ['Environment', release.environment],
    ['Version', version],
  ];
  if (state.rollback)
    rows.push(['Rolled back', `${state.rollback.fromVersion} → ${state.rollback.toVersion}`]);
  // Issue 14: who let a promotion through manual approval.
  if (state.approval)
    rows.push([
      'Approved',
      `by ${state.approval.approvedBy} at ${state.approval.approvedAt}${state.approval.comment ? ` ("${state.approval.comment}")` : ''}`,
    ]);
  rows.push(
    ['Image', image(release)],
    ['Trigger', release.trigger],
    ['Duration', durationSeconds === undefined ? 'unknown' : formatDuration(durationSeconds)],
    ['Execution', release.executionId],
  );
  return rows.map(([k, v]) => [k, oneLine(v, 300)]);
}

function image(release: Release): string {
  const name = `${release.repository}${release.imageTag ? `:${release.imageTag}` : ''}`;
  return release.imageDigest ? `${name} @ ${shortDigest(release.imageDigest)}` : `${name} (digest unknown)`;
}

function why(state: DeployState, status: OutcomeStatus): AlertModel['sections'] {
  const parts: string[] = [];
  let title = '';
  const more: AlertModel['sections'] = [];
  switch (status) {
    case 'SUCCEEDED': {
      title = 'Checks';
      if (state.health) parts.push(...healthLines('Health', state.health));
      if (state.migration?.status === 'passed') {
        parts.push(`  Migration check: passed on ${oneLine(state.migration.instanceId, 40)}`);
      }
      if (state.releasePhase?.status === 'passed') {
        parts.push(
          `  Release phase: passed on ${oneLine(state.releasePhase.instanceId ?? 'an instance', 40)}`,
        );
      }
      const warnings = [
        ...(state.secrets?.warnings ?? []),
        ...(state.bundle?.warnings ?? []),
        ...(state.version?.warnings ?? []),
        ...(state.releasePhase?.note ? [state.releasePhase.note] : []),
        ...(state.checks?.warnings ?? []),
        // Alarm gates: alarms already firing before the deploy, alarms CloudWatch does not know.
        ...(state.health?.notes ?? []),
      ];
      if (warnings.length > 0) parts.push('  Warnings:', ...bullets(warnings, 4));
      break;
    }
    case 'ROLLED_BACK':
      title = 'Why it was rolled back';
      if (state.failure) parts.push(`  Error: ${describeError(state.failure)}`);
      if (state.health) parts.push(...healthLines('Health after the deploy', state.health));
      if (state.rollbackHealth) parts.push(...healthLines('Health after the rollback', state.rollbackHealth));
      break;
    case 'FAILED_BEFORE_DEPLOY':
      title = 'Why it stopped';
      parts.push(`  Error: ${state.error ? describeError(state.error) : 'no error was recorded'}`);
      parts.push('  The environment was not changed: no application version was deployed.');
      break;
    case 'ROLLBACK_FAILED': {
      title = 'Why the deploy was rolled back';
      if (state.failure) parts.push(`  Error: ${describeError(state.failure)}`);
      if (state.health) parts.push(...healthLines('Health after the deploy', state.health));
      const failed: string[] = [];
      if (state.error) failed.push(`  Error: ${describeError(state.error)}`);
      if (state.rollbackHealth)
        failed.push(...healthLines('Health after the rollback', state.rollbackHealth));
      if (!state.error && !state.rollbackHealth) failed.push('  No rollback result was recorded.');
      more.push({ title: 'Why the rollback failed', lines: failed });
      break;
    }
    case 'NOT_APPROVED':
      title = 'Why it was not deployed';
      parts.push(`  ${notApprovedReason(state)}`);
      if (state.release?.promotedFrom)
        parts.push(
          `  Promoted from ${state.release.promotedFrom.target} (execution ${state.release.promotedFrom.executionId}); manual approval is required (promote.approval: manual).`,
        );
      parts.push('  The environment was not changed: no application version was deployed.');
      break;
    case 'OVERRIDDEN': {
      title = 'What happened';
      const watch = state.rollbackHealth?.verdict === 'overridden' ? state.rollbackHealth : state.health;
      if (watch) parts.push(...healthLines('Health watch', watch));
      break;
    }
  }
  return [
    ...forcedSection(state),
    ...(parts.length > 0 ? [{ title, lines: parts }] : []),
    ...more,
    ...promotionSection(state),
  ];
}

/** Issue 14: what a manual deploy's --force overrode (a freeze, the promotion gate), whatever came of it. */
function forcedSection(state: DeployState): AlertModel['sections'] {
  const forced = state.lock?.forced ?? [];
  if (!state.release || forced.length === 0) return [];
  const target = oneLine(state.release.target, 63);
  return [
    {
      title: 'Forced',
      lines: forced.map((what) =>
        what === 'through a freeze'
          ? `  Deployed through a freeze with --force: ${target} is frozen (\`ebship status ${target}\` says why and by whom).`
          : `  Deployed ${oneLine(what, 200)} with --force.`,
      ),
    },
  ];
}

/** Issue 14: where this deploy came from, and what a success here started. */
function promotionSection(state: DeployState): AlertModel['sections'] {
  const lines: string[] = [];
  const from = state.release?.promotedFrom;
  if (from) lines.push(`  Promoted from ${oneLine(from.target, 63)} (${oneLine(from.executionId, 300)}).`);
  const recorded = state.recorded;
  for (const p of recorded?.promotions?.started ?? []) {
    const target = oneLine(p.target, 63);
    lines.push(
      p.approval === 'manual'
        ? `  Promoting to ${target}: it waits for \`ebship approve ${target}\` (or \`ebship reject ${target} --reason …\`).`
        : `  Promoting to ${target}: ${oneLine(p.executionArn, 300)}.`,
    );
  }
  for (const n of recorded?.promotions?.notPromoted ?? [])
    lines.push(`  Not promoted to ${oneLine(n.target, 63)}: ${oneLine(n.reason, 300)}.`);
  if (recorded?.promotionError && state.release) {
    const r = state.release;
    lines.push(
      `  The promotion did not start (${oneLine(recorded.promotionError, 300)}); start it by hand: ` +
        `\`ebship deploy <promoted target> --digest ${r.imageDigest}\`.`,
    );
  }
  return lines.length > 0 ? [{ title: 'Promotion', lines }] : [];
}

function healthLines(title: string, h: HealthProgress): string[] {
  const colour = [h.color, h.healthStatus && `(${h.healthStatus})`].filter(Boolean).join(' ') || 'unknown';
  const lines = [
    `  ${title}: ${oneLine(colour, 60)}${h.status ? `, environment ${oneLine(h.status, 40)}` : ''}; ${verdictText(h)}`,
  ];
  if (h.causes.length > 0) lines.push('    Causes:', ...bullets(h.causes, 6));
  if (h.events.length > 0)
    lines.push('    Last Elastic Beanstalk events:', ...bullets(h.events.slice(-LIST_MAX), 6));
  return lines;
}

function verdictText(h: HealthProgress): string {
  const checks = `${h.polls} check${h.polls === 1 ? '' : 's'}`;
  switch (h.verdict) {
    case 'healthy':
      return `healthy after ${checks}`;
    case 'rollback':
      return `judged unhealthy after ${checks}`;
    case 'timeout':
      return `no healthy verdict within the health timeout (${checks}); the update was aborted`;
    case 'wait':
      return `still converging after ${checks}`;
    case 'overridden':
      return `stopped after ${checks}: another version was deployed`;
    case 'abort':
      return `judged unhealthy after ${checks} while EB was still updating; ebship aborted the update without waiting for EB`;
  }
}

type Steps = Pick<AlertModel, 'stepsTitle' | 'stepsIntro' | 'steps'>;

function whatToDo(state: DeployState, release: Release, status: OutcomeStatus): Steps {
  const t = shellQuote(release.target);
  const env = shellQuote(release.environment);
  const r = regionFlag(release.executionId);
  const diagnostics = diagnosticsOf(state);
  const group = diagnostics?.source === 'cloudwatch' ? diagnostics.logGroups?.[0] : undefined;
  const logs: AlertStep = {
    text: 'See what the app printed last:',
    commands: [`ebship logs ${t}`],
    // The environment streams to CloudWatch Logs: read the stream there, no request to the instances.
    aws: group
      ? [`aws logs tail ${shellQuote(group)} --since 1h${r}`]
      : [
          `aws elasticbeanstalk request-environment-info --environment-name ${env} --info-type tail${r}`,
          `aws elasticbeanstalk retrieve-environment-info --environment-name ${env} --info-type tail${r}   # a minute later: one presigned URL per instance`,
        ],
  };
  const redeploy: AlertStep = {
    text:
      release.trigger === 'push'
        ? `Once fixed, push a new image; to deploy this one again by hand (pushing the same image again is ignored as a duplicate):`
        : 'Once fixed, deploy again:',
    commands: [`ebship deploy ${t} --digest ${release.imageDigest} --follow`],
    aws: [
      `aws stepfunctions start-execution --state-machine-arn ${stateMachineArnOf(release.executionId) ?? '<state machine ARN>'} --input '{"target":"${release.target}","imageDigest":"${release.imageDigest}"}'${r}`,
    ],
  };
  switch (status) {
    case 'SUCCEEDED':
      return { stepsTitle: '', stepsIntro: [], steps: [] };
    case 'ROLLED_BACK':
      return {
        stepsTitle: 'What to do',
        stepsIntro: [
          `Nothing urgent: ${release.environment} runs ${state.rollback?.toVersion ?? 'the previous version'} again. Fix the cause above before shipping ${release.versionLabel} again.${release.trigger === 'push' ? ' Pushing the same image again is ignored as a duplicate.' : ''}`,
        ],
        steps: [logs, redeploy],
      };
    case 'FAILED_BEFORE_DEPLOY':
      return {
        stepsTitle: 'What to do',
        stepsIntro: [
          `Nothing urgent: ${release.environment} still runs what it ran before. Fix the cause above, then deploy again.${release.trigger === 'push' ? ' Pushing the same image again is ignored as a duplicate.' : ''}`,
        ],
        steps: [redeploy],
      };
    case 'ROLLBACK_FAILED':
      return manualRecovery(state, release, logs);
    case 'NOT_APPROVED':
      return {
        stepsTitle: 'What to do',
        stepsIntro: [
          `Nothing urgent: ${release.environment} still runs what it ran before. To ship ${release.versionLabel} after all, deploy it by hand (it passed on ${release.promotedFrom?.target ?? 'the target it is promoted from'}):`,
        ],
        steps: [
          {
            text: 'Deploy this digest:',
            commands: [`ebship deploy ${t} --digest ${release.imageDigest} --follow`],
          },
        ],
      };
    case 'OVERRIDDEN':
      return {
        stepsTitle: 'What to do',
        stepsIntro: [
          `Check with whoever deployed to ${release.environment} (its events name the version). ebship did not roll back over them, and ${release.versionLabel} was not marked good; deploy it again when the environment is yours.`,
        ],
        steps: [
          {
            text: 'See who deployed what:',
            commands: [`ebship status ${t}`],
            aws: [`aws elasticbeanstalk describe-events --environment-name ${env} --max-items 20${r}`],
          },
          redeploy,
        ],
      };
  }
}

/** Step by step, with commands that can be pasted: on-call may not know ebship. */
function manualRecovery(state: DeployState, release: Release, logs: AlertStep): Steps {
  const app = shellQuote(release.application);
  const env = shellQuote(release.environment);
  const r = regionFlag(release.executionId);
  const good = state.rollback?.toVersion ?? state.deploy?.fromVersion;
  const label = good ? shellQuote(good) : '<label>';
  const steps: AlertStep[] = [
    {
      text: 'See where the environment is:',
      commands: [`ebship status ${shellQuote(release.target)}`],
      aws: [
        `aws elasticbeanstalk describe-environments --application-name ${app} --environment-names ${env}${r}`,
      ],
      followUp: {
        text: 'If it stays Updating, stop the update first:',
        commands: [`aws elasticbeanstalk abort-environment-update --environment-name ${env}${r}`],
      },
    },
  ];
  if (!good) {
    steps.push({
      text: 'ebship knows no version that was good on this environment (first deploy). Pick the last one that worked:',
      commands: [
        `aws elasticbeanstalk describe-application-versions --application-name ${app} --max-records 10${r}`,
      ],
    });
  }
  steps.push(
    {
      text: good
        ? `Once it is Ready, restore ${good} (the last version known to be good) by hand, with ebship:`
        : 'Once the environment is Ready, restore it by hand, with ebship:',
      commands: [`ebship rollback ${shellQuote(release.target)} --to ${label}`],
      aws: [
        `aws elasticbeanstalk update-environment --application-name ${app} --environment-name ${env} --version-label ${label}${r}`,
      ],
    },
    {
      text: `Watch health until it is Green and every instance runs ${good ?? 'that version'}:`,
      commands: [
        `aws elasticbeanstalk describe-environment-health --environment-name ${env} --attribute-names All${r}`,
      ],
    },
    logs,
  );
  return {
    stepsTitle: 'What to do now (manual action needed)',
    stepsIntro: [
      `${release.environment} may be running ${release.versionLabel} (the failed version), ${good ?? 'an older version'}, or a mix of both.`,
    ],
    steps,
  };
}

/** Resolution failed: there is no release, only the input, which is described, never dumped. */
function unresolvedModel(
  state: DeployState,
  status: OutcomeStatus,
): Pick<AlertModel, 'summary' | 'facts' | 'sections' | 'stepsTitle' | 'stepsIntro' | 'steps'> {
  const lines = [`  Input received: ${describeInput(state.input)}`];
  if (state.error) lines.push(`  Error: ${describeError(state.error)}`);
  if (state.failure) lines.push(`  Error: ${describeError(state.failure)}`);
  return {
    summary:
      status === 'FAILED_BEFORE_DEPLOY'
        ? 'ebship could not work out what to deploy, so it deployed nothing: no environment was changed.'
        : `ebship ended (${status}) without knowing what it was deploying.`,
    facts: [],
    sections: [{ title: 'What came in', lines }],
    stepsTitle: 'What to do',
    stepsIntro: [
      'Check that the input is an ECR push event or {"target": "<target>", "imageTag": "<tag>"} for a target in ebship.yml.',
    ],
    steps: [],
  };
}

const TARGET = /^[a-z0-9][a-z0-9-]{0,62}$/;
const LABEL = /^[A-Za-z0-9._-]{1,100}$/;
const REPOSITORY = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

/** Names only the fields ebship reads from an input, and only when they look like what they should be. */
function describeInput(input: unknown): string {
  if (!isRecord(input)) return input === undefined ? 'nothing' : `a ${typeof input}, not an object`;
  if (input.source === 'aws.ecr' && isRecord(input.detail)) {
    const d = input.detail;
    return [
      'an ECR event',
      `action ${pick(d['action-type'], /^(PUSH|DELETE)$/)}`,
      `result ${pick(d.result, /^(SUCCESS|FAILURE)$/)}`,
      `repository ${pick(d['repository-name'], REPOSITORY)}`,
      `tag ${pick(d['image-tag'], TAG)}`,
      `digest ${d['image-digest'] === undefined ? '(none)' : DIGEST.test(String(d['image-digest'])) ? shortDigest(String(d['image-digest'])) : '(not valid)'}`,
    ].join(', ');
  }
  if ('target' in input) {
    const fields = [`a manual request for target ${pick(input.target, TARGET)}`];
    if (input.imageTag !== undefined) fields.push(`tag ${pick(input.imageTag, TAG)}`);
    if (input.imageDigest !== undefined) fields.push(`digest ${pick(input.imageDigest, DIGEST)}`);
    if (input.rollbackTo !== undefined) fields.push(`rollback to ${pick(input.rollbackTo, LABEL)}`);
    if (input.trigger !== undefined)
      fields.push(`trigger ${pick(input.trigger, /^(manual|rollback|push)$/)}`);
    return fields.join(', ');
  }
  const keys = Object.keys(input).length;
  return `an object that is neither an ECR push event nor a manual request (${keys} top-level field${keys === 1 ? '' : 's'})`;
}

function pick(value: unknown, pattern: RegExp): string {
  if (value === undefined) return '(none)';
  return typeof value === 'string' && pattern.test(value) ? value : '(not valid)';
}

function inputTarget(input: unknown): string | undefined {
  return isRecord(input) && typeof input.target === 'string' && TARGET.test(input.target)
    ? input.target
    : undefined;
}

/** Lambda puts `{"errorType","errorMessage","trace"}` in Cause; local runs give the bare message. Never the trace. */
export function describeError(error: CaughtError, indent = 4): string {
  const name = oneLine(error.Error, 200);
  const message = causeMessage(error.Cause);
  return indented(message ? `${name}: ${message}` : name, indent);
}

/** The caught error's message (lib/workflow/caught-error.ts), cleaned for the alert. */
function causeMessage(cause: string | undefined): string | undefined {
  const message = messageOfCause(cause);
  return message === undefined ? undefined : clean(message, TEXT_MAX * 2);
}

/** The one duration: the execution's start to when RecordOutcome wrote the history, else to `now`. */
export function durationOf(startedAt: string, endedAt: Date): number | undefined {
  const start = Date.parse(startedAt);
  return Number.isNaN(start) ? undefined : Math.max(0, Math.round((endedAt.getTime() - start) / 1000));
}

function endedAtOf(state: DeployState, now: Date): Date {
  // RecordOutcome's instant (lib/steps/record-outcome.ts), also the history's: one duration everywhere.
  const at = (state as { recorded?: { endedAt?: unknown } }).recorded?.endedAt;
  const parsed = typeof at === 'string' ? Date.parse(at) : Number.NaN;
  return Number.isNaN(parsed) ? now : new Date(parsed);
}

function regionFlag(executionArn: string): string {
  const region = /^arn:aws[a-z-]*:states:([a-z0-9-]+):/.exec(executionArn)?.[1];
  return region ? ` --region ${region}` : '';
}

/** Executions that failed before resolving a release still have an id: ResolveRelease's input has it. */
function executionOf(state: DeployState): string | undefined {
  const id = (state as { executionId?: unknown }).executionId;
  return typeof id === 'string' ? id : undefined;
}

function bullets(items: string[], indent: number): string[] {
  const pad = ' '.repeat(indent);
  const shown = items.slice(0, LIST_MAX).map((i) => `${pad}- ${oneLine(i)}`);
  if (items.length > LIST_MAX) shown.push(`${pad}  (${items.length - LIST_MAX} more)`);
  return shown;
}

/**
 * Free text from EB, Lambda errors, the migration check and our own messages, through the one
 * masking function (lib/text/mask.ts: no terminal control, secrets masked), then capped so one
 * runaway message cannot crowd out the rest.
 */
export function clean(text: string, max = TEXT_MAX): string {
  const masked = maskAppText(text).trim();
  return masked.length > max ? `${masked.slice(0, max - 1)}…` : masked;
}

/** `clean`, on one line: for table cells and list items. */
function oneLine(text: string, max = TEXT_MAX): string {
  return clean(text.replace(/\s*\n\s*/g, ' / '), max);
}

/** A multi-line message under a label: continuation lines indented to stay inside their section. */
function indented(text: string, indent: number): string {
  return text.replace(/\n/g, `\n${' '.repeat(indent)}`);
}

function shellQuote(value: string): string {
  return /^[A-Za-z0-9._:/@=+-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
