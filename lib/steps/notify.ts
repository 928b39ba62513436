import { composeAlert } from '../alerts/compose.js';
import { ALWAYS_SENT } from '../alerts/model.js';
import { publishAlert } from '../alerts/publish.js';
import { dynamo } from '../aws/clients/dynamo.js';
import { sns } from '../aws/clients/sns.js';
import { logger } from '../logger.js';
import { config, runtimeEnv } from '../runtime.js';
import { claimAlert, markAlertSent, releaseAlertClaim } from '../store/ownership.js';
import type { DeployState } from '../workflow-state.js';

/**
 * Tells on-call how the deployment ended, on ebship's topic and the target's own topic if it has one:
 * exactly once per execution. Step Functions may run this step again after it published (a Lambda
 * retry after the handler returned), so the alert is claimed in the table first.
 */
export async function notifyOnCall(
  state: DeployState,
  now = new Date(),
): Promise<{ subject: string; messageIds: string[]; duplicate?: boolean; notSent?: string }> {
  const alert = composeAlert(state, now);
  const env = runtimeEnv();
  const executionId = state.release?.executionId ?? executionOf(state);
  const outcome = alert.data.outcome;
  const notifyOn: readonly string[] = state.release
    ? (config().targets[state.release.target]?.alerts.notifyOn ?? [])
    : [];
  // A target may keep some outcomes out of the pager (`alerts.notifyOn`); never the ones a person
  // must act on, and never an alert whose target is unknown.
  if (state.release && !ALWAYS_SENT.has(outcome) && notifyOn.length > 0 && !notifyOn.includes(outcome)) {
    logger.info("not alerting on-call: this outcome is not in the target's alerts.notifyOn", { outcome });
    return { subject: alert.subject, messageIds: [], notSent: `${outcome} is not in alerts.notifyOn` };
  }
  if (executionId && !(await claimAlert(dynamo, env.tableName, executionId, now))) {
    logger.info('this execution already alerted on-call: not sending it twice', { subject: alert.subject });
    return { subject: alert.subject, messageIds: [], duplicate: true };
  }
  const targetTopic = state.release ? config().targets[state.release.target]?.alertTopicArn : undefined;
  const topics = [...new Set([env.alertTopicArn, ...(targetTopic ? [targetTopic] : [])])];
  let messageIds: string[];
  try {
    messageIds = await publishAlert(sns, topics, alert);
  } catch (err) {
    if (executionId) await releaseAlertClaim(dynamo, env.tableName, executionId);
    throw err;
  }
  if (executionId) await markAlertSent(dynamo, env.tableName, executionId, messageIds);
  return { subject: alert.subject, messageIds };
}

/** Executions that failed before resolving a release still have an id: ResolveRelease's input has it. */
function executionOf(state: DeployState): string | undefined {
  const id = (state as { executionId?: unknown }).executionId;
  return typeof id === 'string' ? id : undefined;
}
