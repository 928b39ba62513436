import {
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  SendCommandCommand,
} from '@aws-sdk/client-ssm';
import { afterEach, describe, expect, it } from 'vitest';
import { type Clock, createClock } from '../../standin/clock.js';
import { type Standin, startStandin } from '../../standin/server.js';
import { clientsFor, rejection } from './clients.js';

let standin: Standin | undefined;
afterEach(() => standin?.close());

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

const SHOWMIGRATIONS = 'core\n [X] 0001_initial\n [ ] 0002_add_station_index\n';

async function setUp(outcome: { exitCode: number; stdout: string; notFoundCalls: number }) {
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
  standin.world.ssm.documents.add('ebship-migration-check');
  standin.world.ssm.outcome = { ...outcome, stderr: '', durationSeconds: 20 };
  const aws = clientsFor(standin.endpoint);
  const instanceId = standin.world.eb.instanceIds('antenna-prod')[0] ?? '';
  const sent = await aws.ssm.send(
    new SendCommandCommand({
      DocumentName: 'ebship-migration-check',
      Targets: [{ Key: 'tag:elasticbeanstalk:environment-name', Values: ['antenna-prod'] }],
      Parameters: { container: ['django'] },
    }),
  );
  return { clock, aws, instanceId, commandId: sent.Command?.CommandId ?? '' };
}

describe('SSM Run Command', () => {
  it('answers InvocationDoesNotExist right after SendCommand, then the result the scenario set', async () => {
    const { clock, aws, instanceId, commandId } = await setUp({
      exitCode: 1,
      stdout: SHOWMIGRATIONS,
      notFoundCalls: 2,
    });
    const get = () =>
      aws.ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }));

    const first = await rejection(get());
    const second = await rejection(get());
    const running = await get();
    clock.advance(30);
    const done = await get();

    expect([first.name, second.name]).toEqual(['InvocationDoesNotExist', 'InvocationDoesNotExist']);
    expect(running).toMatchObject({ Status: 'InProgress', ResponseCode: -1 });
    expect(done).toMatchObject({ Status: 'Failed', ResponseCode: 1, StandardOutputContent: SHOWMIGRATIONS });
  });

  it('lists the invocation with its plugin output', async () => {
    const { clock, aws, commandId } = await setUp({
      exitCode: 0,
      stdout: 'No migrations to apply.\n',
      notFoundCalls: 1,
    });
    clock.advance(30);

    const listed = await aws.ssm.send(
      new ListCommandInvocationsCommand({ CommandId: commandId, Details: true }),
    );

    expect(listed.CommandInvocations?.[0]).toMatchObject({ Status: 'Success' });
    expect(listed.CommandInvocations?.[0]?.CommandPlugins?.[0]).toMatchObject({
      ResponseCode: 0,
      Output: 'No migrations to apply.\n',
    });
  });

  it('refuses an unknown document and an unknown instance', async () => {
    const { aws } = await setUp({ exitCode: 0, stdout: '', notFoundCalls: 0 });
    const badDoc = await rejection(
      aws.ssm.send(new SendCommandCommand({ DocumentName: 'nope', InstanceIds: ['i-1'] })),
    );
    const badInstance = await rejection(
      aws.ssm.send(
        new SendCommandCommand({
          DocumentName: 'ebship-migration-check',
          InstanceIds: ['i-0000000000000dead'],
        }),
      ),
    );
    expect(badDoc.name).toBe('InvalidDocument');
    expect(badInstance.name).toBe('InvalidInstanceId');
  });
});
