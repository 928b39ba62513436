/**
 * One alert, whatever sent it (Notify, the execution-ended rule, the dead-letter-queue alarm), and
 * whatever reads it: lib/alerts/render-*.ts turn this into the email text, the Amazon Q Developer
 * chat notification and the JSON machines read. Every string here is already cleaned (masked, one
 * line where it should be, capped) by whoever built the model.
 */

/** Deploy outcomes, plus the alerts that do not come from the workflow's own end. */
export type AlertOutcome =
  | 'SUCCEEDED'
  | 'ROLLED_BACK'
  | 'FAILED_BEFORE_DEPLOY'
  | 'ROLLBACK_FAILED'
  | 'OVERRIDDEN'
  /** A promotion waiting for manual approval was rejected, expired or superseded: nothing changed (issue 14). */
  | 'NOT_APPROVED'
  | 'ABORTED'
  | 'TIMED_OUT'
  | 'EVENTS_UNDELIVERED'
  /** The scheduled reconciler: an environment runs a version ebship did not deploy, and back in line. */
  | 'DRIFT'
  | 'DRIFT_RESOLVED'
  /** A promotion waits for `ebship approve` / `ebship reject` (issue 14): sent when the wait starts. */
  | 'APPROVAL_NEEDED';

/** info: nothing to do. warning: look when you can. critical: a person is needed now. */
export type Severity = 'info' | 'warning' | 'critical';

export const SEVERITY: Record<AlertOutcome, Severity> = {
  SUCCEEDED: 'info',
  ROLLED_BACK: 'warning',
  FAILED_BEFORE_DEPLOY: 'warning',
  OVERRIDDEN: 'warning',
  EVENTS_UNDELIVERED: 'warning',
  DRIFT: 'warning',
  DRIFT_RESOLVED: 'info',
  // A person is asked to decide; nothing is wrong yet.
  APPROVAL_NEEDED: 'warning',
  // Nothing changed: rejected on purpose, or nobody answered in time.
  NOT_APPROVED: 'info',
  ROLLBACK_FAILED: 'critical',
  ABORTED: 'critical',
  TIMED_OUT: 'critical',
};

/** Outcomes a target cannot opt out of (`alerts.notifyOn`): a person must act on them. */
export const ALWAYS_SENT: ReadonlySet<AlertOutcome> = new Set([
  'ROLLBACK_FAILED',
  'ABORTED',
  'TIMED_OUT',
  'EVENTS_UNDELIVERED',
]);

/** The value of `target`/`application`/`environment` on an alert that concerns the whole stage. */
export const WHOLE_STAGE = '*';

/** One thing to do: what and why in words, then the commands (ebship first), then the AWS CLI's. */
export interface AlertStep {
  text: string;
  commands: string[];
  /** The same with the AWS CLI alone, for on-call without ebship installed. */
  aws?: string[];
  /** Lines printed after the commands (a follow-up within the same step). */
  followUp?: { text: string; commands: string[] };
}

export interface AlertLink {
  label: string;
  url: string;
}

/** The last lines an instance's application printed (EB tail logs or CloudWatch Logs), masked and capped. */
export interface InstanceLogTail {
  instanceId: string;
  /** Which log (file or log stream) the lines come from. */
  source: string;
  lines: string;
  /** Earlier lines were dropped to fit the size cap. */
  truncated: boolean;
}

/** An instance and the version it runs, when the alert was composed (partial deploys, manual action). */
export interface InstanceVersion {
  instanceId: string;
  versionLabel?: string;
  deploymentStatus?: string;
  color?: string;
}

export interface AlertModel {
  outcome: AlertOutcome;
  severity: Severity;
  /** Target name, or WHOLE_STAGE. Attributes for SNS subscription filter policies come from these three. */
  target: string;
  application: string;
  environment: string;
  /** Subject line without the "[ebship] " prefix: outcome, target, version. */
  title: string;
  /** One or two sentences: what happened, from which version to which, and what state it left. */
  summary: string;
  /** Label → value rows (Target, Version, Duration...). */
  facts: [string, string][];
  /** Sections of explanation (Why it was rolled back, Checks...), lines indented for plain text. */
  sections: { title: string; lines: string[] }[];
  /** The heading of the steps ("What to do", "What to do now (manual action needed)"). */
  stepsTitle: string;
  /** Said before the numbered steps. */
  stepsIntro: string[];
  steps: AlertStep[];
  links: AlertLink[];
  instances: InstanceVersion[];
  /**
   * Which instance ran which version when the health watch gave its verdict on the new version
   * (`$.health.instances`): a partial deploy, named instance by instance, even after the rollback
   * put every instance back on the old version.
   */
  instancesAtVerdict?: InstanceVersion[];
  logTails: InstanceLogTail[];
  /** Why there is no log tail when one was wanted (request refused, not ready in time...). */
  logTailNote?: string;
  /** Seconds from the execution's start to its outcome: the one duration every channel shows. */
  durationSeconds?: number;
  executionId?: string;
  /** Groups one environment's alerts (Amazon Q Developer's metadata.threadId). */
  threadId: string;
  /** Searchable words for chat (outcome, target, environment, version). */
  keywords: string[];
}
