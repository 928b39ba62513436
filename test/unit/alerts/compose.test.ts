import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { composeAlert, MESSAGE_MAX_BYTES, SUBJECT_MAX } from '../../../lib/alerts/compose.js';
import { formatDuration } from '../../../lib/text/duration.js';
import type { DeployState, OutcomeStatus } from '../../../lib/workflow-state.js';
import { failedBeforeDeploy, NOW, release, rollbackFailed, rolledBack, succeeded } from './deploy-states.js';

/** SNS Publish: Subject is printable ASCII, no line breaks, under 100 characters. */
const SNS_SUBJECT = /^[\x20-\x7E]{1,99}$/;

function line(label: string, value: string): RegExp {
  return new RegExp(`^${label}:\\s+${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm');
}

describe('composeAlert: SUCCEEDED', () => {
  it('says what now runs where, from which version, which image, and how long it took', () => {
    // Act
    const alert = composeAlert(succeeded, NOW);

    // Assert
    expect(alert.subject).toBe('[ebship] Deployed: antenna-prod v1.4.2-3f2a9c1b7d4e');
    expect(alert.message).toMatch(
      /^antenna-prod now runs v1.4.2-3f2a9c1b7d4e on antenna-prod-web \(was v1.4.1-9a8b7c6d5e4f\)\./,
    );
    expect(alert.message).toMatch(line('Target', 'antenna-prod'));
    expect(alert.message).toMatch(line('Application', 'antenna'));
    expect(alert.message).toMatch(line('Environment', 'antenna-prod-web'));
    expect(alert.message).toMatch(line('Version', 'v1.4.1-9a8b7c6d5e4f → v1.4.2-3f2a9c1b7d4e'));
    expect(alert.message).toMatch(line('Image', 'antenna-backend:v1.4.2 @ 3f2a9c1b7d4e'));
    expect(alert.message).toMatch(line('Trigger', 'push'));
    expect(alert.message).toMatch(line('Duration', '4m 12s'));
    expect(alert.message).toContain('Health: Green (Ok), environment Ready; healthy after 9 checks');
    expect(alert.message).toContain('Migration check: passed on i-0a1b2c3d4e5f60718');
    expect(alert.message).not.toContain('What to do');
    expect(alert.attributes).toEqual({
      outcome: 'SUCCEEDED',
      severity: 'info',
      target: 'antenna-prod',
      application: 'antenna',
      environment: 'antenna-prod-web',
    });
  });

  it('passes on preflight warnings so they are seen before they become failures', () => {
    // Arrange
    const state: DeployState = {
      ...succeeded,
      bundle: succeeded.bundle && {
        ...succeeded.bundle,
        warnings: ['.ebextensions/02-python.config sets WSGIPath, which the Procfile overrides'],
      },
      // The environment's, from CreateAppVersion.
      version: succeeded.version && {
        ...succeeded.version,
        warnings: ['version-quota-near: this region holds 985 of 1000 application versions'],
      },
    };

    // Act
    const { message } = composeAlert(state, NOW);

    // Assert
    expect(message).toContain(
      'Warnings:\n    - .ebextensions/02-python.config sets WSGIPath, which the Procfile overrides\n    - version-quota-near: this region holds 985 of 1000 application versions',
    );
  });
});

describe('composeAlert: a deploy forced through a freeze (issue 14)', () => {
  it('says so, whatever the outcome', () => {
    for (const state of [succeeded, rolledBack]) {
      const forced: DeployState = {
        ...state,
        release: { ...(state.release ?? release), forced: true },
        lock: { ...state.lock, forced: ['through a freeze'] },
      };

      const { message } = composeAlert(forced, NOW);

      expect(message).toContain('Deployed through a freeze with --force: antenna-prod is frozen');
      expect(composeAlert(state, NOW).message).not.toContain('freeze');
    }
  });
});

describe('composeAlert: ROLLED_BACK', () => {
  it('says the deploy was undone, to which version, and why EB judged it unhealthy', () => {
    // Act
    const alert = composeAlert(rolledBack, NOW);

    // Assert
    expect(alert.subject).toBe(
      '[ebship] ROLLED BACK: antenna-prod v1.4.2-3f2a9c1b7d4e, back on v1.4.1-9a8b7c6d5e4f',
    );
    expect(alert.message).toMatch(
      /^antenna-prod: v1.4.2-3f2a9c1b7d4e failed on antenna-prod-web, so ebship rolled back to v1.4.1-9a8b7c6d5e4f, which is healthy again\./,
    );
    expect(alert.message).toMatch(line('Rolled back', 'v1.4.2-3f2a9c1b7d4e → v1.4.1-9a8b7c6d5e4f'));
    expect(alert.message).toContain(
      [
        'Why it was rolled back',
        '  Health after the deploy: Red (Severe), environment Ready; judged unhealthy after 14 checks',
        '    Causes:',
        '      - Incorrect application version found on all instances. Expected version "v1.4.2-3f2a9c1b7d4e" (deployment 12).',
        '      - ELB health is failing or not available for all instances.',
        '    Last Elastic Beanstalk events:',
        '      - 2025-06-02T09:02:58Z ERROR Failed to deploy application.',
      ].join('\n'),
    );
    expect(alert.message).toContain(
      'Health after the rollback: Green (Ok), environment Ready; healthy after 4 checks',
    );
    expect(alert.message).toContain('Nothing urgent: antenna-prod-web runs v1.4.1-9a8b7c6d5e4f again.');
    expect(alert.attributes.outcome).toBe('ROLLED_BACK');
  });

  it('explains a health timeout as an aborted update', () => {
    // Arrange
    const state: DeployState = {
      ...rolledBack,
      health: rolledBack.health && {
        ...rolledBack.health,
        verdict: 'timeout',
        polls: 80,
        status: 'Updating',
        color: 'Grey',
        healthStatus: 'Pending',
        causes: ['Command is executing on all instances.'],
        events: [],
      },
    };

    // Act
    const { message } = composeAlert(state, NOW);

    // Assert
    expect(message).toContain(
      'Health after the deploy: Grey (Pending), environment Updating; no healthy verdict within the health timeout (80 checks); the update was aborted',
    );
  });

  it('shows the error that started the rollback, without the Lambda stack trace', () => {
    // Arrange
    const state: DeployState = {
      ...rolledBack,
      failure: {
        Error: 'MigrationCheckFailed',
        Cause: JSON.stringify({
          errorType: 'MigrationCheckFailed',
          errorMessage: 'the SSM agent on i-0a1b2c3d4e5f60718 did not answer within 300 s',
          trace: [
            'MigrationCheckFailed: the SSM agent ...',
            '    at startMigrationCheck (/var/task/index.mjs:88:9)',
          ],
        }),
      },
    };

    // Act
    const { message } = composeAlert(state, NOW);

    // Assert
    expect(message).toContain(
      '  Error: MigrationCheckFailed: the SSM agent on i-0a1b2c3d4e5f60718 did not answer within 300 s',
    );
    expect(message).not.toContain('/var/task/index.mjs');
  });
});

describe('composeAlert: FAILED_BEFORE_DEPLOY', () => {
  it('says the environment was not changed and gives the error that stopped it', () => {
    // Act
    const alert = composeAlert(failedBeforeDeploy, NOW);

    // Assert
    expect(alert.subject).toBe(
      '[ebship] Deploy failed, environment unchanged: antenna-prod v1.4.2-3f2a9c1b7d4e',
    );
    expect(alert.message).toContain('the environment antenna-prod-web was not changed');
    expect(alert.message).toMatch(
      line('Version', '(current, unchanged) → v1.4.2-3f2a9c1b7d4e (not deployed)'),
    );
    expect(alert.message).toContain(
      '  Error: SecretInvalid: secret antenna/db (DATABASE_URL) has scheme "postgres"; this target needs postgresql+psycopg. Update the secret value in Secrets Manager.',
    );
    expect(alert.message).not.toContain('at validateSecrets');
    expect(alert.message).toContain('Pushing the same image again is ignored as a duplicate');
  });

  it('shows a plain-string cause (local runs) as it is', () => {
    // Arrange
    const state: DeployState = {
      ...failedBeforeDeploy,
      release: { ...release, trigger: 'manual' },
      error: {
        Error: 'PreflightFailed',
        Cause: 'Dockerrun.aws.json: container "django" has no memory limit',
      },
    };

    // Act
    const { message } = composeAlert(state, NOW);

    // Assert
    expect(message).toContain(
      'Error: PreflightFailed: Dockerrun.aws.json: container "django" has no memory limit',
    );
    expect(message).toMatch(line('Trigger', 'manual'));
    expect(message).not.toContain('ignored as a duplicate');
  });

  it('when the release could not be resolved, says briefly what input came in', () => {
    // Arrange
    const pushEvent = {
      version: '0',
      source: 'aws.ecr',
      'detail-type': 'ECR Image Action',
      detail: {
        'action-type': 'PUSH',
        result: 'SUCCESS',
        'repository-name': 'antenna-backend',
        'image-digest': release.imageDigest,
        'image-tag': 'v1.4.2',
      },
    };
    const state: DeployState = {
      input: pushEvent,
      error: {
        Error: 'ConfigInvalid',
        Cause: 'ebship.yml is invalid:\n  - targets.antenna-prod.platform: expected "ecs" or "docker"',
      },
      outcome: { status: 'FAILED_BEFORE_DEPLOY' },
    };

    // Act
    const alert = composeAlert(state, NOW);

    // Assert
    expect(alert.subject).toBe('[ebship] Deploy failed, environment unchanged: unknown target');
    expect(alert.message).toContain('no environment was changed');
    expect(alert.message).toContain(
      'Input received: an ECR event, action PUSH, result SUCCESS, repository antenna-backend, tag v1.4.2, digest 3f2a9c1b7d4e',
    );
    expect(alert.message).toContain(
      'Error: ConfigInvalid: ebship.yml is invalid:\n      - targets.antenna-prod.platform: expected "ecs" or "docker"',
    );
    // A filter policy on target or environment still matches "*" when it lists it (README, "Subscribe on-call").
    expect(alert.attributes).toEqual({
      outcome: 'FAILED_BEFORE_DEPLOY',
      severity: 'warning',
      target: 'unknown target',
      application: '*',
      environment: '*',
    });
  });

  it('names the target of a manual request it could not resolve, and flags invalid fields', () => {
    // Arrange
    const state: DeployState = {
      input: { target: 'antenna-prod', imageTag: 'v1.4.2 && rm -rf /' },
      error: { Error: 'InputInvalid', Cause: 'imageTag must be an ECR tag' },
      outcome: { status: 'FAILED_BEFORE_DEPLOY' },
    };

    // Act
    const alert = composeAlert(state, NOW);

    // Assert
    expect(alert.subject).toBe('[ebship] Deploy failed, environment unchanged: antenna-prod');
    expect(alert.message).toContain(
      'Input received: a manual request for target antenna-prod, tag (not valid)',
    );
    expect(alert.message).not.toContain('rm -rf');
  });
});

describe('composeAlert: ROLLBACK_FAILED', () => {
  it('asks for a person and says exactly which version to restore, with commands', () => {
    // Act
    const alert = composeAlert(rollbackFailed, NOW);

    // Assert
    expect(alert.subject).toBe(
      '[ebship] ROLLBACK FAILED - manual action needed: antenna-prod v1.4.2-3f2a9c1b7d4e',
    );
    expect(alert.message).toContain('antenna-prod-web needs a person now.');
    expect(alert.message).toContain(
      'Error: MigrationsPending: python manage.py migrate --check exited 1 on i-0a1b2c3d4e5f60718: unapplied migrations: accounts.0042_add_oidc_subject',
    );
    expect(alert.message).toContain(
      'Health after the rollback: Red (Degraded), environment Ready; judged unhealthy after 12 checks',
    );
    expect(alert.message).toContain('      - 100.0 % of the requests are failing with HTTP 5xx.');
    expect(alert.message).toContain(
      'restore v1.4.1-9a8b7c6d5e4f (the last version known to be good) by hand',
    );
    expect(alert.message).toContain('\n       ebship rollback antenna-prod --to v1.4.1-9a8b7c6d5e4f\n');
    expect(alert.message).toContain(
      '\n       aws elasticbeanstalk update-environment --application-name antenna --environment-name antenna-prod-web --version-label v1.4.1-9a8b7c6d5e4f --region eu-west-1\n',
    );
    expect(alert.message).toContain(
      'aws elasticbeanstalk abort-environment-update --environment-name antenna-prod-web --region eu-west-1',
    );
    expect(alert.attributes.outcome).toBe('ROLLBACK_FAILED');
  });

  it('on a first deploy with nothing to go back to, says how to find a version instead of naming one', () => {
    // Arrange
    const state: DeployState = {
      ...rollbackFailed,
      deploy: rollbackFailed.deploy && { ...rollbackFailed.deploy, fromVersion: undefined },
      rollback: undefined,
      rollbackHealth: undefined,
      error: {
        Error: 'NoGoodVersion',
        Cause: JSON.stringify({
          errorType: 'NoGoodVersion',
          errorMessage:
            'antenna-prod has no version known to be good (first deploy through ebship); restore antenna-prod-web by hand',
        }),
      },
    };

    // Act
    const { message } = composeAlert(state, NOW);

    // Assert
    expect(message).toContain('failed on antenna-prod-web and ebship could not roll back');
    expect(message).toContain('Error: NoGoodVersion: antenna-prod has no version known to be good');
    expect(message).toContain(
      'aws elasticbeanstalk describe-application-versions --application-name antenna --max-records 10',
    );
    expect(message).toContain('ebship rollback antenna-prod --to <label>');
    expect(message).toContain('--version-label <label>');
  });

  it('quotes an application name with spaces so the commands can be pasted', () => {
    // Arrange
    const state: DeployState = { ...rollbackFailed, release: { ...release, application: "Antenna O'Brien" } };

    // Act
    const { message } = composeAlert(state, NOW);

    // Assert
    expect(message).toContain(
      `update-environment --application-name 'Antenna O'\\''Brien' --environment-name antenna-prod-web`,
    );
  });
});

describe('composeAlert: limits and secrets', () => {
  it('keeps every subject within what SNS accepts, whatever the names', () => {
    const status = fc.constantFrom<OutcomeStatus>(
      'SUCCEEDED',
      'ROLLED_BACK',
      'FAILED_BEFORE_DEPLOY',
      'ROLLBACK_FAILED',
    );
    fc.assert(
      fc.property(
        status,
        fc.string({ maxLength: 120, unit: 'grapheme' }),
        fc.string({ maxLength: 120 }),
        (s, target, label) => {
          // Arrange
          const state: DeployState = {
            ...rolledBack,
            release: { ...release, target, versionLabel: label },
            outcome: { status: s },
          };

          // Act
          const { subject } = composeAlert(state, NOW);

          // Assert
          expect(subject).toMatch(SNS_SUBJECT);
          expect(subject.length).toBeLessThanOrEqual(SUBJECT_MAX);
        },
      ),
    );
  });

  it('caps a flood of causes and events below the SNS message size limit', () => {
    // Arrange
    const long = 'Instance i-0123 failed: '.padEnd(5_000, 'x');
    const state: DeployState = {
      ...rolledBack,
      health: rolledBack.health && {
        ...rolledBack.health,
        causes: Array.from({ length: 5_000 }, () => long),
        events: Array.from({ length: 5_000 }, () => long),
      },
      failure: { Error: 'DeployFailed', Cause: 'y'.repeat(400_000) },
    };

    // Act
    const { message } = composeAlert(state, NOW);

    // Assert
    expect(Buffer.byteLength(message, 'utf8')).toBeLessThanOrEqual(MESSAGE_MAX_BYTES);
    expect(message).toContain('(4990 more)');
    expect(message).toContain('Health after the rollback: Green (Ok)');
  });

  it('prints only the fields it chooses: a canary anywhere else in the state never reaches the alert', () => {
    // Arrange
    const canary = 'CANARY-7f3e9a1c';
    const extra = { databaseUrl: `postgres://antenna:${canary}@db.internal:5432/antenna`, note: canary };
    const state: DeployState = {
      ...rollbackFailed,
      ...{ extra },
      input: { source: 'aws.ecr', detail: { 'image-tag': `v1 ${canary}`, password: canary }, ...extra },
      release: { ...release, ...{ secretValue: canary } },
      secrets: { checked: ['DATABASE_URL'], arns: { DATABASE_URL: canary }, warnings: [] },
      bundle: rollbackFailed.bundle && { ...rollbackFailed.bundle, files: [canary], key: canary },
      migration: {
        status: 'pending',
        commandId: canary,
        instanceId: 'i-0a1b',
        polls: 3,
        nextPollSeconds: 5,
        output: canary,
      },
      failure: {
        Error: 'MigrationsPending',
        Cause: JSON.stringify({
          errorType: 'MigrationsPending',
          errorMessage: 'exited 1',
          trace: [canary],
          env: canary,
        }),
      },
      error: {
        Error: 'VersionProcessingFailed',
        Cause:
          `could not connect to postgresql+psycopg://antenna:${canary}@db.internal:5432/antenna; DJANGO_SECRET_KEY=${canary}; ` +
          `broker rediss://:pa@${canary}@cache.internal:6379/0; settings {"db_password": "${canary}"}`,
      },
      rollbackHealth: rollbackFailed.rollbackHealth && {
        ...rollbackFailed.rollbackHealth,
        events: [`2025-06-02T09:03:59Z ERROR container exited: REDIS_PASSWORD=${canary}`],
      },
    };

    // Act
    const alert = composeAlert(state, NOW);
    const unresolved = composeAlert({ ...state, release: undefined }, NOW);

    // Assert
    for (const a of [alert, unresolved]) {
      expect(JSON.stringify(a)).not.toContain(canary);
    }
    // What the canary replaced is still useful to the reader.
    expect(alert.message).toContain('postgresql+psycopg://antenna:***@db.internal:5432/antenna');
    expect(alert.message).toContain('REDIS_PASSWORD=***');
    expect(alert.message).toContain('rediss://:***@cache.internal:6379/0');
    expect(alert.message).toContain('{"db_password": "***"}');
    expect(unresolved.message).toContain('tag (not valid)');
  });
});

describe('composeAlert: outcome missing from the state', () => {
  it('never reports success for a changed environment it cannot show is healthy', () => {
    // Arrange
    const { outcome: _rolledBack, ...rolledBackNoOutcome } = rolledBack;
    const { outcome: _failed, ...failedNoOutcome } = failedBeforeDeploy;
    const deployedThenFailed: DeployState = {
      ...succeeded,
      outcome: undefined,
      failure: { Error: 'MigrationsPending', Cause: 'exited 1' },
    };

    // Act
    const subjects = [rolledBackNoOutcome, failedNoOutcome, deployedThenFailed].map(
      (s) => composeAlert(s, NOW).subject,
    );

    // Assert
    expect(subjects).toEqual([
      expect.stringMatching(/^\[ebship\] ROLLED BACK: /),
      expect.stringMatching(/^\[ebship\] Deploy failed, environment unchanged: /),
      expect.stringMatching(/^\[ebship\] ROLLBACK FAILED - manual action needed: /),
    ]);
  });
});

describe('formatDuration', () => {
  it('reads like a person would say it', () => {
    expect(formatDuration(252)).toBe('4m 12s');
    expect(formatDuration(45)).toBe('45s');
    expect(formatDuration(3725)).toBe('1h 2m 5s');
    expect(formatDuration(-3)).toBe('0s');
  });
});
