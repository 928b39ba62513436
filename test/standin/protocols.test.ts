import { CreateTableCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { BatchGetImageCommand, DescribeImagesCommand } from '@aws-sdk/client-ecr';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
} from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, ListTopicsCommand, PublishCommand } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Standin, startStandin } from '../../standin/server.js';
import { clientsFor, rejection } from './clients.js';

let standin: Standin;
let aws: ReturnType<typeof clientsFor>;

beforeAll(async () => {
  standin = await startStandin();
  aws = clientsFor(standin.endpoint);
});
afterAll(() => standin.close());

describe('S3 (REST, path-style)', () => {
  it('stores an object and serves it back with Get, Head and ListObjectsV2', async () => {
    await aws.s3.send(new CreateBucketCommand({ Bucket: 'bundles' }));
    await aws.s3.send(new PutObjectCommand({ Bucket: 'bundles', Key: 'antenna/v1.zip', Body: 'zip-bytes' }));

    const got = await aws.s3.send(new GetObjectCommand({ Bucket: 'bundles', Key: 'antenna/v1.zip' }));
    const head = await aws.s3.send(new HeadObjectCommand({ Bucket: 'bundles', Key: 'antenna/v1.zip' }));
    const list = await aws.s3.send(new ListObjectsV2Command({ Bucket: 'bundles', Prefix: 'antenna/' }));

    expect(await got.Body?.transformToString()).toBe('zip-bytes');
    expect(head.ContentLength).toBe(9);
    expect(list.Contents?.map((o) => o.Key)).toEqual(['antenna/v1.zip']);
  });

  it('answers NoSuchKey for a missing object', async () => {
    await aws.s3.send(new CreateBucketCommand({ Bucket: 'empty' }));
    const err = await rejection(aws.s3.send(new GetObjectCommand({ Bucket: 'empty', Key: 'nope' })));
    expect(err.name).toBe('NoSuchKey');
  });
});

describe('ECR (JSON 1.1)', () => {
  it('describes an image by tag and by digest', async () => {
    const pushed = standin.world.ecr.push('antenna-backend', 'v1.2.0');

    const byTag = await aws.ecr.send(
      new DescribeImagesCommand({ repositoryName: 'antenna-backend', imageIds: [{ imageTag: 'v1.2.0' }] }),
    );
    const byDigest = await aws.ecr.send(
      new DescribeImagesCommand({
        repositoryName: 'antenna-backend',
        imageIds: [{ imageDigest: pushed.digest }],
      }),
    );

    expect(byTag.imageDetails?.[0]).toMatchObject({
      imageDigest: pushed.digest,
      imageTags: ['v1.2.0'],
      registryId: '123456789012',
    });
    expect(byTag.imageDetails?.[0]?.imagePushedAt).toBeInstanceOf(Date);
    expect(byDigest.imageDetails?.[0]?.imageTags).toEqual(['v1.2.0']);
  });

  it('raises ImageNotFoundException and RepositoryNotFoundException', async () => {
    standin.world.ecr.createRepository('antenna-backend');
    const noImage = await rejection(
      aws.ecr.send(
        new DescribeImagesCommand({ repositoryName: 'antenna-backend', imageIds: [{ imageTag: 'v9.9.9' }] }),
      ),
    );
    const noRepo = await rejection(aws.ecr.send(new DescribeImagesCommand({ repositoryName: 'missing' })));
    expect(noImage.name).toBe('ImageNotFoundException');
    expect(noRepo.name).toBe('RepositoryNotFoundException');
  });

  it('reports a missing tag as a BatchGetImage failure', async () => {
    standin.world.ecr.push('antenna-backend', 'v2.0.0');
    const out = await aws.ecr.send(
      new BatchGetImageCommand({
        repositoryName: 'antenna-backend',
        imageIds: [{ imageTag: 'v2.0.0' }, { imageTag: 'gone' }],
      }),
    );
    expect(out.images).toHaveLength(1);
    expect(out.failures?.[0]?.failureCode).toBe('ImageNotFound');
  });
});

describe('Secrets Manager (JSON 1.1)', () => {
  it('describes, reads and lists secrets', async () => {
    const arn = standin.world.secrets.put({
      name: 'antenna/prod/redis-url',
      value: 'rediss://cache:6379/0?ssl_cert_reqs=required',
    });

    const described = await aws.secrets.send(
      new DescribeSecretCommand({ SecretId: 'antenna/prod/redis-url' }),
    );
    const value = await aws.secrets.send(new GetSecretValueCommand({ SecretId: arn }));
    const listed = await aws.secrets.send(new ListSecretsCommand({}));

    expect(described.ARN).toBe(arn);
    expect(arn).toMatch(/:secret:antenna\/prod\/redis-url-[A-Za-z0-9]{6}$/);
    expect(value.SecretString).toContain('rediss://');
    expect(listed.SecretList?.map((s) => s.Name)).toContain('antenna/prod/redis-url');
  });

  it('shows DeletedDate for a secret scheduled for deletion and refuses its value', async () => {
    standin.world.secrets.put({
      name: 'antenna/prod/old',
      value: 'x',
      deletedAt: new Date('2026-01-01T00:00:00Z'),
    });
    const described = await aws.secrets.send(new DescribeSecretCommand({ SecretId: 'antenna/prod/old' }));
    const err = await rejection(
      aws.secrets.send(new GetSecretValueCommand({ SecretId: 'antenna/prod/old' })),
    );
    expect(described.DeletedDate?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(err.name).toBe('InvalidRequestException');
  });

  it('raises ResourceNotFoundException and AccessDeniedException', async () => {
    standin.world.secrets.put({ name: 'antenna/prod/locked', value: 'x', accessDenied: true });
    const missing = await rejection(
      aws.secrets.send(new GetSecretValueCommand({ SecretId: 'antenna/prod/none' })),
    );
    const denied = await rejection(
      aws.secrets.send(new GetSecretValueCommand({ SecretId: 'antenna/prod/locked' })),
    );
    expect(missing.name).toBe('ResourceNotFoundException');
    expect(denied.name).toBe('AccessDeniedException');
  });
});

describe('SNS (query, 2010-03-31)', () => {
  it('creates and lists a topic and records what is published to it', async () => {
    const { TopicArn } = await aws.sns.send(new CreateTopicCommand({ Name: 'ebship-alerts' }));
    const published = await aws.sns.send(
      new PublishCommand({
        TopicArn,
        Subject: 'ebship: antenna-prod rolled back',
        Message: 'Health went Red.',
      }),
    );
    const topics = await aws.sns.send(new ListTopicsCommand({}));

    expect(topics.Topics?.map((t) => t.TopicArn)).toContain(TopicArn);
    expect(published.MessageId).toBeTruthy();
    expect(standin.world.sns.published.at(-1)).toMatchObject({
      topicArn: TopicArn,
      subject: 'ebship: antenna-prod rolled back',
      message: 'Health went Red.',
    });
  });

  it('raises NotFound for an unknown topic', async () => {
    const err = await rejection(
      aws.sns.send(new PublishCommand({ TopicArn: 'arn:aws:sns:us-east-1:123456789012:nope', Message: 'x' })),
    );
    expect(err.name).toBe('NotFoundException');
  });
});

describe('DynamoDB (proxied to dynalite)', () => {
  it('creates a table and round-trips an item', async () => {
    await aws.dynamo.send(
      new CreateTableCommand({
        TableName: 'ebship',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      }),
    );
    await aws.dynamo.send(
      new PutItemCommand({
        TableName: 'ebship',
        Item: { pk: { S: 'ENV#antenna/antenna-prod' }, sk: { S: 'LOCK' } },
      }),
    );
    const got = await aws.dynamo.send(
      new GetItemCommand({
        TableName: 'ebship',
        Key: { pk: { S: 'ENV#antenna/antenna-prod' }, sk: { S: 'LOCK' } },
      }),
    );
    expect(got.Item?.sk?.S).toBe('LOCK');
  });
});
