import { CloudWatchClient, DescribeAlarmsCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAlarms } from '../../lib/aws/alarms.js';
import { type Standin, startStandin } from '../../standin/server.js';
import { rejection } from './clients.js';

/**
 * The stand-in's CloudWatch through the unchanged SDK client, which speaks AWS JSON 1.0
 * (X-Amz-Target GraniteServiceVersion20100801.*, query-compatible errors; botocore's cloudwatch
 * service-2.json lists smithy-rpc-v2-cbor, json and query). Behaviour from the CloudWatch API
 * reference: DescribeAlarms (AlarmNames at most 100, MaxRecords 1-100, metric alarms only without
 * AlarmTypes) and SetAlarmState (ResourceNotFound for an unknown alarm).
 */
let standin: Standin;
let cloudwatch: CloudWatchClient;

beforeAll(async () => {
  standin = await startStandin();
  cloudwatch = new CloudWatchClient({
    endpoint: standin.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'standin-secret' },
    maxAttempts: 1,
  });
  standin.world.cloudwatch.putAlarm('api-5xx');
  standin.world.cloudwatch.putAlarm('p95-latency');
});
afterAll(() => standin.close());

describe('CloudWatch alarms (AWS JSON 1.0)', () => {
  it('describes the named alarms with their state, reason and when the state last changed', async () => {
    const out = await cloudwatch.send(
      new DescribeAlarmsCommand({ AlarmNames: ['api-5xx', 'no-such-alarm'] }),
    );

    expect(out.MetricAlarms?.map((a) => [a.AlarmName, a.StateValue])).toEqual([['api-5xx', 'OK']]);
    expect(out.MetricAlarms?.[0]?.StateTransitionedTimestamp).toBeInstanceOf(Date);
    expect(out.MetricAlarms?.[0]?.AlarmArn).toBe('arn:aws:cloudwatch:us-east-1:123456789012:alarm:api-5xx');
  });

  it('moves an alarm with SetAlarmState, stamping the change on the simulated clock', async () => {
    const before = Date.now();
    await cloudwatch.send(
      new SetAlarmStateCommand({
        AlarmName: 'p95-latency',
        StateValue: 'ALARM',
        StateReason: 'p95 above 2 s',
      }),
    );

    const out = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: ['p95-latency'] }));
    const alarm = out.MetricAlarms?.[0];
    expect(alarm).toMatchObject({ StateValue: 'ALARM', StateReason: 'p95 above 2 s' });
    expect(alarm?.StateTransitionedTimestamp?.getTime()).toBeGreaterThanOrEqual(before);
  });

  it('answers ResourceNotFound to SetAlarmState on an alarm that does not exist', async () => {
    const err = await rejection(
      cloudwatch.send(new SetAlarmStateCommand({ AlarmName: 'nope', StateValue: 'OK', StateReason: 'x' })),
    );
    expect(err.name).toBe('ResourceNotFound');
  });

  it('refuses more than 100 AlarmNames', async () => {
    const names = Array.from({ length: 101 }, (_, i) => `alarm-${i}`);
    const err = await rejection(cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: names })));
    // A 400 validation error (the SDK names it from the JSON error's __type).
    expect(err.name).toMatch(/^Validation/);
    expect(err.$metadata?.httpStatusCode).toBe(400);
  });

  it('is read by ebship in one call; a failed call is no data, not an error', async () => {
    const calls = standin.world.cloudwatch.describeCalls.length;
    const read = await readAlarms(cloudwatch, ['api-5xx', 'p95-latency', 'gone']);

    expect(standin.world.cloudwatch.describeCalls.length - calls).toBe(1);
    expect(read).toMatchObject({
      ok: true,
      alarms: [
        { name: 'api-5xx', state: 'OK' },
        { name: 'p95-latency', state: 'ALARM', reason: 'p95 above 2 s' },
      ],
      missing: ['gone'],
    });
    standin.world.faults.add({ fault: 'throttle', service: 'cloudwatch', operation: 'DescribeAlarms' });
    expect(await readAlarms(cloudwatch, ['api-5xx'])).toEqual({
      ok: false,
      error: 'Throttling: Rate exceeded',
    });
  });
});
