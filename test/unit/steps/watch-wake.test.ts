/**
 * ebEvents' wake (lib/steps/watch.ts) against the real table (dynalite), Step Functions mocked.
 * EventBridge delivers at least once and in no set order (EventBridge user guide, "Event
 * delivery"), so a copy of an old event may come after newer ones and after the next wait began.
 */
import { SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { beforeEach, describe, expect, it } from 'vitest';
import { wakeOnEbEvent } from '../../../lib/steps/watch.js';
import { storeToken } from '../../../lib/store/watch.js';
import { awsError, db, ENV, EXECUTION, mocks, TABLE, useFreshTable } from '../functions/fixtures.js';

useFreshTable();

const event = (id: string) => ({
  id,
  source: 'aws.elasticbeanstalk',
  'detail-type': 'Health status change',
  time: '2026-11-23T10:05:00Z',
  resources: [],
  detail: {
    ApplicationName: 'antenna',
    EnvironmentName: 'antenna-prod',
    Status: 'Environment health has transitioned',
  },
});
const waitOn = (taskToken: string) =>
  storeToken(db, TABLE, ENV, { taskToken, executionId: EXECUTION, phase: 'deploy', expectedVersion: 'v10' });
const woken = () => mocks.sfn.commandCalls(SendTaskSuccessCommand).map((c) => c.args[0].input.taskToken);

beforeEach(() => {
  mocks.sfn.reset();
  mocks.sfn.on(SendTaskSuccessCommand).resolves({});
});

describe('wakeOnEbEvent: one wake per event', () => {
  it('a copy of an old event that arrives after a newer one, during a later wait, wakes nothing', async () => {
    await waitOn('token-1');
    expect(await wakeOnEbEvent(event('event-a'))).toMatchObject({ action: 'woken' });
    await waitOn('token-2');
    expect(await wakeOnEbEvent(event('event-b'))).toMatchObject({ action: 'woken' });
    await waitOn('token-3');

    expect(await wakeOnEbEvent(event('event-a'))).toMatchObject({ action: 'duplicate' });
    expect(woken()).toEqual(['token-1', 'token-2']);
  });

  it('a copy that arrives while the execution reads (no token stored) is not noted twice', async () => {
    await waitOn('token-1');
    await wakeOnEbEvent(event('event-a'));

    expect(await wakeOnEbEvent(event('event-b'))).toMatchObject({ action: 'noted' });
    expect(await wakeOnEbEvent(event('event-b'))).toMatchObject({ action: 'duplicate' });
  });

  it('an event whose SendTaskSuccess got no answer is forgotten, so its redelivery wakes the wait', async () => {
    await waitOn('token-1');
    mocks.sfn.on(SendTaskSuccessCommand).rejectsOnce(awsError('InternalServerError', 'no answer', 500));

    await expect(wakeOnEbEvent(event('event-a'))).rejects.toThrow('no answer');
    expect(await wakeOnEbEvent(event('event-a'))).toMatchObject({ action: 'woken' });
    expect(woken()).toEqual(['token-1', 'token-1']);
  });
});
