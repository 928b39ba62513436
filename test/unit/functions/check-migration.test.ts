import { GetCommandInvocationCommand } from '@aws-sdk/client-ssm';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/check-migration.js';
import { InputInvalid, MigrationCheckFailed, MigrationsPending } from '../../../lib/errors.js';
import type { MigrationResult } from '../../../lib/workflow-state.js';
import { awsError, lambdaContext, mocks, release } from './fixtures.js';

const context = lambdaContext('CheckMigration');
const sent: MigrationResult = {
  status: 'pending',
  commandId: 'c0ffee00-1111-2222-3333-444455556666',
  instanceId: 'i-0new0000000000000',
  polls: 0,
  nextPollSeconds: 5,
};
const state = (migration: MigrationResult = sent) => ({ release: release(), migration });

beforeEach(() => {
  mocks.ssm.reset();
});

describe('check-migration handler', () => {
  it('keeps waiting while SSM has not registered the invocation yet', async () => {
    // Arrange: right after SendCommand, GetCommandInvocation answers InvocationDoesNotExist for a while.
    mocks.ssm.on(GetCommandInvocationCommand).rejects(awsError('InvocationDoesNotExist', ''));

    // Act
    const result = await handler(state(), context);

    // Assert
    expect(result).toEqual({ ...sent, status: 'pending', polls: 1, nextPollSeconds: 5 });
    expect(mocks.ssm).toHaveReceivedCommandWith(GetCommandInvocationCommand, {
      CommandId: sent.commandId,
      InstanceId: sent.instanceId,
    });
  });

  it('gives up when SSM never registers the check, naming the likely cause', async () => {
    // Arrange
    mocks.ssm.on(GetCommandInvocationCommand).rejects(awsError('InvocationDoesNotExist', ''));

    // Act
    const run = handler(state({ ...sent, polls: 70 }), context);

    // Assert
    await expect(run).rejects.toThrow(MigrationCheckFailed);
    await expect(run).rejects.toThrow('is the instance SSM-managed');
  });

  it('passes when the check exits 0', async () => {
    // Arrange
    mocks.ssm
      .on(GetCommandInvocationCommand)
      .resolves({ Status: 'Success', ResponseCode: 0, StandardOutputContent: 'No changes detected\n' });

    // Act
    const result = await handler(state({ ...sent, polls: 2 }), context);

    // Assert
    expect(result).toMatchObject({ status: 'passed', polls: 3, output: 'No changes detected' });
  });

  it('fails with MigrationsPending, quoting the output, when the check exits 1', async () => {
    // Arrange: the script (infra/migration-check-script.cjs) exits 3 and names the check's own exit code.
    mocks.ssm.on(GetCommandInvocationCommand).resolves({
      Status: 'Failed',
      ResponseCode: 3,
      StandardOutputContent: "Migrations for 'main':\n  main/migrations/0042_detection_score.py",
      StandardErrorContent: 'ebship-check-exit=1\n',
    });

    // Act
    const run = handler(state({ ...sent, polls: 2 }), context);

    // Assert
    await expect(run).rejects.toThrow(MigrationsPending);
    await expect(run).rejects.toThrow(
      '"python manage.py migrate --check" exited 1 in container django on i-0new0000000000000',
    );
    await expect(run).rejects.toThrow('0042_detection_score.py');
  });

  it('rejects a state without the migration result with InputInvalid naming it', async () => {
    // Act
    const run = handler({ release: release() }, context);

    // Assert
    await expect(run).rejects.toThrow(InputInvalid);
    await expect(run).rejects.toThrow('state has no "migration"');
    expect(mocks.ssm).not.toHaveReceivedAnyCommand();
  });
});
