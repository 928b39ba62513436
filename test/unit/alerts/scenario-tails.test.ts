import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { chatNotificationSchema } from '../../../lib/alerts/chat-schema.js';
import { loadConfig } from '../../../lib/config/load.js';
import { createClock } from '../../../standin/clock.js';
import { freePort } from '../../../standin/ports.js';
import { runScenario } from '../../../standin/run-scenario.js';
import { loadScenario } from '../../../standin/scenarios.js';

/**
 * Stand-in scenarios end to end, read as on-call reads them: the alert that a rollback sends carries
 * what the failed version's app printed (EB tail logs: RequestEnvironmentInfo, a Wait state, then
 * RetrieveEnvironmentInfo's presigned S3 URLs; standin/services/eb-logs.ts), in the email and in
 * the Amazon Q chat rendering, with secrets masked.
 */
const config = loadConfig('ebship.yml');
const port = await freePort();

async function alertOf(name: string) {
  const scenario = loadScenario(name);
  const outcome = await runScenario(scenario, {
    config,
    configPath: 'ebship.yml',
    clock: createClock(scenario.scale ?? 240),
    port,
  });
  const alerts = outcome.pushes.flatMap((p) => p.alerts);
  expect(alerts).toHaveLength(1);
  const alert = alerts[0];
  const chat = v.parse(chatNotificationSchema, JSON.parse(alert?.byProtocol?.https ?? '{}'));
  return { email: alert?.message ?? '', chat, attributes: alert?.attributes ?? {} };
}

describe('stand-in scenarios: the alert shows what the app printed', () => {
  it("red-after-deploy: the crashing Django app's traceback, from the failed version's container log", async () => {
    const { email, chat, attributes } = await alertOf('red-after-deploy');

    expect(attributes).toMatchObject({ outcome: 'ROLLED_BACK', severity: 'warning', target: 'antenna-prod' });
    expect(email).toMatch(
      /What the app printed \(last lines, secrets masked\)\n\n {2}i-\w+, \/var\/log\/containers\/django-v1\.3\.0-\w+-stdouterr\.log:/,
    );
    expect(email).toContain(
      'django.core.exceptions.ImproperlyConfigured: Set the DATABASE_URL environment variable',
    );
    expect(email).toMatch(/Instances now\n {2}i-\w+ {2}v1\.2\.0-\w+ {2}Deployed {2}Green/);
    expect(chat.content.description).toContain('ImproperlyConfigured');
    expect(chat.metadata?.threadId).toBe('ebship/antenna/antenna-prod');
  }, 120_000);

  // EB developer guide, "Using Elastic Beanstalk with Amazon CloudWatch Logs": with StreamLogs on, the
  // Docker platform streams the app container's output to /aws/elasticbeanstalk/<env>/var/log/
  // eb-docker/containers/eb-current-app/stdouterr.log, one stream per instance id.
  it('red-after-deploy-cloudwatch-logs: an environment that streams its logs gets the tail from CloudWatch Logs, not from the instances', async () => {
    const { email, chat, attributes } = await alertOf('red-after-deploy-cloudwatch-logs');

    expect(attributes).toMatchObject({ outcome: 'ROLLED_BACK', target: 'treasury-plane-dev' });
    expect(email).toMatch(
      /What the app printed \(last lines, secrets masked\)\n\n {2}i-\w+, \/aws\/elasticbeanstalk\/treasury-plane-dev\/var\/log\/eb-docker\/containers\/eb-current-app\/stdouterr\.log:/,
    );
    expect(email).toContain(
      'django.core.exceptions.ImproperlyConfigured: Set the DATABASE_URL environment variable',
    );
    expect(email).toContain(
      'aws logs tail /aws/elasticbeanstalk/treasury-plane-dev/var/log/eb-docker/containers/eb-current-app/stdouterr.log --since 1h',
    );
    expect(email).not.toContain('request-environment-info');
    expect(chat.content.description).toContain('ImproperlyConfigured');
  }, 120_000);

  it('rollback-also-fails: the Celery worker that cannot reach its broker over TLS (seed 004), its password masked', async () => {
    const { email, chat, attributes } = await alertOf('rollback-also-fails');

    expect(attributes).toMatchObject({ outcome: 'ROLLBACK_FAILED', severity: 'critical' });
    expect(email).toContain('ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED]');
    expect(email).not.toContain('s3cr3t-broker-pass');
    expect(email).toContain('rediss://:***@antenna-cache');
    expect(chat.content.description).toContain('SSLCertVerificationError');
    expect(chat.content.nextSteps?.join('\n')).toContain('`ebship rollback antenna-prod --to v1.2.0-');
  }, 120_000);
});
