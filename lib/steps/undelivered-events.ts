import * as v from 'valibot';
import { renderAlert } from '../alerts/compose.js';
import { consoleLinks } from '../alerts/links.js';
import { type AlertModel, SEVERITY, WHOLE_STAGE } from '../alerts/model.js';
import { publishAlert } from '../alerts/publish.js';
import { dynamo } from '../aws/clients/dynamo.js';
import { sns } from '../aws/clients/sns.js';
import { InputInvalid } from '../errors.js';
import { config, runtimeEnv } from '../runtime.js';
import { claimAlert, markAlertSent, releaseAlertClaim } from '../store/ownership.js';

/**
 * "CloudWatch Alarm State Change" (CloudWatch user guide, "Alarm events and EventBridge"): the
 * fields ebship reads. EventBridge delivers it for the dead-letter-queue alarm (infra/events.yml,
 * UndeliveredEventsRule) instead of the alarm publishing raw JSON to the topic: so the alert has
 * ebship's subject, attributes and renderings like every other.
 */
const alarmStateChange = v.object({
  id: v.optional(v.string()),
  source: v.literal('aws.cloudwatch'),
  'detail-type': v.literal('CloudWatch Alarm State Change'),
  region: v.optional(v.string()),
  resources: v.optional(v.array(v.string()), () => []),
  detail: v.object({
    alarmName: v.pipe(v.string(), v.minLength(1)),
    state: v.object({ value: v.string(), reason: v.optional(v.string()), timestamp: v.optional(v.string()) }),
  }),
});

export interface UndeliveredAlerted {
  alarm: string;
  state: string;
  alerted: boolean;
  subject?: string;
}

/**
 * ECR pushes (or execution-ended events) that EventBridge could not deliver after its retries are in
 * the dead-letter queue: a push may not have been deployed. One alert per alarm transition to ALARM.
 */
export async function alertUndeliveredEvents(event: unknown, now = new Date()): Promise<UndeliveredAlerted> {
  const parsed = v.safeParse(alarmStateChange, event);
  if (!parsed.success) {
    throw new InputInvalid(
      'not a CloudWatch "Alarm State Change" event; this function is the target of ebship\'s UndeliveredEventsRule',
    );
  }
  const { detail, resources } = parsed.output;
  const result: UndeliveredAlerted = { alarm: detail.alarmName, state: detail.state.value, alerted: false };
  if (detail.state.value !== 'ALARM') return result;

  const env = runtimeEnv();
  const alert = renderAlert(undeliveredModel(detail.state.reason, process.env.EVENTS_DLQ_URL, env.region));
  result.subject = alert.subject;
  // EventBridge delivers at least once: one alert per transition (alarm ARN + the transition's time).
  const claim = `ALARM#${resources[0] ?? detail.alarmName}#${detail.state.timestamp ?? parsed.output.id ?? now.toISOString()}`;
  if (!(await claimAlert(dynamo, env.tableName, claim, now))) return result;
  const topics = [
    env.alertTopicArn,
    ...Object.values(config().targets).flatMap((t) => (t.alertTopicArn ? [t.alertTopicArn] : [])),
  ];
  try {
    const ids = await publishAlert(sns, [...new Set(topics)], alert);
    await markAlertSent(dynamo, env.tableName, claim, ids);
  } catch (err) {
    await releaseAlertClaim(dynamo, env.tableName, claim);
    throw err;
  }
  result.alerted = true;
  return result;
}

/** The alert: which pushes may be missed, how to read them, how to deploy them by hand. */
export function undeliveredModel(
  reason: string | undefined,
  queueUrl: string | undefined,
  region: string,
): AlertModel {
  const queue = queueUrl ?? '<EventsDeadLetterQueueUrl output of the stack>';
  const r = region ? ` --region ${region}` : '';
  return {
    outcome: 'EVENTS_UNDELIVERED',
    severity: SEVERITY.EVENTS_UNDELIVERED,
    target: WHOLE_STAGE,
    application: WHOLE_STAGE,
    environment: WHOLE_STAGE,
    title: 'UNDELIVERED EVENTS - a push may not have been deployed',
    summary:
      'EventBridge could not deliver an ECR push (or an execution-ended event) to ebship after 24 hours of retries. That push was not deployed, or that ended execution was not finalised; the events wait in the dead-letter queue for 14 days.',
    facts: [['Queue', queue], ...(reason ? ([['Alarm', reason.slice(0, 300)]] as [string, string][]) : [])],
    sections: [],
    stepsTitle: 'What to do',
    stepsIntro: [],
    steps: [
      {
        text: 'Read the undelivered events (each names the repository and tag, or the execution):',
        commands: [
          `aws sqs receive-message --queue-url ${queue} --max-number-of-messages 10 --visibility-timeout 0${r}`,
        ],
      },
      {
        text: 'Deploy each missed push by hand, then check where each target is:',
        commands: ['ebship deploy <target> --tag <tag> --follow', 'ebship status'],
      },
      {
        text: 'Once handled, empty the queue so the alarm clears:',
        commands: [`aws sqs purge-queue --queue-url ${queue}${r}`],
      },
    ],
    links: consoleLinks({ region }),
    instances: [],
    logTails: [],
    threadId: 'ebship/undelivered-events',
    keywords: ['EVENTS_UNDELIVERED', 'dead-letter queue'],
  };
}
