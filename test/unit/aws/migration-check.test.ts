import {
  type CommandInvocationStatus,
  GetCommandInvocationCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  encodeArgv,
  pickInstance,
  pollMigrationCheck,
  startMigrationCheck,
} from '../../../lib/aws/migration-check.js';
import { MigrationCheckFailed, MigrationsPending } from '../../../lib/errors.js';
import type { MigrationResult } from '../../../lib/workflow-state.js';

const client = new SSMClient({ region: 'us-east-1' });
const ssmMock = mockClient(SSMClient);
const check = {
  container: 'django',
  command: ['python', 'manage.py', 'migrate', '--check'],
  timeoutSeconds: 60,
};
const pending: MigrationResult = {
  status: 'pending',
  commandId: 'cmd-1',
  instanceId: 'i-1',
  polls: 0,
  nextPollSeconds: 5,
};
const notYet = Object.assign(new Error(''), { name: 'InvocationDoesNotExist' });

beforeEach(() => ssmMock.reset());

describe('startMigrationCheck', () => {
  it('sends the container and argv as data parameters of the ebship document, never as shell text', async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
    const out = await startMigrationCheck(client, {
      documentName: 'ebship-dev-migration-check',
      instanceId: 'i-1',
      check,
      environment: 'antenna-prod',
      versionLabel: 'v10',
    });
    expect(out).toEqual(pending);
    expect(ssmMock).toHaveReceivedCommandWith(SendCommandCommand, {
      DocumentName: 'ebship-dev-migration-check',
      InstanceIds: ['i-1'],
      Parameters: { ContainerName: ['django'], CheckCommand: [encodeArgv(check.command)] },
    });
  });

  it('encodes argv so a hostile argument stays one argument', () => {
    const argv = ['sh', '-c', '$(rm -rf /); `id` "quoted" \'single\''];
    const decoded = Buffer.from(encodeArgv(argv), 'base64').toString('utf8').split('\0');
    expect(decoded).toEqual(argv);
    expect(encodeArgv(argv)).toMatch(/^[A-Za-z0-9+/=]*$/);
  });
});

describe('pollMigrationCheck', () => {
  it('retries InvocationDoesNotExist right after SendCommand, then gives up with a clear cause', async () => {
    ssmMock.on(GetCommandInvocationCommand).rejects(notYet);
    let state = pending;
    for (let i = 0; i < 10; i++) state = await pollMigrationCheck(client, state, check);
    expect(state.status).toBe('pending');
    await expect(pollMigrationCheck(client, state, check)).rejects.toThrow(
      /SSM never registered the check on i-1/,
    );
  });

  it('passes on Success with exit code 0', async () => {
    ssmMock
      .on(GetCommandInvocationCommand)
      .resolves({ Status: 'Success', ResponseCode: 0, StandardOutputContent: 'No changes detected' });
    expect(await pollMigrationCheck(client, pending, check)).toMatchObject({ status: 'passed', polls: 1 });
  });

  it('fails with MigrationsPending on a non-zero exit, judged by ResponseCode, quoting the output', async () => {
    ssmMock.on(GetCommandInvocationCommand).resolves({
      Status: 'Failed',
      ResponseCode: 1,
      StandardOutputContent: 'antenna\n [X] 0001_initial\n [ ] 0002_add_station',
    });
    const err = await pollMigrationCheck(client, pending, check).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationsPending);
    expect((err as Error).message).toContain('exited 1 in container django on i-1');
    expect((err as Error).message).toContain('[ ] 0002_add_station');
  });

  it('does not read success from text: output saying "OK" with a non-zero exit still fails', async () => {
    ssmMock
      .on(GetCommandInvocationCommand)
      .resolves({ Status: 'Failed', ResponseCode: 3, StandardOutputContent: 'OK' });
    await expect(pollMigrationCheck(client, pending, check)).rejects.toThrow(MigrationsPending);
  });

  it.each<[CommandInvocationStatus, number]>([
    ['TimedOut', -1],
    ['Cancelled', -1],
    ['Failed', -1],
  ])('treats %s (exit %i) as a check that could not run', async (Status, ResponseCode) => {
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status, ResponseCode });
    await expect(pollMigrationCheck(client, pending, check)).rejects.toThrow(MigrationCheckFailed);
  });

  it('stops waiting on a check that never finishes', async () => {
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress', ResponseCode: -1 });
    await expect(pollMigrationCheck(client, { ...pending, polls: 40 }, check)).rejects.toThrow(
      'did not finish within 60s',
    );
  });
});

describe('pickInstance', () => {
  it('prefers a green instance on the new version', () => {
    const picked = pickInstance(
      [
        { id: 'i-old', versionLabel: 'v9', deploymentStatus: 'Deployed', color: 'Green', causes: [] },
        { id: 'i-red', versionLabel: 'v10', deploymentStatus: 'Deployed', color: 'Red', causes: [] },
        { id: 'i-ok', versionLabel: 'v10', deploymentStatus: 'Deployed', color: 'Green', causes: [] },
      ],
      'v10',
    );
    expect(picked).toBe('i-ok');
  });
});
