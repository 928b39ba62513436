import { type MessageAttributeValue, PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { isTransient } from '../aws/transient.js';
import { AlertDeliveryInterrupted, AlertNotDelivered } from '../errors.js';
import { type Alert, asciiSubject } from './compose.js';

/** SNS Publish: the whole Message (every protocol's rendering) and its attributes, at most 256 KiB. */
export const SNS_MESSAGE_MAX_BYTES = 262_144;

/**
 * One Publish, a rendering per protocol (SNS Publish, MessageStructure=json: "default" plus a key
 * per protocol; https://docs.aws.amazon.com/sns/latest/api/API_Publish.html):
 * - default (email, SMS and anything unnamed): the plain text;
 * - https: Amazon Q Developer in chat applications subscribes to a topic over HTTPS, and renders
 *   only its custom notification JSON (lib/alerts/chat-schema.ts);
 * - sqs, lambda: the alert as JSON (lib/alerts/render.ts, renderData), for machines.
 * email-json subscribers get the text too, inside SNS's own JSON envelope. Any other HTTPS
 * subscriber (a webhook) also receives the chat JSON: README, "Subscribe on-call".
 */
export function messageByProtocol(alert: Alert): string {
  const build = (data: string | undefined) =>
    JSON.stringify({
      default: alert.message,
      https: JSON.stringify(alert.chat),
      ...(data ? { sqs: data, lambda: data } : {}),
    });
  const full = build(JSON.stringify(alert.data));
  if (Buffer.byteLength(full, 'utf8') <= MESSAGE_BUDGET) return full;
  // Too big together: machines get the alert without its log tails (the text keeps them), then none.
  const lean = build(JSON.stringify({ ...alert.data, logTails: [], logTailsOmitted: true }));
  return Buffer.byteLength(lean, 'utf8') <= MESSAGE_BUDGET ? lean : build(undefined);
}

/** Room for the message attributes and the subject within SNS_MESSAGE_MAX_BYTES. */
const MESSAGE_BUDGET = SNS_MESSAGE_MAX_BYTES - 4_096;

/**
 * Publishes one alert to each topic (ebship's own and the target's, deduplicated) and returns the
 * SNS message ids. Every topic is tried even if one fails, so a broken per-target topic cannot
 * silence ebship's own; the failure is then raised, naming the topics that did not get it.
 */
export async function publishAlert(client: SNSClient, topicArns: string[], alert: Alert): Promise<string[]> {
  const topics = [...new Set(topicArns.filter((arn) => arn.length > 0))];
  if (topics.length === 0) {
    throw new AlertNotDelivered(`no SNS topic to publish "${alert.subject}" to: set ALERT_TOPIC_ARN`);
  }
  const messageAttributes = attributes(alert.attributes);
  const message = messageByProtocol(alert);
  const results = await Promise.allSettled(
    topics.map((topicArn) =>
      client.send(
        new PublishCommand({
          TopicArn: topicArn,
          // SNS rejects a Subject of 100+ characters or with line breaks, and the alert with it:
          // whoever built this alert, the subject is made safe here, at the one place that sends.
          Subject: asciiSubject(alert.subject) || '[ebship] alert',
          Message: message,
          MessageStructure: 'json',
          MessageAttributes: messageAttributes,
        }),
      ),
    ),
  );
  const failed: string[] = [];
  const ids: string[] = [];
  let transient = true;
  results.forEach((result, i) => {
    if (result.status === 'fulfilled') {
      if (result.value.MessageId) ids.push(result.value.MessageId);
    } else {
      const err = result.reason instanceof Error ? result.reason : new Error(String(result.reason));
      failed.push(`${topics[i]} (${err.name}: ${err.message})`);
      transient &&= isTransient(result.reason);
    }
  });
  if (failed.length > 0) {
    const sent = ids.length > 0 ? `; it was published to the other ${ids.length} topic(s)` : '';
    const Failure = transient ? AlertDeliveryInterrupted : AlertNotDelivered;
    throw new Failure(
      `alert "${alert.subject}" was not published to ${failed.join(', ')}${sent}. ` +
        (transient
          ? 'SNS failed for a passing reason; ebship publishes it again'
          : 'Check the topic exists and its policy lets ebship publish (sns:Publish)'),
    );
  }
  return ids;
}

/** String attributes for subscription filter policies; SNS rejects attributes with empty values. */
function attributes(values: Record<string, string>): Record<string, MessageAttributeValue> {
  return Object.fromEntries(
    Object.entries(values)
      .filter(([, value]) => value.length > 0)
      .map(([name, value]) => [name, { DataType: 'String', StringValue: value }]),
  );
}
