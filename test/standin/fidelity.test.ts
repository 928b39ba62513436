import { createHash } from 'node:crypto';
import { DescribeEnvironmentsCommand } from '@aws-sdk/client-elastic-beanstalk';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { PublishCommand } from '@aws-sdk/client-sns';
import { GetCommandInvocationCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import { afterEach, describe, expect, it } from 'vitest';
import { type Clock, createClock } from '../../standin/clock.js';
import { type Standin, startStandin } from '../../standin/server.js';
import { clientsFor, rejection } from './clients.js';

let standin: Standin | undefined;
afterEach(() => standin?.close());

function manualClock(start = Date.now()): Clock & { advance(seconds: number): void } {
  let now = start;
  return {
    ...createClock(1, now),
    now: () => now,
    advance: (seconds: number) => {
      now += seconds * 1000;
    },
  };
}

async function setUp(clock: Clock = manualClock()) {
  standin = await startStandin({ clock });
  return { world: standin.world, aws: clientsFor(standin.endpoint), endpoint: standin.endpoint };
}

describe('HTTP Date', () => {
  // Every answer is dated on the simulated clock: a real Date beside simulated timestamps would look
  // like clock skew to the SDK, which then corrects it and retries error answers.
  it('is the simulated time, in HTTP date format', async () => {
    const future = Date.parse('2031-05-04T03:02:01Z');
    const { endpoint } = await setUp(manualClock(future));
    const answer = await fetch(`${endpoint}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=DescribeEnvironments&Version=2010-12-01',
    });
    expect(answer.headers.get('date')).toBe('Sun, 04 May 2031 03:02:01 GMT');
  });

  it('leaves the SDK no clock skew to correct', async () => {
    const { aws } = await setUp();
    const answer = await aws.eb.send(new DescribeEnvironmentsCommand({}));
    expect(answer.$metadata.httpStatusCode).toBe(200);
    expect(Math.abs(aws.eb.config.systemClockOffset ?? 0)).toBeLessThan(60_000);
  });
});

describe('S3 ChecksumSHA256', () => {
  // S3 API reference, PutObject: x-amz-checksum-sha256 is checked; a mismatch is 400 BadDigest.
  it('verifies it (400 BadDigest on a mismatch, nothing stored) and echoes it', async () => {
    const { aws, world } = await setUp();
    await aws.s3.send(new CreateBucketCommand({ Bucket: 'bundles' }));
    const body = Buffer.from('zip-bytes');
    const good = createHash('sha256').update(body).digest('base64');
    const wrong = createHash('sha256').update('other bytes').digest('base64');

    const put = await aws.s3.send(
      new PutObjectCommand({ Bucket: 'bundles', Key: 'ok.zip', Body: body, ChecksumSHA256: good }),
    );
    const bad = await rejection(
      aws.s3.send(
        new PutObjectCommand({ Bucket: 'bundles', Key: 'bad.zip', Body: body, ChecksumSHA256: wrong }),
      ),
    );
    const got = await aws.s3.send(
      new GetObjectCommand({ Bucket: 'bundles', Key: 'ok.zip', ChecksumMode: 'ENABLED' }),
    );

    expect(put.ChecksumSHA256).toBe(good);
    expect([bad.name, bad.$metadata?.httpStatusCode]).toEqual(['BadDigest', 400]);
    expect(world.s3.get('bundles', 'bad.zip')).toBeUndefined();
    expect(got.ChecksumSHA256).toBe(good);
  });
});

describe('SSM Run Command', () => {
  async function ssmSetUp(outcome: {
    exitCode: number;
    stdout: string;
    stderr?: string;
    durationSeconds?: number;
  }) {
    const clock = manualClock();
    const { world, aws } = await setUp(clock);
    world.eb.addEnvironment({
      application: 'antenna',
      environment: 'antenna-prod',
      versionLabel: 'v1',
      instances: 1,
      platformArn: 'arn:aws:elasticbeanstalk:us-east-1::platform/ECS',
      solutionStackName: 'ECS',
      optionSettings: [],
      onUpdate: [],
    });
    // A document with parameters, each with an allowedPattern (SSM document syntax, "parameters"), and
    // a step timeout of 3,600 s. (ebship's own documents take none: infra/config-vars.cjs.)
    world.ssm.addDocument('ebship-local-migration-check', {
      parameters: {
        ContainerName: { allowedPattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$' },
        CheckCommand: { allowedPattern: '^[A-Za-z0-9+/=]{1,4096}$' },
      },
      executionTimeoutSeconds: 3600,
    });
    world.ssm.outcome = { stderr: '', durationSeconds: 20, notFoundCalls: 0, ...outcome };
    const instanceId = world.eb.instanceIds('antenna-prod')[0] ?? '';
    const send = (parameters: Record<string, string[]>) =>
      aws.ssm.send(
        new SendCommandCommand({
          DocumentName: 'ebship-local-migration-check',
          InstanceIds: [instanceId],
          Parameters: parameters,
        }),
      );
    const get = (commandId: string) =>
      aws.ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }));
    return { clock, send, get };
  }
  const argv = Buffer.from('python\0manage.py\0migrate\0--check').toString('base64');

  // SendCommand checks parameters against the document's allowedPattern:
  // InvalidParameters (SSM API reference, SendCommand errors).
  it("refuses a parameter its document's allowedPattern rejects, and an unknown one", async () => {
    const { send } = await ssmSetUp({ exitCode: 0, stdout: '' });
    const shell = await rejection(send({ ContainerName: ['web; rm -rf /'], CheckCommand: [argv] }));
    const unknown = await rejection(send({ ContainerName: ['web'], CheckCommand: [argv], Extra: ['x'] }));
    const ok = await send({ ContainerName: ['web'], CheckCommand: [argv] });

    expect(shell.name).toBe('InvalidParameters');
    expect(unknown.name).toBe('InvalidParameters');
    expect(ok.Command?.CommandId).toBeTruthy();
  });

  // StatusDetails texts: GetCommandInvocation in the SSM API reference ("In Progress", "Execution
  // Timed Out"); the document's step timeoutSeconds (3600) bounds the run.
  it('says "In Progress", and times a command out at the document\'s execution timeout', async () => {
    const { clock, send, get } = await ssmSetUp({ exitCode: 0, stdout: 'done\n', durationSeconds: 4000 });
    const sent = await send({ ContainerName: ['web'], CheckCommand: [argv] });
    const id = sent.Command?.CommandId ?? '';
    const running = await get(id);
    clock.advance(3602);
    const timedOut = await get(id);

    expect(running).toMatchObject({ Status: 'InProgress', StatusDetails: 'In Progress' });
    expect(timedOut).toMatchObject({
      Status: 'TimedOut',
      StatusDetails: 'Execution Timed Out',
      ResponseCode: -1,
    });
  });

  // GetCommandInvocation: StandardOutputContent is "the first 24,000 characters", stderr 8,000.
  it('truncates output at 24,000 characters and errors at 8,000', async () => {
    const { clock, send, get } = await ssmSetUp({
      exitCode: 1,
      stdout: 'o'.repeat(30_000),
      stderr: 'e'.repeat(9_000),
    });
    const sent = await send({ ContainerName: ['web'], CheckCommand: [argv] });
    clock.advance(30);
    const done = await get(sent.Command?.CommandId ?? '');

    expect(done.Status).toBe('Failed');
    expect(done.StandardOutputContent).toHaveLength(24_000);
    expect(done.StandardErrorContent).toHaveLength(8_000);
  });
});

describe('SNS Publish subject', () => {
  // SNS API reference, Publish: "Subjects must be UTF-8 text with no line breaks or control
  // characters, and less than 100 characters long."
  it.each([
    ['100 characters', 'x'.repeat(100)],
    ['a line break', 'ROLLED BACK\nantenna-prod'],
    ['a tab', 'ROLLED\tBACK'],
  ])('refuses a subject with %s (InvalidParameter)', async (_what, subject) => {
    const { world, aws } = await setUp();
    const topic = world.sns.createTopic('alerts');
    const err = await rejection(
      aws.sns.send(new PublishCommand({ TopicArn: topic, Subject: subject, Message: 'm' })),
    );
    // The SDK's exception for SNS's InvalidParameter code.
    expect(err.name).toBe('InvalidParameterException');
    expect(world.sns.published).toHaveLength(0);
  });

  it('accepts 99 characters', async () => {
    const { world, aws } = await setUp();
    const topic = world.sns.createTopic('alerts');
    await aws.sns.send(new PublishCommand({ TopicArn: topic, Subject: 'x'.repeat(99), Message: 'm' }));
    expect(world.sns.published).toHaveLength(1);
  });
});
