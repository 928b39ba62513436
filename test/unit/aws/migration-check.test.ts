import {
  type CommandInvocationStatus,
  GetCommandInvocationCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { pickInstance, pollMigrationCheck, startMigrationCheck } from '../../../lib/aws/migration-check.js';
import { isTransient } from '../../../lib/aws/transient.js';
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
const awsError = (name: string, message: string, status = 400) =>
  Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
const notYet = awsError('InvocationDoesNotExist', '');

beforeEach(() => ssmMock.reset());

describe('startMigrationCheck', () => {
  it("sends the target's own document with no parameters: container and argv are fixed in it", async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
    const out = await startMigrationCheck(client, {
      documentName: 'ebship-dev-migration-check-antenna-prod',
      instanceId: 'i-1',
      check,
      environment: 'antenna-prod',
      versionLabel: 'v10',
    });
    expect(out).toEqual(pending);
    expect(ssmMock).toHaveReceivedCommandWith(SendCommandCommand, {
      DocumentName: 'ebship-dev-migration-check-antenna-prod',
      InstanceIds: ['i-1'],
    });
    expect(ssmMock.commandCalls(SendCommandCommand)[0]?.args[0].input.Parameters).toBeUndefined();
  });

  // SendCommand answers InvalidInstanceId for an instance that is not a managed node (API_SendCommand).
  it('says the instance is not SSM-managed, and how to fix it, when SendCommand refuses it', async () => {
    ssmMock.on(SendCommandCommand).rejects(awsError('InvalidInstanceId', 'Instances not in a valid state'));
    const err = await startMigrationCheck(client, {
      documentName: 'd',
      instanceId: 'i-1',
      check,
      environment: 'antenna-prod',
      versionLabel: 'v10',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationCheckFailed);
    expect((err as Error).message).toMatch(
      /i-1 of antenna-prod is not SSM-managed.*AmazonSSMManagedInstanceCore/,
    );
  });
});

describe('pollMigrationCheck', () => {
  it('keeps polling through InvocationDoesNotExist until the deadline, then asks whether the instance is managed', async () => {
    ssmMock.on(GetCommandInvocationCommand).rejects(notYet);
    let state = pending;
    for (let i = 0; i < 22; i++) state = await pollMigrationCheck(client, state, check);
    expect(state.status).toBe('pending');
    await expect(pollMigrationCheck(client, state, check)).rejects.toThrow(
      /SSM never registered the migration check on i-1 .* is the instance SSM-managed/,
    );
  });

  it.each([
    awsError('ThrottlingException', 'Rate exceeded'),
    awsError('InternalServerError', 'oops', 500),
    Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
    Object.assign(new Error('timed out'), { name: 'TimeoutError' }),
  ])('reads a transient SSM error ($name) as no data, never as a failed check', async (error) => {
    ssmMock.on(GetCommandInvocationCommand).rejects(error);

    const next = await pollMigrationCheck(client, { ...pending, polls: 5 }, check);

    expect(next).toMatchObject({ status: 'pending', polls: 6 });
  });

  it('reports "could not read" once transient errors outlast the check\'s deadline', async () => {
    ssmMock.on(GetCommandInvocationCommand).rejects(awsError('ThrottlingException', 'Rate exceeded'));

    const err = await pollMigrationCheck(client, { ...pending, polls: 22 }, check).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(MigrationCheckFailed);
    expect((err as Error).message).toMatch(
      /could not read the migration check's result .*ThrottlingException/,
    );
  });

  it('passes on Success with exit code 0', async () => {
    ssmMock
      .on(GetCommandInvocationCommand)
      .resolves({ Status: 'Success', ResponseCode: 0, StandardOutputContent: 'No changes detected' });
    expect(await pollMigrationCheck(client, pending, check)).toMatchObject({ status: 'passed', polls: 1 });
  });

  it("fails with MigrationsPending when the script says the check failed (exit 3), with the check's own exit code", async () => {
    ssmMock.on(GetCommandInvocationCommand).resolves({
      Status: 'Failed',
      ResponseCode: 3,
      StandardOutputContent: 'antenna\n [X] 0001_initial\n [ ] 0002_add_station',
      StandardErrorContent: 'ebship-check-exit=1',
    });
    const err = await pollMigrationCheck(client, pending, check).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationsPending);
    expect((err as Error).message).toContain('exited 1 in container django on i-1');
    expect((err as Error).message).toContain('[ ] 0002_add_station');
  });

  it('does not read success from text: output saying "OK" with a failed check still fails', async () => {
    ssmMock
      .on(GetCommandInvocationCommand)
      .resolves({ Status: 'Failed', ResponseCode: 3, StandardOutputContent: 'OK' });
    await expect(pollMigrationCheck(client, pending, check)).rejects.toThrow(MigrationsPending);
  });

  // Each way the check can fail to run is reported as what it is, never as pending migrations.
  // Statuses and StatusDetails: GetCommandInvocation in the SSM API reference, "Understanding command statuses".
  it.each<[string, CommandInvocationStatus, number, string | undefined, RegExp]>([
    ['no container', 'Failed', 4, 'Failed', /no running container named "django" on i-1/],
    ['docker missing', 'Failed', 5, 'Failed', /could not start on i-1 .*: docker is missing/],
    ['a broken script', 'Failed', 2, 'Failed', /with exit 2 .*the check script itself failed/],
    ['never ran', 'Failed', -1, 'Failed', /with exit -1 .*it never ran/],
    // Read through run-command.ts's readInvocation since issue 11: these pin the messages it kept.
    [
      'exit 0 yet Failed',
      'Failed',
      0,
      'Failed',
      /ended Failed \(Failed\) with exit 0 .*the check script itself failed/,
    ],
    ['another negative code', 'Failed', -2, 'Failed', /with exit -2 .*the check script itself failed/],
    ['not SSM-managed', 'Failed', -1, 'Undeliverable', /could not be delivered on i-1 .*not SSM-managed/],
    ['instance gone', 'Failed', -1, 'Terminated', /instance was terminated while the migration check ran/],
    [
      'timed out',
      'TimedOut',
      -1,
      'Execution Timed Out',
      /timed out on i-1 .*Execution Timed Out.*within 60s/,
    ],
    ['cancelled', 'Cancelled', -1, 'Cancelled', /was cancelled on i-1/],
  ])(
    'reports %s as MigrationCheckFailed saying so',
    async (_what, Status, ResponseCode, StatusDetails, message) => {
      ssmMock.on(GetCommandInvocationCommand).resolves({ Status, ResponseCode, StatusDetails });

      const err = await pollMigrationCheck(client, pending, check).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(MigrationCheckFailed);
      expect((err as Error).message).toMatch(message);
    },
  );

  it('says "timed out" when the check is still running at its deadline', async () => {
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress', ResponseCode: -1 });
    await expect(pollMigrationCheck(client, { ...pending, polls: 40 }, check)).rejects.toThrow(
      'the migration check timed out: it did not finish within 60s',
    );
  });
});

describe('isTransient', () => {
  it('does not treat access denied or a bad command id as transient', () => {
    expect(isTransient(awsError('AccessDeniedException', 'no', 400))).toBe(false);
    expect(isTransient(awsError('InvalidCommandId', 'no', 400))).toBe(false);
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
