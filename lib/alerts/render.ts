import * as v from 'valibot';
import { maskAppText } from '../text/mask.js';
import { type ChatNotification, chatNotificationSchema } from './chat-schema.js';
import type { AlertModel, AlertOutcome, AlertStep, InstanceVersion } from './model.js';

/**
 * The per-channel renderings of one AlertModel: plain text for email, Amazon Q Developer's custom
 * notification for chat, JSON for machines. lib/alerts/publish.ts sends all three in one SNS
 * Publish (MessageStructure=json), each protocol getting its own.
 */

// SNS Publish: Subject is ASCII without line breaks or control characters, under 100 characters;
// the Message (all protocols' renderings together, with attributes) at most 256 KiB.
export const SUBJECT_MAX = 99;
/** Budgets per rendering, so that the email text, the chat JSON and two copies of the machine JSON fit. */
export const EMAIL_MAX_BYTES = 90_000;
export const CHAT_MAX_BYTES = 16_000;
export const DATA_MAX_BYTES = 50_000;
/** Lines of one instance's log tail shown in chat, where a screen is all anyone reads. */
const CHAT_TAIL_LINES = 15;

export function subjectOf(model: AlertModel): string {
  return asciiSubject(`[ebship] ${model.title}`);
}

/** SNS rejects subjects that are not printable ASCII or are 100 characters or more. */
export function asciiSubject(text: string): string {
  const ascii = maskAppText(text)
    .replace(/[\u2013\u2014]/g, '-')
    .replace(/\u2192/g, '->')
    .replace(/[^\x20-\x7E]/g, '?')
    .replace(/ {2,}/g, ' ')
    .trim();
  return ascii.length > SUBJECT_MAX ? `${ascii.slice(0, SUBJECT_MAX - 3)}...` : ascii;
}

// ---------------------------------------------------------------------------------------------
// Email (and every protocol without a rendering of its own: SNS's "default")

export function renderEmail(model: AlertModel): string {
  const parts: string[] = [model.summary];
  if (model.facts.length > 0) parts.push(table(model.facts));
  for (const s of model.sections) parts.push([s.title, ...s.lines].join('\n'));
  if (model.instancesAtVerdict && model.instancesAtVerdict.length > 0) {
    parts.push(
      [
        'Instances when the deploy was judged',
        ...instanceLines(model.instancesAtVerdict, EMAIL_INSTANCES, '  '),
      ].join('\n'),
    );
  }
  if (model.instances.length > 0) {
    parts.push(['Instances now', ...instanceLines(model.instances, EMAIL_INSTANCES, '  ')].join('\n'));
  }
  if (model.steps.length > 0 || model.stepsIntro.length > 0) parts.push(emailSteps(model));
  if (model.links.length > 0) {
    parts.push(['Links', ...model.links.map((l) => `  ${l.label}: ${l.url}`)].join('\n'));
  }
  const tails = emailTails(model);
  if (tails) parts.push(tails);
  return capBytes(parts.join('\n\n'), EMAIL_MAX_BYTES);
}

function emailSteps(model: AlertModel): string {
  const lines = [model.stepsTitle, ...model.stepsIntro.map((l) => `  ${l}`)];
  const numbered = model.steps.length > 1;
  model.steps.forEach((step, i) => {
    const mark = numbered ? `${i + 1}. ` : '';
    const pad = ' '.repeat(2 + mark.length);
    lines.push(`  ${mark}${step.text}`);
    for (const c of step.commands) lines.push(`${pad}  ${c}`);
    if (step.aws && step.aws.length > 0) {
      lines.push(`${pad}or with the AWS CLI:`);
      for (const c of step.aws) lines.push(`${pad}  ${c}`);
    }
    if (step.followUp) {
      lines.push(`${pad}${step.followUp.text}`);
      for (const c of step.followUp.commands) lines.push(`${pad}  ${c}`);
    }
  });
  return lines.join('\n');
}

function emailTails(model: AlertModel): string {
  if (model.logTails.length === 0) {
    return model.logTailNote ? `What the app printed\n  ${model.logTailNote}` : '';
  }
  const lines = ['What the app printed (last lines, secrets masked)'];
  for (const t of model.logTails) {
    lines.push('', `  ${t.instanceId}, ${t.source}${t.truncated ? ' (earlier lines cut)' : ''}:`);
    for (const l of t.lines.split('\n')) lines.push(`    ${l}`.trimEnd());
  }
  return lines.join('\n');
}

/**
 * Instances listed one per line up to `max`; beyond that, one line per version and state with a
 * count and the first few ids, the instances that failed or run another version than most first.
 * A 100-instance environment stays a few lines, so the alert keeps within SNS's 256 KiB and chat's
 * screen.
 */
export function instanceLines(instances: InstanceVersion[], max: number, pad: string): string[] {
  const one = (i: InstanceVersion) =>
    `${i.versionLabel ?? '(version unknown)'}${i.deploymentStatus ? `  ${i.deploymentStatus}` : ''}${i.color ? `  ${i.color}` : ''}`;
  if (instances.length <= max)
    return instances.map((i) =>
      pad
        ? `${pad}${i.instanceId}  ${one(i)}`
        : `${i.instanceId}: ${i.versionLabel ?? '?'}${i.deploymentStatus ? ` (${i.deploymentStatus})` : ''}`,
    );
  const groups = new Map<string, string[]>();
  for (const i of instances) groups.set(one(i), [...(groups.get(one(i)) ?? []), i.instanceId]);
  const ordered = [...groups].sort(([ka, a], [kb, b]) => {
    const failed = (k: string) => (/Failed|Red/.test(k) ? 0 : 1);
    return failed(ka) - failed(kb) || a.length - b.length;
  });
  const shown = ordered.slice(0, max);
  const lines = shown.map(([state, ids]) => {
    const named = ids.slice(0, INSTANCE_IDS_PER_GROUP).join(', ');
    const more =
      ids.length > INSTANCE_IDS_PER_GROUP ? ` and ${ids.length - INSTANCE_IDS_PER_GROUP} more` : '';
    return `${pad}${ids.length} instance${ids.length === 1 ? '' : 's'} on ${state}: ${named}${more}`;
  });
  if (ordered.length > max) lines.push(`${pad}(${ordered.length - max} more groups)`);
  return [`${pad}${instances.length} instances:`, ...lines];
}

/** Instances listed one by one up to these counts; beyond, grouped by version and state. */
export const EMAIL_INSTANCES = 20;
export const CHAT_INSTANCES = 8;
const INSTANCE_IDS_PER_GROUP = 5;

function table(rows: [string, string][]): string {
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  return rows.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}`).join('\n');
}

// ---------------------------------------------------------------------------------------------
// Chat: Amazon Q Developer in chat applications' custom notification (chat-schema.ts)

const MARK: Record<AlertModel['severity'], string> = { info: '✅', warning: '⚠️', critical: '🚨' };

export function renderChat(model: AlertModel): ChatNotification {
  const facts = model.facts
    .filter(([k]) => ['Version', 'Rolled back', 'Duration', 'Now', 'Deploying'].includes(k))
    .map(([k, v]) => `*${k}:* ${inlineCode(v)}`);
  const why = model.sections[0];
  const whyLines = why ? why.lines.slice(0, 10).map((l) => l.replace(/^ {2}/, '')) : [];
  // A cut list must not end on its own heading ("Causes:" with nothing under it).
  while (whyLines.length > 0 && /:\s*$/.test(whyLines.at(-1) ?? '')) whyLines.pop();
  const description = [
    model.summary,
    facts.join('\n'),
    why && whyLines.length > 0 ? `*${why.title}*\n${whyLines.join('\n')}` : '',
    model.instancesAtVerdict && model.instancesAtVerdict.length > 0
      ? `*Instances when the deploy was judged*\n${instanceLines(model.instancesAtVerdict, CHAT_INSTANCES, '').join('\n')}`
      : '',
    model.instances.length > 0
      ? `*Instances now*\n${instanceLines(model.instances, CHAT_INSTANCES, '').join('\n')}`
      : '',
    chatTail(model),
    // Plain URLs: Slack, Teams and Chime each link them, whatever their markdown for named links.
    model.links.length > 0 ? model.links.map((l) => `${l.label}: ${l.url}`).join('\n') : '',
  ]
    .filter((s) => s.length > 0)
    .join('\n\n');
  const notification: ChatNotification = {
    version: '1.0',
    source: 'custom',
    ...(model.executionId ? { id: `${model.executionId}#${model.outcome}` } : {}),
    content: {
      textType: 'client-markdown',
      title: `${MARK[model.severity]} ${model.title}`,
      description: capChars(description, CHAT_MAX_BYTES / 2),
      nextSteps: model.steps.slice(0, 6).map(chatStep),
      keywords: model.keywords
        .map((k) => k.trim())
        .filter((k) => k.length > 0)
        .slice(0, 10),
    },
    metadata: {
      threadId: model.threadId,
      summary: model.title,
      eventType: eventType(model.outcome),
      ...(model.executionId ? { relatedResources: [model.executionId] } : {}),
      additionalContext: {
        outcome: model.outcome,
        severity: model.severity,
        target: model.target,
        application: model.application,
        environment: model.environment,
        ...(model.durationSeconds !== undefined ? { durationSeconds: String(model.durationSeconds) } : {}),
      },
    },
  };
  // A rendering that Amazon Q would refuse is a bug here, not something to send.
  return v.parse(chatNotificationSchema, notification);
}

function chatStep(step: AlertStep): string {
  const commands = [...step.commands, ...(step.followUp?.commands ?? [])].map((c) => `\`${c}\``);
  return capChars(commands.length > 0 ? `${step.text} ${commands.join(' then ')}` : step.text, 600);
}

function chatTail(model: AlertModel): string {
  const tail = model.logTails[0];
  if (!tail) return model.logTailNote ? `_${model.logTailNote}_` : '';
  const lines = tail.lines.split('\n');
  const shown = lines.slice(-CHAT_TAIL_LINES).join('\n').replace(/```/g, "'''");
  const more =
    model.logTails.length > 1 ? ` (and ${model.logTails.length - 1} more instance(s) in the email)` : '';
  return `*What ${tail.instanceId} printed last*${more}\n\`\`\`\n${shown}\n\`\`\``;
}

function inlineCode(text: string): string {
  return text.replace(/\b(v?[\w.-]+-[0-9a-f]{12})\b/g, '`$1`');
}

/** Custom actions match `eventType` ([a-zA-Z0-9-]): ebship-rolled-back, ebship-rollback-failed... */
function eventType(outcome: AlertOutcome): string {
  return `ebship-${outcome.toLowerCase().replace(/_/g, '-')}`;
}

// ---------------------------------------------------------------------------------------------
// Machines (SQS, Lambda, email-json): the model itself, versioned

export interface AlertData extends AlertModel {
  schema: 'ebship.alert/1';
  subject: string;
}

export function renderData(model: AlertModel): AlertData {
  return { schema: 'ebship.alert/1', subject: subjectOf(model), ...model };
}

// ---------------------------------------------------------------------------------------------

export function capBytes(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  const note = '\n\n(message cut to fit the SNS size limit)';
  const cut = bytes
    .subarray(0, maxBytes - Buffer.byteLength(note))
    .toString('utf8')
    .replace(/\uFFFD+$/, '');
  return `${cut}${note}`;
}

function capChars(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
