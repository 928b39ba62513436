import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { type Alert, composeAlert } from '../../../lib/alerts/compose.js';
import { publishAlert } from '../../../lib/alerts/publish.js';
import { AlertDeliveryInterrupted, AlertNotDelivered } from '../../../lib/errors.js';
import { NOW, rolledBack } from './deploy-states.js';

const sns = mockClient(SNSClient);
const client = new SNSClient({ region: 'eu-west-1' });

const EBSHIP_TOPIC = 'arn:aws:sns:eu-west-1:123456789012:ebship-alerts';
const TEAM_TOPIC = 'arn:aws:sns:eu-west-1:123456789012:antenna-oncall';

const composed = composeAlert(rolledBack, NOW);
const alert: Alert = { ...composed, attributes: { ...composed.attributes, environment: '' } };

describe('publishAlert', () => {
  beforeEach(() => {
    sns.reset();
  });

  it('publishes once to each topic with outcome and target attributes for subscription filters', async () => {
    // Arrange
    sns.on(PublishCommand, { TopicArn: EBSHIP_TOPIC }).resolves({ MessageId: 'm-1' });
    sns.on(PublishCommand, { TopicArn: TEAM_TOPIC }).resolves({ MessageId: 'm-2' });

    // Act
    const ids = await publishAlert(client, [EBSHIP_TOPIC, TEAM_TOPIC, EBSHIP_TOPIC], alert);

    // Assert
    expect(ids).toEqual(['m-1', 'm-2']);
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 2);
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: TEAM_TOPIC,
      Subject: alert.subject,
      MessageStructure: 'json',
      // SNS rejects attributes with empty values: the empty `environment` is left out.
      MessageAttributes: {
        outcome: { DataType: 'String', StringValue: 'ROLLED_BACK' },
        severity: { DataType: 'String', StringValue: 'warning' },
        target: { DataType: 'String', StringValue: 'antenna-prod' },
        application: { DataType: 'String', StringValue: 'antenna' },
      },
    });
  });

  it('still reaches the other topics when one fails, then says which one did not get it', async () => {
    // Arrange
    sns.on(PublishCommand, { TopicArn: EBSHIP_TOPIC }).resolves({ MessageId: 'm-1' });
    sns
      .on(PublishCommand, { TopicArn: TEAM_TOPIC })
      .rejects(Object.assign(new Error('Topic does not exist'), { name: 'NotFoundException' }));

    // Act
    const result = publishAlert(client, [EBSHIP_TOPIC, TEAM_TOPIC], alert);

    // Assert
    await expect(result).rejects.toThrow(AlertNotDelivered);
    await expect(result).rejects.toThrow(
      `was not published to ${TEAM_TOPIC} (NotFoundException: Topic does not exist); it was published to the other 1 topic(s)`,
    );
    expect(sns).toHaveReceivedCommandWith(PublishCommand, { TopicArn: EBSHIP_TOPIC });
  });

  it('says so when SNS failed for a passing reason (5xx, throttling, timeout), so the state machine publishes again; a refusing topic is final', async () => {
    // Arrange: the SDK's attempts spent on a 5xx and on SNS's throttling answer
    const internal = Object.assign(new Error('Internal error'), {
      name: 'InternalError',
      $metadata: { httpStatusCode: 500 },
    });
    // SNS's throttling as the SDK raises it: ThrottledException, a client fault, 400, no retryable mark.
    const throttled = Object.assign(new Error('Rate exceeded'), {
      name: 'ThrottledException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
    sns.on(PublishCommand, { TopicArn: EBSHIP_TOPIC }).rejects(internal);
    sns.on(PublishCommand, { TopicArn: TEAM_TOPIC }).rejects(throttled);

    // Act
    const passing = publishAlert(client, [EBSHIP_TOPIC, TEAM_TOPIC], alert);

    // Assert
    await expect(passing).rejects.toThrow(AlertDeliveryInterrupted);
    await expect(passing).rejects.toMatchObject({ name: 'AlertDeliveryInterrupted' });

    // Arrange: one of the two topics refuses ebship: retrying would not help it
    sns
      .on(PublishCommand, { TopicArn: TEAM_TOPIC })
      .rejects(Object.assign(new Error('not authorized'), { name: 'AuthorizationErrorException' }));

    // Act / Assert
    await expect(publishAlert(client, [EBSHIP_TOPIC, TEAM_TOPIC], alert)).rejects.toMatchObject({
      name: 'AlertNotDelivered',
    });
  });

  // SNS Publish: "Subject ... must be ASCII text that begins with a letter, number, or punctuation
  // mark; must not include line breaks or control characters; and must be less than 100 characters".
  it('never sends a subject SNS would reject: 100+ characters, line breaks or control characters', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const hostile = { ...alert, subject: `[ebship] ROLLED BACK: ${'v'.repeat(150)}\nforged line\u001b[2J` };

    await publishAlert(client, [EBSHIP_TOPIC], hostile);

    const subject = sns.commandCalls(PublishCommand)[0]?.args[0].input.Subject ?? '';
    expect(subject.length).toBeLessThanOrEqual(99);
    expect(subject).toMatch(/^[\x20-\x7E]+$/);
    expect(subject.startsWith('[ebship] ROLLED BACK: vvv')).toBe(true);
  });

  it('refuses to pretend an alert was sent when there is no topic', async () => {
    // Act
    const result = publishAlert(client, [''], alert);

    // Assert
    await expect(result).rejects.toThrow('no SNS topic to publish');
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
  });
});
