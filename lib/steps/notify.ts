import { composeAlert } from '../alerts/compose.js';
import { publishAlert } from '../alerts/publish.js';
import { sns } from '../aws/clients/sns.js';
import { config, runtimeEnv } from '../runtime.js';
import type { DeployState } from '../workflow-state.js';

/** Tells on-call how the deployment ended, on ebship's topic and the target's own topic if it has one. */
export async function notifyOnCall(
  state: DeployState,
  now = new Date(),
): Promise<{ subject: string; messageIds: string[] }> {
  const alert = composeAlert(state, now);
  const targetTopic = state.release ? config().targets[state.release.target]?.alertTopicArn : undefined;
  const topics = [...new Set([runtimeEnv().alertTopicArn, ...(targetTopic ? [targetTopic] : [])])];
  const messageIds = await publishAlert(sns, topics, alert);
  return { subject: alert.subject, messageIds };
}
