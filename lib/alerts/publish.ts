import { type MessageAttributeValue, PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { EbshipError } from '../errors.js';
import { type Alert, asciiSubject } from './compose.js';

/** An alert could not be published to one or more topics (it was still sent to the others). */
export class AlertNotDelivered extends EbshipError {
  override readonly name = 'AlertNotDelivered';
}

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
  const results = await Promise.allSettled(
    topics.map((topicArn) =>
      client.send(
        new PublishCommand({
          TopicArn: topicArn,
          // SNS rejects a Subject of 100+ characters or with line breaks, and the alert with it:
          // whoever built this alert, the subject is made safe here, at the one place that sends.
          Subject: asciiSubject(alert.subject) || '[ebship] alert',
          Message: alert.message,
          MessageAttributes: messageAttributes,
        }),
      ),
    ),
  );
  const failed: string[] = [];
  const ids: string[] = [];
  results.forEach((result, i) => {
    if (result.status === 'fulfilled') {
      if (result.value.MessageId) ids.push(result.value.MessageId);
    } else {
      const err = result.reason instanceof Error ? result.reason : new Error(String(result.reason));
      failed.push(`${topics[i]} (${err.name}: ${err.message})`);
    }
  });
  if (failed.length > 0) {
    const sent = ids.length > 0 ? `; it was published to the other ${ids.length} topic(s)` : '';
    throw new AlertNotDelivered(
      `alert "${alert.subject}" was not published to ${failed.join(', ')}${sent}. ` +
        'Check the topic exists and its policy lets ebship publish (sns:Publish)',
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
