import {
  DescribeEnvironmentHealthCommand,
  DescribeEnvironmentsCommand,
  DescribeEventsCommand,
  DescribeInstancesHealthCommand,
  type EnvironmentHealth,
} from '@aws-sdk/client-elastic-beanstalk';
import { SendCommandCommand } from '@aws-sdk/client-ssm';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/start-migration-check.js';
import { InputInvalid, MigrationCheckFailed } from '../../../lib/errors.js';
import { deploy, LABEL, lambdaContext, MIGRATION_DOCUMENT, mocks, OLD_LABEL, release } from './fixtures.js';

const context = lambdaContext('StartMigrationCheck');

function instances(...list: { id: string; version: string; status: string; color: string }[]) {
  mocks.eb.on(DescribeInstancesHealthCommand).resolves({
    InstanceHealthList: list.map((i) => ({
      InstanceId: i.id,
      Color: i.color,
      Deployment: { VersionLabel: i.version, Status: i.status },
    })),
  });
}

beforeEach(() => {
  mocks.eb.reset();
  mocks.ssm.reset();
  mocks.eb.on(DescribeEnvironmentHealthCommand).resolves({
    // The operational status, although the API model types Status as a colour (lib/aws/eb.ts).
    Status: 'Ready' as EnvironmentHealth,
    Color: 'Green',
    HealthStatus: 'Ok',
    RefreshedAt: new Date('2026-11-23T10:03:05.000Z'),
  });
  mocks.eb.on(DescribeEventsCommand).resolves({ Events: [] });
  mocks.eb.on(DescribeEnvironmentsCommand).resolves({
    Environments: [{ EnvironmentName: 'antenna-prod', Status: 'Ready', VersionLabel: LABEL }],
  });
  mocks.ssm
    .on(SendCommandCommand)
    .resolves({ Command: { CommandId: 'c0ffee00-1111-2222-3333-444455556666' } });
});

describe('start-migration-check handler', () => {
  it("sends the target's own check document, without parameters, to an instance on the new version", async () => {
    // Arrange
    instances(
      { id: 'i-0old0000000000000', version: OLD_LABEL, status: 'Deployed', color: 'Green' },
      { id: 'i-0new0000000000000', version: LABEL, status: 'Deployed', color: 'Green' },
    );

    // Act
    const result = await handler({ release: release(), deploy }, context);

    // Assert
    expect(mocks.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    const input = mocks.ssm.commandCalls(SendCommandCommand)[0]?.args[0].input;
    // The document infra/config-vars.cjs generates for this target: its argv is fixed there.
    expect(input).toMatchObject({
      DocumentName: `${MIGRATION_DOCUMENT}-antenna-prod`,
      InstanceIds: ['i-0new0000000000000'],
    });
    expect(input?.Parameters).toBeUndefined();
    expect(result).toEqual({
      status: 'pending',
      commandId: 'c0ffee00-1111-2222-3333-444455556666',
      instanceId: 'i-0new0000000000000',
      polls: 0,
      nextPollSeconds: 5,
    });
  });

  it('fails with MigrationCheckFailed when no instance runs the new version yet', async () => {
    // Arrange
    instances({ id: 'i-0new0000000000000', version: LABEL, status: 'In Progress', color: 'Grey' });

    // Act
    const run = handler({ release: release(), deploy }, context);

    // Assert
    await expect(run).rejects.toThrow(MigrationCheckFailed);
    await expect(run).rejects.toThrow(`no instance of antenna-prod reports version ${LABEL} as deployed`);
    expect(mocks.ssm).not.toHaveReceivedCommand(SendCommandCommand);
  });

  it('rejects a state without the deploy result with InputInvalid naming it', async () => {
    // Act
    const run = handler({ release: release() }, context);

    // Assert
    await expect(run).rejects.toThrow(InputInvalid);
    await expect(run).rejects.toThrow('state has no "deploy"');
    expect(mocks.ssm).not.toHaveReceivedAnyCommand();
  });
});
