import { PublishCommand } from '@aws-sdk/client-sns';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/notify.js';
import { InputInvalid } from '../../../lib/errors.js';
import type { DeployState, OutcomeStatus } from '../../../lib/workflow-state.js';
import {
  awsError,
  deploy,
  LABEL,
  lambdaContext,
  mocks,
  OLD_LABEL,
  stateBeforeDeploy,
  TOPIC,
  useConfigVariant,
  useFreshTable,
} from './fixtures.js';

const context = lambdaContext('Notify');
const TEAM_TOPIC = 'arn:aws:sns:us-east-1:123456789012:antenna-oncall';

function endState(status: OutcomeStatus, extra: Partial<DeployState> = {}): DeployState {
  return {
    ...stateBeforeDeploy(),
    deploy,
    outcome: { status },
    recorded: { recorded: true },
    ...extra,
  } as DeployState;
}

useFreshTable();

/** The text an email subscription gets from the n-th Publish (MessageStructure=json, "default"). */
function emailText(n: number): string {
  const message = mocks.sns.commandCalls(PublishCommand)[n]?.args[0].input.Message ?? '{}';
  return (JSON.parse(message) as { default: string }).default;
}

beforeEach(() => {
  mocks.sns.reset();
  let n = 0;
  mocks.sns.on(PublishCommand).callsFake(() => {
    n += 1;
    return { MessageId: `msg-${n}` };
  });
});

describe('notify handler', () => {
  it('alerts exactly once per execution, however often Step Functions runs the step', async () => {
    // Arrange: the first run published, then its result was lost (a Lambda error after it returned).
    await handler(endState('ROLLED_BACK'), context);

    // Act
    const again = await handler(endState('ROLLED_BACK'), context);

    // Assert
    expect(mocks.sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(again).toMatchObject({ duplicate: true, messageIds: [] });
  });

  it('publishes on a retry when the first run could not publish', async () => {
    // Arrange: SNS failed the first time (a 5xx after the SDK's retries).
    mocks.sns
      .on(PublishCommand)
      .rejectsOnce(awsError('InternalError', 'Internal error', 500))
      .resolves({ MessageId: 'msg-retry' });
    await expect(handler(endState('ROLLED_BACK'), context)).rejects.toThrow();

    // Act
    const again = await handler(endState('ROLLED_BACK'), context);

    // Assert
    expect(again.messageIds).toHaveLength(1);
  });

  it("publishes the outcome to ebship's topic with a subject that names target and version", async () => {
    // Act
    const result = await handler(endState('SUCCEEDED'), context);

    // Assert
    const subject = `[ebship] Deployed: antenna-prod ${LABEL}`;
    expect(result).toEqual({ subject, messageIds: ['msg-1'] });
    expect(mocks.sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(mocks.sns).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: TOPIC,
      Subject: subject,
      Message: expect.stringContaining(`antenna-prod now runs ${LABEL} on antenna-prod (was ${OLD_LABEL}).`),
      MessageStructure: 'json',
      MessageAttributes: expect.objectContaining({
        outcome: { DataType: 'String', StringValue: 'SUCCEEDED' },
      }),
    });
  });

  it('says where a rolled-back environment is now, in the subject', async () => {
    // Arrange
    const state = endState('ROLLED_BACK', {
      failure: { Error: 'MigrationsPending' },
      rollback: {
        fromVersion: LABEL,
        toVersion: OLD_LABEL,
        startedAt: '2026-11-23T10:06:10.000Z',
        firstPollSeconds: 15,
      },
    });

    // Act
    const result = await handler(state, context);

    // Assert
    expect(result.subject).toBe(`[ebship] ROLLED BACK: antenna-prod ${LABEL}, back on ${OLD_LABEL}`);
    expect(mocks.sns).toHaveReceivedCommandWith(PublishCommand, { Subject: result.subject });
  });

  it('alerts when resolution failed, naming the target from the input', async () => {
    // Act
    const result = await handler(
      {
        input: { target: 'antenna-prod', imageTag: 'v99' },
        error: { Error: 'ImageNotFound', Cause: 'tag "v99" is not in ECR repository antenna-backend' },
        outcome: { status: 'FAILED_BEFORE_DEPLOY' },
      },
      context,
    );

    // Assert
    expect(result.subject).toBe('[ebship] Deploy failed, environment unchanged: antenna-prod');
    expect(mocks.sns).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: TOPIC,
      MessageStructure: 'json',
    });
    expect(emailText(0)).toContain('ImageNotFound: tag "v99" is not in ECR repository antenna-backend');
  });

  describe('with a per-target topic in ebship.yml', () => {
    let restore: () => void;
    beforeEach(() => {
      restore = useConfigVariant((targets) => {
        Object.assign(targets['antenna-prod'] ?? {}, { alertTopicArn: TEAM_TOPIC });
      });
    });
    afterEach(() => restore());

    it("publishes the same alert to ebship's topic and the target's", async () => {
      // Act
      const result = await handler(
        endState('FAILED_BEFORE_DEPLOY', { error: { Error: 'SecretInvalid' } }),
        context,
      );

      // Assert
      const topics = mocks.sns.commandCalls(PublishCommand).map((c) => c.args[0].input.TopicArn);
      expect(topics.sort()).toEqual([TEAM_TOPIC, TOPIC].sort());
      const subjects = new Set(mocks.sns.commandCalls(PublishCommand).map((c) => c.args[0].input.Subject));
      expect([...subjects]).toEqual([`[ebship] Deploy failed, environment unchanged: antenna-prod ${LABEL}`]);
      expect(result.messageIds).toHaveLength(2);
    });

    it("still alerts ebship's topic when the target's topic refuses, then fails naming it", async () => {
      // Arrange
      mocks.sns
        .on(PublishCommand, { TopicArn: TEAM_TOPIC })
        .rejects(awsError('AuthorizationErrorException', 'not authorized to perform SNS:Publish'));

      // Act
      const run = handler(endState('SUCCEEDED'), context);

      // Assert
      await expect(run).rejects.toThrow(`was not published to ${TEAM_TOPIC}`);
      expect(mocks.sns).toHaveReceivedCommandWith(PublishCommand, { TopicArn: TOPIC });
    });
  });

  describe('with alerts.notifyOn: [ROLLED_BACK] (successes kept out of the pager)', () => {
    let restore: () => void;
    beforeEach(() => {
      restore = useConfigVariant((targets) => {
        Object.assign(targets['antenna-prod'] ?? {}, { alerts: { notifyOn: ['ROLLED_BACK'] } });
      });
    });
    afterEach(() => restore());

    it('does not publish an outcome the target left out', async () => {
      const result = await handler(endState('SUCCEEDED'), context);

      expect(mocks.sns).not.toHaveReceivedCommand(PublishCommand);
      expect(result).toMatchObject({ messageIds: [], notSent: 'SUCCEEDED is not in alerts.notifyOn' });
    });

    it('publishes the outcomes it lists', async () => {
      await handler(endState('ROLLED_BACK'), context);

      expect(mocks.sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    });

    it('always publishes ROLLBACK FAILED: a person must act on it', async () => {
      await handler(endState('ROLLBACK_FAILED'), context);

      expect(mocks.sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    });
  });

  it('rejects a state without an outcome with InputInvalid naming it', async () => {
    // Act
    const run = handler({ ...stateBeforeDeploy(), deploy }, context);

    // Assert
    await expect(run).rejects.toThrow(InputInvalid);
    await expect(run).rejects.toThrow('outcome');
  });
});
