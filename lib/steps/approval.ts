import { SendTaskFailureCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { approvalRequestModel } from '../alerts/approval.js';
import { renderAlert } from '../alerts/compose.js';
import { publishAlert } from '../alerts/publish.js';
import { sendAnswer, tokenClosed } from '../aws/approval-answer.js';
import { dynamo } from '../aws/clients/dynamo.js';
import { sfn } from '../aws/clients/sfn.js';
import { sns } from '../aws/clients/sns.js';
import { logger } from '../logger.js';
import { config, runtimeEnv } from '../runtime.js';
import {
  type ApprovalItem,
  claimApprovalAlert,
  getApproval,
  markDelivered,
  putApproval,
  renewToken,
  settleApprovalAlert,
} from '../store/approval.js';
import type { EnvKey } from '../store/deployments.js';
import type { Release } from '../workflow-state.js';

/**
 * Manual approval of a promotion (issue 14, docs/architecture.md "Approval"). WaitForApproval is a
 * `lambda:invoke.waitForTaskToken` Task: its Lambda, requestApproval, stores the task token on the
 * environment's APPROVAL item and alerts on-call once; the execution then waits until `ebship
 * approve` (SendTaskSuccess) or `ebship reject` (SendTaskFailure, ApprovalRejected) answers, or the
 * Task's timeout (promote.timeoutSeconds) ends it not approved. The token never leaves the table
 * and the CLI: it is in no alert, no log line, no result.
 */

export interface ApprovalRequested {
  /** False when a newer promotion to the target already waits: this one was answered superseded. */
  requested: boolean;
  /** This run published the request's alert (false on a retry: it was sent already). */
  alerted: boolean;
  expiresAt?: string;
  /** Older promotions this one replaced (answered ApprovalSuperseded). */
  superseded: string[];
}

export async function requestApproval(
  input: { taskToken: string; release: Release },
  now = new Date(),
  clients: { db: DynamoDBDocumentClient; sfn: SFNClient } = { db: dynamo, sfn },
): Promise<ApprovalRequested> {
  const { release, taskToken } = input;
  const table = runtimeEnv().tableName;
  const key = { application: release.application, environment: release.environment };
  const timeoutSeconds =
    release.approvalTimeoutSeconds ?? config().targets[release.target]?.promote?.timeoutSeconds ?? 3600;
  const superseded: string[] = [];
  // Three looks at most: the item can change between the read and the conditional write.
  for (let attempt = 0; attempt < 3; attempt++) {
    const current = await getApproval(clients.db, table, key, now, {
      includeExpired: true,
      includeAnswered: true,
    });
    if (current?.executionId === release.executionId) {
      // Step Functions ran this Lambda again (a retry, a lost reply): same item, the new token.
      const renewed = await renewToken(clients.db, table, key, release.executionId, taskToken);
      if (!renewed) continue;
      if (renewed.answer) {
        // Answered already, on the attempt that then failed: the answer goes to this attempt's wait.
        await forwardAnswer(clients, table, key, renewed.answer, taskToken, release.executionId);
        return {
          requested: true,
          alerted: false,
          expiresAt: new Date(renewed.expiresAt * 1000).toISOString(),
          superseded,
        };
      }
      logger.info('approval request renewed: this execution already waits; its alert is not sent again');
      return { ...(await alertOnce(clients.db, key, renewed, superseded, now)), requested: true, superseded };
    }
    // An answered request of another execution waits no more: it is replaced, not superseded.
    const pending =
      current && !current.answer && current.expiresAt * 1000 > now.getTime() ? current : undefined;
    if (pending && pending.startedAt > release.startedAt) {
      // A newer promotion already waits (this one arrived late): this one is the superseded one.
      await answerSuperseded(clients.sfn, taskToken, {
        by: pending.executionId,
        versionLabel: pending.versionLabel,
      });
      logger.info('a newer promotion already waits for approval: this one ends not approved', {
        newer: pending.executionId,
      });
      return { requested: false, alerted: false, superseded };
    }
    if (pending) {
      // An older promotion still waits: it ends not approved, naming this one.
      await answerSuperseded(clients.sfn, pending.taskToken, {
        by: release.executionId,
        versionLabel: release.versionLabel,
      });
      if (!superseded.includes(pending.executionId)) superseded.push(pending.executionId);
      logger.info('superseded an older promotion waiting for approval', { older: pending.executionId });
    }
    const item: Omit<ApprovalItem, 'alertStatus' | 'alertClaimedAt' | 'messageIds'> = {
      taskToken,
      executionId: release.executionId,
      startedAt: release.startedAt,
      target: release.target,
      versionLabel: release.versionLabel,
      imageDigest: release.imageDigest,
      ...(release.imageTag ? { imageTag: release.imageTag } : {}),
      ...(release.promotedFrom ? { promotedFrom: release.promotedFrom } : {}),
      requestedAt: now.toISOString(),
      expiresAt: Math.floor(now.getTime() / 1000) + timeoutSeconds,
      timeoutSeconds,
    };
    if (!(await putApproval(clients.db, table, key, item, current?.executionId))) continue;
    logger.info('waiting for manual approval', {
      expiresAt: new Date(item.expiresAt * 1000).toISOString(),
      promotedFrom: release.promotedFrom?.target,
    });
    return { ...(await alertOnce(clients.db, key, item, superseded, now)), requested: true, superseded };
  }
  throw new Error(
    `the APPROVAL item of ${release.application}/${release.environment} kept changing while ebship stored this request; the state machine retries`,
  );
}

/** The request's one alert: claimed on the item first, so a retried Lambda never sends it twice. */
async function alertOnce(
  db: DynamoDBDocumentClient,
  key: EnvKey,
  item: Omit<ApprovalItem, 'alertStatus' | 'alertClaimedAt' | 'messageIds'>,
  superseded: string[],
  now: Date,
): Promise<{ alerted: boolean; expiresAt: string }> {
  const env = runtimeEnv();
  const expiresAt = new Date(item.expiresAt * 1000).toISOString();
  if (!(await claimApprovalAlert(db, env.tableName, key, item.executionId, now)))
    return { alerted: false, expiresAt };
  const target = config().targets[item.target];
  const alert = renderAlert(
    approvalRequestModel({
      target: item.target,
      application: key.application,
      environment: key.environment,
      versionLabel: item.versionLabel,
      imageDigest: item.imageDigest,
      ...(item.imageTag ? { imageTag: item.imageTag } : {}),
      repository: target?.source.repository ?? '',
      ...(item.promotedFrom ? { promotedFrom: item.promotedFrom } : {}),
      executionId: item.executionId,
      requestedAt: item.requestedAt,
      expiresAt,
      timeoutSeconds: item.timeoutSeconds,
      superseded,
    }),
  );
  const topics = [...new Set([env.alertTopicArn, ...(target?.alertTopicArn ? [target.alertTopicArn] : [])])];
  let messageIds: string[];
  try {
    messageIds = await publishAlert(sns, topics, alert);
  } catch (err) {
    await settleApprovalAlert(db, env.tableName, key, item.executionId, undefined);
    throw err;
  }
  await settleApprovalAlert(db, env.tableName, key, item.executionId, messageIds);
  logger.info('approval requested from on-call', { subject: alert.subject, messageIds });
  return { alerted: true, expiresAt };
}

/** A recorded answer, sent to the retried attempt's token (a token already answered is fine). */
async function forwardAnswer(
  clients: { db: DynamoDBDocumentClient; sfn: SFNClient },
  table: string,
  key: EnvKey,
  answer: NonNullable<ApprovalItem['answer']>,
  taskToken: string,
  executionId: string,
): Promise<void> {
  try {
    await sendAnswer(clients.sfn, taskToken, answer);
  } catch (err) {
    if (!tokenClosed(err)) throw err;
  }
  await markDelivered(clients.db, table, key, executionId);
  logger.info('this execution was answered already: the answer is forwarded to the retried wait', {
    answer: answer.kind,
    by: answer.by,
  });
}

/** The wait of `taskToken` ends not approved (ApprovalSuperseded); a wait already over is fine. */
async function answerSuperseded(
  client: SFNClient,
  taskToken: string,
  by: { by: string; versionLabel: string },
): Promise<void> {
  try {
    await client.send(
      new SendTaskFailureCommand({
        taskToken,
        error: 'ApprovalSuperseded',
        cause: JSON.stringify(by),
      }),
    );
  } catch (err) {
    if (!tokenClosed(err)) throw err;
  }
}
