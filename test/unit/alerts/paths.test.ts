import {
  DescribeEnvironmentsCommand,
  DescribeInstancesHealthCommand,
} from '@aws-sdk/client-elastic-beanstalk';
import { PublishCommand, type PublishCommandInput } from '@aws-sdk/client-sns';
import * as v from 'valibot';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler as executionEnded } from '../../../functions/execution-ended.js';
import { handler as notify } from '../../../functions/notify.js';
import { handler as reconcile } from '../../../functions/reconcile.js';
import { handler as undeliveredEvents } from '../../../functions/undelivered-events.js';
import { chatNotificationSchema } from '../../../lib/alerts/chat-schema.js';
import { putLastGood } from '../../../lib/store/deployments.js';
import type { DeployState } from '../../../lib/workflow-state.js';
import {
  db,
  deploy,
  ENV,
  EXECUTION,
  LABEL,
  lambdaContext,
  mocks,
  OLD_DIGEST,
  OLD_LABEL,
  STARTED,
  stateBeforeDeploy,
  TABLE,
  TOPIC,
  useFreshTable,
} from '../functions/fixtures.js';

/**
 * Every way ebship alerts on-call (Notify at the end of the workflow, executionEnded for a stopped or
 * timed-out execution, undeliveredEvents for the dead-letter-queue alarm, reconcile for drift) publishes
 * the same way:
 * an "[ebship] ..." subject, the five attributes subscription filter policies match on, and a
 * rendering per protocol (SNS Publish, MessageStructure=json) whose chat one Amazon Q accepts.
 */
const ATTRIBUTES = ['outcome', 'severity', 'target', 'application', 'environment'];

useFreshTable();

beforeEach(() => {
  mocks.sns.reset();
  let n = 0;
  mocks.sns.on(PublishCommand).callsFake(() => ({ MessageId: `msg-${++n}` }));
  mocks.eb.reset();
  mocks.eb.on(DescribeEnvironmentsCommand).resolves({
    Environments: [
      {
        ApplicationName: 'antenna',
        EnvironmentName: 'antenna-prod',
        Status: 'Ready',
        Health: 'Green',
        VersionLabel: LABEL,
      },
    ],
  });
});

function published(): PublishCommandInput {
  const calls = mocks.sns.commandCalls(PublishCommand);
  expect(calls).toHaveLength(1);
  return calls[0]?.args[0].input as PublishCommandInput;
}

function expectOneAlertPath(input: PublishCommandInput, outcome: string, target: string): void {
  expect(input.TopicArn).toBe(TOPIC);
  expect(input.Subject).toMatch(/^\[ebship\] [\x20-\x7E]+$/);
  expect(input.Subject?.length).toBeLessThan(100);
  expect(input.MessageStructure).toBe('json');
  expect(Object.keys(input.MessageAttributes ?? {}).sort()).toEqual([...ATTRIBUTES].sort());
  expect(input.MessageAttributes?.outcome?.StringValue).toBe(outcome);
  expect(input.MessageAttributes?.target?.StringValue).toBe(target);
  const byProtocol = JSON.parse(input.Message ?? '{}') as Record<string, string>;
  expect(byProtocol.default).toContain('What to do');
  expect(() => v.parse(chatNotificationSchema, JSON.parse(byProtocol.https ?? ''))).not.toThrow();
  expect(JSON.parse(byProtocol.sqs ?? '')).toMatchObject({ outcome, target });
}

describe('every alert path publishes the same way', () => {
  it('Notify, at the end of the workflow', async () => {
    const state = { ...stateBeforeDeploy(), deploy, outcome: { status: 'ROLLED_BACK' } } as DeployState;

    await notify(state, lambdaContext('Notify'));

    expectOneAlertPath(published(), 'ROLLED_BACK', 'antenna-prod');
    expect(published().MessageAttributes?.severity?.StringValue).toBe('warning');
  });

  it('executionEnded, for an execution stopped from outside (ExecutionEndedRule), naming the version each instance runs', async () => {
    // Stopped mid-update: one instance on the new version, one still on the old (a partial deploy).
    mocks.eb.on(DescribeInstancesHealthCommand).resolves({
      InstanceHealthList: [
        { InstanceId: 'i-0aaaaaaaaaaaaaaa1', Deployment: { VersionLabel: LABEL, Status: 'Deployed' } },
        {
          InstanceId: 'i-0aaaaaaaaaaaaaaa2',
          Deployment: { VersionLabel: 'v9-090909090909', Status: 'In Progress' },
        },
      ],
    });
    const event = {
      source: 'aws.states',
      'detail-type': 'Step Functions Execution Status Change',
      detail: {
        executionArn: EXECUTION,
        status: 'ABORTED',
        startDate: Date.parse(STARTED),
        stopDate: Date.parse(STARTED) + 600_000,
        input: JSON.stringify({ target: 'antenna-prod', imageTag: 'v10' }),
      },
    };

    await executionEnded(event, lambdaContext('ExecutionEnded'));

    const input = published();
    expectOneAlertPath(input, 'ABORTED', 'antenna-prod');
    expect(input.MessageAttributes?.severity?.StringValue).toBe('critical');
    expect(input.MessageAttributes?.environment?.StringValue).toBe('antenna-prod');
    const email = JSON.parse(input.Message ?? '{}').default as string;
    expect(email).toMatch(/^Duration: +10m 0s$/m);
    expect(email).toContain(
      `Instances now\n  i-0aaaaaaaaaaaaaaa1  ${LABEL}  Deployed\n  i-0aaaaaaaaaaaaaaa2  v9-090909090909  In Progress`,
    );
  });

  it('undeliveredEvents, for the dead-letter-queue alarm (UndeliveredEventsRule), once per transition', async () => {
    // CloudWatch "Alarm State Change" as EventBridge delivers it (CloudWatch user guide, "Alarm events and EventBridge").
    const event = {
      id: 'c4c1c1c9-6542-e61b-6ef0-8c4d36933a92',
      source: 'aws.cloudwatch',
      'detail-type': 'CloudWatch Alarm State Change',
      region: 'us-east-1',
      resources: ['arn:aws:cloudwatch:us-east-1:123456789012:alarm:ebship-test-undelivered-events'],
      detail: {
        alarmName: 'ebship-test-undelivered-events',
        state: {
          value: 'ALARM',
          reason:
            'Threshold Crossed: 1 datapoint [2.0 (01/12/26 10:00:00)] was greater than the threshold (0.0).',
          timestamp: '2026-12-01T10:05:00.000+0000',
        },
      },
    };

    await undeliveredEvents(event, lambdaContext('UndeliveredEvents'));
    await undeliveredEvents(event, lambdaContext('UndeliveredEvents'));

    const input = published();
    // The alarm is about the whole stage: "*" so a filter policy can list it next to its targets.
    expectOneAlertPath(input, 'EVENTS_UNDELIVERED', '*');
    expect(input.Subject).toBe('[ebship] UNDELIVERED EVENTS - a push may not have been deployed');
  });

  it('reconcile, for a version ebship did not deploy (ReconcileRule), once per label', async () => {
    // The environment runs LABEL (above); ebship's record is the older version.
    await putLastGood(db, TABLE, ENV, {
      versionLabel: OLD_LABEL,
      imageDigest: OLD_DIGEST,
      deployedAt: STARTED,
      executionId: EXECUTION,
    });
    const scheduled = { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} };

    await reconcile(scheduled, lambdaContext('Reconcile'));
    await reconcile(scheduled, lambdaContext('Reconcile'));

    const input = published();
    expectOneAlertPath(input, 'DRIFT', 'antenna-prod');
    expect(input.MessageAttributes?.severity?.StringValue).toBe('warning');
    expect(input.MessageAttributes?.environment?.StringValue).toBe('antenna-prod');
  });

  it('undeliveredEvents ignores the alarm going back to OK', async () => {
    await undeliveredEvents(
      {
        source: 'aws.cloudwatch',
        'detail-type': 'CloudWatch Alarm State Change',
        resources: [],
        detail: { alarmName: 'ebship-test-undelivered-events', state: { value: 'OK' } },
      },
      lambdaContext('UndeliveredEvents'),
    );

    expect(mocks.sns.commandCalls(PublishCommand)).toHaveLength(0);
  });
});
