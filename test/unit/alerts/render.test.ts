import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { chatNotificationSchema } from '../../../lib/alerts/chat-schema.js';
import { composeAlert } from '../../../lib/alerts/compose.js';
import { capTail } from '../../../lib/alerts/diagnostics.js';
import { consoleLinks } from '../../../lib/alerts/links.js';
import { messageByProtocol, SNS_MESSAGE_MAX_BYTES } from '../../../lib/alerts/publish.js';
import type { DeployState, OutcomeStatus } from '../../../lib/workflow-state.js';
import { DIGEST, failedBeforeDeploy, NOW, rollbackFailed, rolledBack, succeeded } from './deploy-states.js';

const STATES: Record<string, DeployState> = {
  SUCCEEDED: succeeded,
  ROLLED_BACK: rolledBack,
  FAILED_BEFORE_DEPLOY: failedBeforeDeploy,
  ROLLBACK_FAILED: rollbackFailed,
  OVERRIDDEN: { ...rolledBack, outcome: { status: 'OVERRIDDEN' as OutcomeStatus } },
};

/** A Django app that crashes on start, as `eb logs` would show it (100 lines and more). */
const TRACEBACK = [
  'Traceback (most recent call last):',
  '  File "/app/config/wsgi.py", line 16, in <module>',
  '    application = get_wsgi_application()',
  '  File "/usr/local/lib/python3.12/site-packages/django/core/wsgi.py", line 12, in get_wsgi_application',
  '    django.setup(set_prefix=False)',
  'django.core.exceptions.ImproperlyConfigured: Set the DATABASE_URL environment variable (DATABASE_URL=postgres://antenna:hunter2@db:5432/antenna)',
].join('\n');

function withTail(state: DeployState, text: string, instances = 1): DeployState {
  return {
    ...state,
    diagnostics: {
      environmentId: 'e-abcd1234',
      instances: [
        { instanceId: 'i-0aaa', versionLabel: 'v1.4.1-9a8b7c6d5e4f', deploymentStatus: 'Deployed' },
      ],
      logTails: Array.from({ length: instances }, (_, i) => ({
        instanceId: `i-0aa${i}`,
        source: 'var/log/web.stdout.log',
        ...capTail(text),
      })),
    },
  } as DeployState;
}

describe('one alert, rendered per channel and outcome', () => {
  for (const [outcome, state] of Object.entries(STATES)) {
    it(`${outcome}: email subject for SNS, chat JSON valid against Amazon Q's custom notification schema, JSON for machines`, () => {
      // Act
      const alert = composeAlert(state, NOW);

      // Assert
      expect(alert.subject).toMatch(/^\[ebship\] [\x20-\x7E]{1,90}$/);
      expect(alert.subject.length).toBeLessThanOrEqual(99);
      expect(() => v.parse(chatNotificationSchema, alert.chat)).not.toThrow();
      expect(alert.chat.content.title).toContain('antenna-prod');
      expect(alert.chat.metadata?.threadId).toBe('ebship/antenna/antenna-prod-web');
      expect(alert.attributes).toMatchObject({
        outcome,
        target: 'antenna-prod',
        environment: 'antenna-prod-web',
      });
      expect(alert.data).toMatchObject({ schema: 'ebship.alert/1', outcome, durationSeconds: 252 });
      expect(alert.message).toContain('Duration:    4m 12s');
    });
  }

  it('gives chat the next steps as ebship commands, the AWS CLI in the email', () => {
    const rolled = composeAlert(rolledBack, NOW);
    const failed = composeAlert(rollbackFailed, NOW);

    expect(rolled.chat.content.nextSteps).toEqual(
      expect.arrayContaining([
        expect.stringContaining('`ebship logs antenna-prod`'),
        expect.stringContaining(`\`ebship deploy antenna-prod --digest ${DIGEST} --follow\``),
      ]),
    );
    expect(failed.chat.content.nextSteps).toEqual(
      expect.arrayContaining([
        expect.stringContaining('`ebship rollback antenna-prod --to v1.4.1-9a8b7c6d5e4f`'),
      ]),
    );
    expect(rolled.message).toContain(
      'aws elasticbeanstalk request-environment-info --environment-name antenna-prod-web --info-type tail --region eu-west-1',
    );
    expect(rolled.message).toContain(
      `aws stepfunctions start-execution --state-machine-arn arn:aws:states:eu-west-1:123456789012:stateMachine:ebship-deploy --input '{"target":"antenna-prod","imageDigest":"${DIGEST}"}'`,
    );
    expect(rolled.message).not.toContain('execution input {');
  });

  it('publishes each rendering to its protocol: text by default, chat over HTTPS, JSON to SQS and Lambda', () => {
    // Arrange
    const alert = composeAlert(rolledBack, NOW);

    // Act
    const byProtocol = JSON.parse(messageByProtocol(alert)) as Record<string, string>;

    // Assert
    expect(byProtocol.default).toBe(alert.message);
    expect(v.parse(chatNotificationSchema, JSON.parse(byProtocol.https ?? ''))).toEqual(alert.chat);
    expect(JSON.parse(byProtocol.sqs ?? '')).toMatchObject({
      outcome: 'ROLLED_BACK',
      target: 'antenna-prod',
    });
    expect(byProtocol.lambda).toBe(byProtocol.sqs);
  });

  it('shows the app log tail, masked, in email, chat and JSON', () => {
    const alert = composeAlert(withTail(rolledBack, TRACEBACK), NOW);

    expect(alert.message).toContain('What the app printed (last lines, secrets masked)');
    expect(alert.message).toContain('    django.core.exceptions.ImproperlyConfigured: Set the DATABASE_URL');
    expect(alert.chat.content.description).toContain('ImproperlyConfigured');
    expect(JSON.stringify(alert)).not.toContain('hunter2');
    expect(alert.data.logTails[0]?.instanceId).toBe('i-0aa0');
    expect(alert.message).toMatch(/Instances now\n {2}i-0aaa {2}v1\.4\.1-9a8b7c6d5e4f {2}Deployed/);
  });

  it('cuts a 100 KB log tail to its last lines at a line boundary, and says so', () => {
    // Arrange: 2,700 numbered lines of ~38 bytes, the crash at the end.
    const lines = Array.from(
      { length: 2700 },
      (_, i) => `${String(i).padStart(5, '0')} INFO celery.worker heartbeat ok`,
    );
    const big = `${lines.join('\n')}\n${TRACEBACK}\n`;
    expect(big.length).toBeGreaterThan(100_000);

    // Act
    const tail = capTail(big);
    const alert = composeAlert(withTail(rolledBack, big, 4), NOW);

    // Assert
    const kept = tail.lines.split('\n');
    expect(tail.truncated).toBe(true);
    expect(kept[0]).toMatch(/^\(\d+ earlier lines not shown\)$/);
    expect(kept.at(-1)).toContain('ImproperlyConfigured');
    for (const l of kept.slice(1, -6)) expect(l).toMatch(/^\d{5} INFO celery\.worker heartbeat ok$/);
    expect(Buffer.byteLength(messageByProtocol(alert))).toBeLessThan(SNS_MESSAGE_MAX_BYTES);
  });
});

describe('console links', () => {
  const arn = (partition: string, region: string) =>
    `arn:${partition}:states:${region}:123456789012:execution:ebship-prod-deploy:antenna-prod-x`;
  const at = (partition: string, region: string) =>
    consoleLinks(
      {
        executionArn: arn(partition, region),
        application: 'antenna',
        environment: 'antenna-prod',
        environmentId: 'e-abc',
      },
      {},
    );

  it('point at the console of the execution partition and region', () => {
    expect(at('aws', 'eu-west-1').map((l) => l.url)).toEqual([
      'https://eu-west-1.console.aws.amazon.com/elasticbeanstalk/home?region=eu-west-1#/environment/events?environmentId=e-abc',
      'https://eu-west-1.console.aws.amazon.com/elasticbeanstalk/home?region=eu-west-1#/environment/health?environmentId=e-abc',
      `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${arn('aws', 'eu-west-1')}`,
      'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups$3FlogGroupNameFilter$3D$252Faws$252Felasticbeanstalk$252Fantenna-prod$252F',
    ]);
    expect(at('aws-cn', 'cn-north-1')[0]?.url).toMatch(
      /^https:\/\/console\.amazonaws\.cn\/elasticbeanstalk\/home\?region=cn-north-1#/,
    );
    expect(at('aws-us-gov', 'us-gov-west-1')[0]?.url).toMatch(
      /^https:\/\/console\.amazonaws-us-gov\.com\/elasticbeanstalk\/home\?region=us-gov-west-1#/,
    );
  });

  it('are left out behind a custom endpoint, where no console exists', () => {
    const links = consoleLinks(
      { executionArn: arn('aws', 'eu-west-1'), environment: 'x' },
      {
        AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
      },
    );
    expect(links).toEqual([]);
  });
});

describe('chat links', () => {
  it('lists the console links as plain URLs every chat platform links', () => {
    const previous = { ...process.env };
    for (const k of Object.keys(process.env)) if (k.startsWith('AWS_ENDPOINT_URL')) delete process.env[k];
    try {
      const alert = composeAlert(rolledBack, NOW);
      expect(alert.chat.content.description).toContain(
        'Step Functions execution: https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/',
      );
      expect(alert.message).toContain(
        'Links\n  Application environments: https://eu-west-1.console.aws.amazon.com/',
      );
    } finally {
      Object.assign(process.env, previous);
    }
  });
});

describe('partial deploys and large environments', () => {
  const partial = {
    ...rolledBack,
    health: {
      ...rolledBack.health,
      instances: [
        { id: 'i-0new', versionLabel: 'v1.5.0-0123456789ab', deploymentStatus: 'Deployed', color: 'Red' },
        { id: 'i-0old', versionLabel: 'v1.4.1-9a8b7c6d5e4f', deploymentStatus: 'Failed', color: 'Green' },
      ],
    },
  } as DeployState;

  it('a ROLLED BACK alert of a partial deploy names each instance and the version it ran at the verdict', () => {
    const alert = composeAlert(partial, NOW);

    expect(alert.message).toMatch(
      /Instances when the deploy was judged\n {2}i-0new {2}v1\.5\.0-0123456789ab {2}Deployed {2}Red\n {2}i-0old {2}v1\.4\.1-9a8b7c6d5e4f {2}Failed {2}Green/,
    );
    expect(alert.chat.content.description).toContain(
      '*Instances when the deploy was judged*\ni-0new: v1.5.0',
    );
    expect(alert.data.instancesAtVerdict).toHaveLength(2);
  });

  it('one version everywhere at the verdict is no partial deploy: nothing extra is listed', () => {
    const alert = composeAlert(
      {
        ...rolledBack,
        health: {
          ...rolledBack.health,
          instances: [{ id: 'i-0new', versionLabel: 'v1.5.0-0123456789ab', deploymentStatus: 'Deployed' }],
        },
      } as DeployState,
      NOW,
    );

    expect(alert.message).not.toContain('Instances when the deploy was judged');
  });

  it('100 instances with a 100 KB tail each: grouped by version, within the SNS 256 KiB limit and the chat schema', () => {
    const many = (n: number, failedEvery: number) =>
      Array.from({ length: n }, (_, i) => ({
        instanceId: `i-0${String(i).padStart(16, '0')}`,
        versionLabel: i % failedEvery === 0 ? 'v1.4.1-9a8b7c6d5e4f' : 'v1.5.0-0123456789ab',
        deploymentStatus: i % failedEvery === 0 ? 'Failed' : 'Deployed',
        color: 'Green',
      }));
    const huge = 'x'.repeat(1_000).concat('\n').repeat(100);
    const state = {
      ...partial,
      health: {
        ...rolledBack.health,
        instances: many(100, 4).map(({ instanceId, ...i }) => ({ id: instanceId, ...i })),
      },
      diagnostics: {
        environmentId: 'e-abcd1234',
        instances: many(100, 100),
        logTails: many(100, 1).map((i) => ({
          instanceId: i.instanceId,
          source: 'stdouterr.log',
          ...capTail(huge),
        })),
      },
    } as DeployState;

    const alert = composeAlert(state, NOW);
    const published = messageByProtocol(alert);

    expect(Buffer.byteLength(published, 'utf8')).toBeLessThanOrEqual(SNS_MESSAGE_MAX_BYTES);
    expect(() => v.parse(chatNotificationSchema, alert.chat)).not.toThrow();
    expect(alert.message).toContain('Instances when the deploy was judged\n  100 instances:');
    expect(alert.message).toMatch(
      / {2}25 instances on v1\.4\.1-9a8b7c6d5e4f {2}Failed {2}Green: i-0\d{16}, .* and 20 more/,
    );
    expect(alert.message).toMatch(/ {2}75 instances on v1\.5\.0-0123456789ab {2}Deployed {2}Green: /);
    expect(alert.message.split('\n').filter((l) => /^ {2}i-0\d{16} {2}v/.test(l))).toHaveLength(0);
    expect(alert.chat.content.description).toContain('25 instances on v1.4.1-9a8b7c6d5e4f');
  });
});
