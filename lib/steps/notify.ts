import { composeAlert } from '../alerts/compose.js';
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
): Promise<{ subject: string; messageIds: string[]; duplicate?: boolean }> {
  const alert = composeAlert(state, now);
  const env = runtimeEnv();
  const executionId = state.release?.executionId ?? executionOf(state);
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
