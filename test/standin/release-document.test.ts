import { GetCommandInvocationCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import { afterEach, describe, expect, it } from 'vitest';
import { type Clock, createClock } from '../../standin/clock.js';
import { commandOutcome, type SchemaWorld } from '../../standin/database-schema.js';
import { type Standin, startStandin } from '../../standin/server.js';
import { DEFAULT_COMMAND_OUTCOME } from '../../standin/services/ssm.js';
import { releaseDocumentSpec } from '../../standin/ssm-document.js';
import { clientsFor, rejection } from './clients.js';

/**
 * The stand-in's release-phase document and database schema (issue 11). SendCommand checks each
 * parameter against the document's allowedPattern before anything runs and answers
 * InvalidParameters otherwise (SSM API reference, SendCommand, Errors; SSM user guide, "Data
 * elements and parameters": allowedPattern).
 */

let standin: Standin | undefined;
afterEach(() => standin?.close());

const DIGEST = `sha256:${'cd'.repeat(32)}`;
const RELEASE = {
  container: 'django',
  command: ['python', 'manage.py', 'migrate', '--noinput'],
  timeoutSeconds: 60,
  onEmptyEnvironment: 'fail' as const,
};

function manualClock(): Clock & { advance(seconds: number): void } {
  let now = Date.parse('2026-03-02T10:00:00Z');
  return {
    ...createClock(1, now),
    now: () => now,
    advance: (seconds: number) => {
      now += seconds * 1000;
    },
  };
}

function schema(applied: string[], declared: string[]): SchemaWorld {
  return { applied: new Set(applied), declaredBy: () => declared, digestOn: () => DIGEST };
}

describe('the release document on the stand-in', () => {
  it('refuses a digest parameter that does not match its allowedPattern, as SendCommand does', async () => {
    const clock = manualClock();
    standin = await startStandin({ clock });
    standin.world.eb.addEnvironment({
      application: 'antenna',
      environment: 'antenna-prod',
      versionLabel: 'v1',
      instances: 1,
      platformArn: 'arn:aws:elasticbeanstalk:us-east-1::platform/ECS',
      solutionStackName: 'ECS',
      optionSettings: [],
      onUpdate: [],
    });
    standin.world.ssm.addDocument('ebship-local-release-antenna-prod', releaseDocumentSpec(RELEASE));
    standin.world.ssm.schema = schema(['0001'], ['0001', '0002']);
    const aws = clientsFor(standin.endpoint);
    const instanceId = standin.world.eb.instanceIds('antenna-prod')[0] ?? '';
    const send = (digest: string) =>
      aws.ssm.send(
        new SendCommandCommand({
          DocumentName: 'ebship-local-release-antenna-prod',
          InstanceIds: [instanceId],
          Parameters: { imageDigest: [digest] },
        }),
      );

    expect(await rejection(send("sha256:$(reboot)'"))).toMatchObject({ name: 'InvalidParameters' });
    const sent = await send(DIGEST);
    clock.advance(120);
    const read = () =>
      aws.ssm.send(
        new GetCommandInvocationCommand({ CommandId: sent.Command?.CommandId, InstanceId: instanceId }),
      );
    await rejection(read()); // InvocationDoesNotExist first, like SSM
    const inv = await read();

    expect(inv).toMatchObject({ Status: 'Success', ResponseCode: 0 });
    expect(inv.StandardOutputContent).toContain('Applying 0002... OK');
    expect([...(standin.world.ssm.schema?.applied ?? [])]).toEqual(['0001', '0002']);
  });
});

describe('the database schema model', () => {
  const migrateCheck = {
    kind: 'exec' as const,
    argv: ['python', 'manage.py', 'migrate', '--check'],
    owner: 'check' as const,
  };
  const migrate = { kind: 'release' as const, argv: RELEASE.command, owner: 'release' as const };

  it('fails migrate --check while the image declares an unapplied migration, and passes once migrate ran', () => {
    const world = schema(['0001'], ['0001', '0002']);

    const before = commandOutcome(world, migrateCheck, DIGEST, DEFAULT_COMMAND_OUTCOME);
    commandOutcome(world, migrate, DIGEST, DEFAULT_COMMAND_OUTCOME);
    const after = commandOutcome(world, migrateCheck, DIGEST, DEFAULT_COMMAND_OUTCOME);

    expect(before).toMatchObject({ exitCode: 3, stderr: 'ebship-check-exit=1\n' });
    expect(before.stdout).toContain('[ ] 0002');
    expect(after).toMatchObject({ exitCode: 0, stdout: 'No changes detected\n' });
  });

  it('passes commands that are not migrations (Celery pings, check --deploy) without touching the schema', () => {
    const world = schema([], ['0001']);

    const ping = commandOutcome(
      world,
      { kind: 'exec', argv: ['celery', 'inspect', 'ping'], owner: 'check' },
      DIGEST,
      DEFAULT_COMMAND_OUTCOME,
    );

    expect(ping.exitCode).toBe(0);
    expect(world.applied.size).toBe(0);
  });
});
