import { DIGEST, TAG } from '../release/image-ref.js';
import { shortDigest } from '../release/version-label.js';
import { formatDuration } from '../text/duration.js';
import { maskAppText } from '../text/mask.js';
import { causeMessage as messageOfCause } from '../workflow/caught-error.js';
import type { CaughtError, DeployState, HealthProgress, OutcomeStatus, Release } from '../workflow-state.js';

/**
 * The on-call alert for a finished deployment, built from the state machine's state. Pure: the
 * Notify step publishes what this returns.
 *
 * Only fields chosen here are printed, each one cleaned and capped: the state also holds the raw
 * execution input, error traces and command output, and none of that is dumped into an email.
 */
export interface Alert {
  subject: string;
  message: string;
  /** SNS message attributes, for subscription filter policies (outcome, target, ...). */
  attributes: Record<string, string>;
}

// SNS Publish: Subject is ASCII without line breaks or control characters, under 100 characters;
// Message at most 256 KiB including attributes. Stay well under both.
export const SUBJECT_MAX = 99;
export const MESSAGE_MAX_BYTES = 200_000;
const TEXT_MAX = 1_000;
const LIST_MAX = 10;

const HEADLINE: Record<OutcomeStatus, string> = {
  SUCCEEDED: 'Deployed',
  ROLLED_BACK: 'ROLLED BACK',
  FAILED_BEFORE_DEPLOY: 'Deploy failed, environment unchanged',
  ROLLBACK_FAILED: 'ROLLBACK FAILED - manual action needed',
  OVERRIDDEN: 'Deploy overridden by someone else',
};

export function composeAlert(state: DeployState, now: Date): Alert {
  const status = state.outcome?.status ?? inferStatus(state);
  const { release } = state;
  const target = release?.target ?? inputTarget(state.input) ?? 'unknown target';
  const message = release ? releaseMessage(state, release, status, now) : unresolvedMessage(state, status);
  return {
    subject: subjectLine(state, status, target, release),
    message: capBytes(message, MESSAGE_MAX_BYTES),
    attributes: {
      outcome: status,
      target,
      ...(release ? { application: release.application, environment: release.environment } : {}),
    },
  };
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

function subjectLine(
  state: DeployState,
  status: OutcomeStatus,
  target: string,
  release: Release | undefined,
): string {
  const head = `[ebship] ${HEADLINE[status]}: ${target}`;
  if (!release) return asciiSubject(head);
  const back = status === 'ROLLED_BACK' && state.rollback ? `, back on ${state.rollback.toVersion}` : '';
  return asciiSubject(`${head} ${release.versionLabel}${back}`);
}

function releaseMessage(state: DeployState, release: Release, status: OutcomeStatus, now: Date): string {
  const sections = [
    headline(state, release, status),
    facts(state, release, status, now),
    why(state, status),
    whatToDo(state, release, status),
  ];
  return sections.filter((s) => s.length > 0).join('\n\n');
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
    case 'OVERRIDDEN':
      return `${release.target}: while ebship watched ${to} on ${env}, another version was deployed there by someone else. ebship stopped and changed nothing.`;
  }
}

function facts(state: DeployState, release: Release, status: OutcomeStatus, now: Date): string {
  const from = state.deploy?.fromVersion;
  const version =
    status === 'FAILED_BEFORE_DEPLOY'
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
  rows.push(
    ['Image', image(release)],
    ['Trigger', release.trigger],
    ['Duration', duration(release.startedAt, now)],
    ['Execution', release.executionId],
  );
  return table(rows.map(([k, v]) => [k, oneLine(v, 300)]));
}

function image(release: Release): string {
  const name = `${release.repository}${release.imageTag ? `:${release.imageTag}` : ''}`;
  return release.imageDigest ? `${name} @ ${shortDigest(release.imageDigest)}` : `${name} (digest unknown)`;
}

function why(state: DeployState, status: OutcomeStatus): string {
  const parts: string[] = [];
  switch (status) {
    case 'SUCCEEDED': {
      parts.push('Checks');
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
        ...(state.releasePhase?.note ? [state.releasePhase.note] : []),
        ...(state.checks?.warnings ?? []),
      ];
      if (warnings.length > 0) parts.push('  Warnings:', ...bullets(warnings, 4));
      break;
    }
    case 'ROLLED_BACK':
      parts.push('Why it was rolled back');
      if (state.failure) parts.push(`  Error: ${describeError(state.failure)}`);
      if (state.health) parts.push(...healthLines('Health after the deploy', state.health));
      if (state.rollbackHealth) parts.push(...healthLines('Health after the rollback', state.rollbackHealth));
      break;
    case 'FAILED_BEFORE_DEPLOY':
      parts.push('Why it stopped');
      parts.push(`  Error: ${state.error ? describeError(state.error) : 'no error was recorded'}`);
      parts.push('  The environment was not changed: no application version was deployed.');
      break;
    case 'ROLLBACK_FAILED':
      parts.push('Why the deploy was rolled back');
      if (state.failure) parts.push(`  Error: ${describeError(state.failure)}`);
      if (state.health) parts.push(...healthLines('Health after the deploy', state.health));
      parts.push('', 'Why the rollback failed');
      if (state.error) parts.push(`  Error: ${describeError(state.error)}`);
      if (state.rollbackHealth) parts.push(...healthLines('Health after the rollback', state.rollbackHealth));
      if (!state.error && !state.rollbackHealth) parts.push('  No rollback result was recorded.');
      break;
    case 'OVERRIDDEN': {
      parts.push('What happened');
      const watch = state.rollbackHealth?.verdict === 'overridden' ? state.rollbackHealth : state.health;
      if (watch) parts.push(...healthLines('Health watch', watch));
      break;
    }
  }
  return parts.length > 1 ? parts.join('\n') : '';
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
  }
}

function whatToDo(state: DeployState, release: Release, status: OutcomeStatus): string {
  const retry =
    release.trigger === 'push'
      ? ` Pushing the same image again is ignored as a duplicate; deploy it by hand (execution input {"target": "${release.target}", "imageDigest": "${release.imageDigest}"}).`
      : '';
  switch (status) {
    case 'SUCCEEDED':
      return '';
    case 'ROLLED_BACK':
      return `What to do\n  Nothing urgent: ${release.environment} runs ${state.rollback?.toVersion ?? 'the previous version'} again. Fix the cause above before shipping ${release.versionLabel} again.${retry}`;
    case 'FAILED_BEFORE_DEPLOY':
      return `What to do\n  Nothing urgent: ${release.environment} still runs what it ran before. Fix the cause above, then deploy again.${retry}`;
    case 'ROLLBACK_FAILED':
      return manualRecovery(state, release);
    case 'OVERRIDDEN':
      return `What to do\n  Check with whoever deployed to ${release.environment} (its events name the version). ebship did not roll back over them, and ${release.versionLabel} was not marked good; deploy it again when the environment is yours.`;
  }
}

/** Step by step, with commands that can be pasted: on-call may not know ebship. */
function manualRecovery(state: DeployState, release: Release): string {
  const app = shellQuote(release.application);
  const env = shellQuote(release.environment);
  const region = regionOf(release.executionId);
  const r = region ? ` --region ${region}` : '';
  const good = state.rollback?.toVersion ?? state.deploy?.fromVersion;
  const label = good ? shellQuote(good) : '<label>';
  const lines = [
    'What to do now (manual action needed)',
    `  ${release.environment} may be running ${release.versionLabel} (the failed version), ${good ?? 'an older version'}, or a mix of both.`,
    '  1. See where the environment is:',
    `       aws elasticbeanstalk describe-environments --application-name ${app} --environment-names ${env}${r}`,
    '     If it stays Updating, stop the update first:',
    `       aws elasticbeanstalk abort-environment-update --environment-name ${env}${r}`,
  ];
  if (good) {
    lines.push(
      `  2. Once it is Ready, restore ${good} (the last version known to be good) by hand, with ebship:`,
    );
  } else {
    lines.push(
      '  2. ebship knows no version that was good on this environment (first deploy). Pick the last one that worked:',
      `       aws elasticbeanstalk describe-application-versions --application-name ${app} --max-records 10${r}`,
      '     Once the environment is Ready, restore it by hand, with ebship:',
    );
  }
  lines.push(
    `       ebship rollback ${shellQuote(release.target)} --to ${label}`,
    '     or with the AWS CLI:',
    `       aws elasticbeanstalk update-environment --application-name ${app} --environment-name ${env} --version-label ${label}${r}`,
    `  3. Watch health until it is Green and every instance runs ${good ?? 'that version'}:`,
    `       aws elasticbeanstalk describe-environment-health --environment-name ${env} --attribute-names All${r}`,
  );
  return lines.join('\n');
}

/** Resolution failed: there is no release, only the input, which is described, never dumped. */
function unresolvedMessage(state: DeployState, status: OutcomeStatus): string {
  const lines = [
    status === 'FAILED_BEFORE_DEPLOY'
      ? 'ebship could not work out what to deploy, so it deployed nothing: no environment was changed.'
      : `ebship ended (${status}) without knowing what it was deploying.`,
    '',
    `Input received: ${describeInput(state.input)}`,
  ];
  if (state.error) lines.push(`Error: ${describeError(state.error)}`);
  if (state.failure) lines.push(`Error: ${describeError(state.failure)}`);
  lines.push(
    '',
    'What to do',
    '  Check that the input is an ECR push event or {"target": "<target>", "imageTag": "<tag>"} for a target in ebship.yml.',
  );
  return lines.join('\n');
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

function duration(startedAt: string, now: Date): string {
  const start = Date.parse(startedAt);
  return Number.isNaN(start) ? 'unknown' : formatDuration((now.getTime() - start) / 1000);
}

function regionOf(executionArn: string): string | undefined {
  return /^arn:aws[a-z-]*:states:([a-z0-9-]+):/.exec(executionArn)?.[1];
}

function table(rows: [string, string][]): string {
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  return rows.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}`).join('\n');
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

/** SNS rejects subjects that are not printable ASCII or are 100 characters or more. */
export function asciiSubject(text: string): string {
  const ascii = maskAppText(text)
    .replace(/[\u2013\u2014]/g, '-')
    .replace(/[^\x20-\x7E]/g, '?')
    .replace(/ {2,}/g, ' ')
    .trim();
  return ascii.length > SUBJECT_MAX ? `${ascii.slice(0, SUBJECT_MAX - 3)}...` : ascii;
}

/** `clean`, on one line: for table cells and list items. */
function oneLine(text: string, max = TEXT_MAX): string {
  return clean(text.replace(/\s*\n\s*/g, ' / '), max);
}

/** A multi-line message under a label: continuation lines indented to stay inside their section. */
function indented(text: string, indent: number): string {
  return text.replace(/\n/g, `\n${' '.repeat(indent)}`);
}

function capBytes(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  const note = '\n\n(message cut to fit the SNS size limit)';
  const cut = bytes
    .subarray(0, maxBytes - Buffer.byteLength(note))
    .toString('utf8')
    .replace(/\uFFFD+$/, '');
  return `${cut}${note}`;
}

function shellQuote(value: string): string {
  return /^[A-Za-z0-9._:/@=+-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
