import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { ElasticBeanstalkClient } from '@aws-sdk/client-elastic-beanstalk';
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ExitCode } from '../../cli/exit-codes.js';
import {
  cli,
  DIGEST,
  execArn,
  type LocalTable,
  pointSdkAt,
  STATE_MACHINE_ARN,
  startTable,
} from './harness.js';
import { healthyRun, redRun } from './history-events.js';
import { serveExecution, stateMachineDeployed } from './sfn-fake.js';

const sfn = mockClient(SFNClient);
const ecr = mockClient(ECRClient);
const eb = mockClient(ElasticBeanstalkClient);
let table: LocalTable;
const LOCK_KEY = { pk: 'ENV#antenna/antenna-prod', sk: 'LOCK' };
const OTHER = 'antenna-prod-manual-0b1c2d3e4f5a-20250602T083000';

beforeAll(async () => {
  table = await startTable();
});
afterAll(async () => {
  await table.close();
});

beforeEach(async () => {
  sfn.reset();
  ecr.reset();
  eb.reset();
  pointSdkAt(table);
  stateMachineDeployed(sfn);
  ecr.on(DescribeImagesCommand).resolves({
    imageDetails: [
      {
        registryId: '123456789012',
        repositoryName: 'antenna-backend',
        imageDigest: DIGEST,
        imageTags: ['v1.4.2'],
        imagePushedAt: new Date('2025-06-02T08:55:00Z'),
      },
    ],
  });
  sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => ({
    executionArn: execArn(input.name),
    startDate: new Date(),
  }));
  await table.db.send(new DeleteCommand({ TableName: 'ebship-dev', Key: LOCK_KEY }));
});
afterEach(() => {
  vi.unstubAllEnvs();
});

function startedInput(): Record<string, unknown> {
  const call = sfn.commandCalls(StartExecutionCommand)[0];
  return JSON.parse(call?.args[0].input.input ?? '{}');
}

describe('ebship deploy', () => {
  it('starts the state machine with the tag, the digest ECR resolved and a readable execution name', async () => {
    // Act
    const r = await cli(['deploy', 'antenna-prod', '--tag', 'v1.4.2']);

    // Assert
    expect(r.code).toBe(ExitCode.Ok);
    expect(ecr).toReceiveCommandWith(DescribeImagesCommand, {
      repositoryName: 'antenna-backend',
      imageIds: [{ imageTag: 'v1.4.2' }],
    });
    expect(startedInput()).toEqual({
      target: 'antenna-prod',
      imageTag: 'v1.4.2',
      imageDigest: DIGEST,
      trigger: 'manual',
    });
    const name = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.name ?? '';
    expect(name).toMatch(/^antenna-prod-manual-3f2a9c1b7d4e-\d{8}T\d{6}$/);
    expect(sfn).toReceiveCommandWith(StartExecutionCommand, { stateMachineArn: STATE_MACHINE_ARN });
    expect(r.stdout).toContain(
      `Started ${name}: antenna-backend:v1.4.2 @ 3f2a9c1b7d4e as v1.4.2-3f2a9c1b7d4e to antenna/antenna-prod`,
    );
    expect(r.stdout).toContain(`follow it: ebship follow ${name}`);
  });

  it('deploys by digest alone and reports the started execution as JSON', async () => {
    // Act
    const r = await cli(['deploy', 'antenna-prod', '--digest', DIGEST, '--json', '--stage', 'dev']);

    // Assert
    expect(r.code).toBe(ExitCode.Ok);
    expect(startedInput()).toEqual({ target: 'antenna-prod', imageDigest: DIGEST, trigger: 'manual' });
    const out = r.json<{ started: { name: string; executionArn: string }; exitCode: number }>();
    expect(out.exitCode).toBe(0);
    expect(out.started.executionArn).toBe(execArn(out.started.name));
  });

  it('keeps execution names within Step Functions limits for long target names', async () => {
    // Arrange
    const long = `${'a'.repeat(58)}-prod`; // 63 characters, the longest target name ebship.yml allows
    const config = `version: 1\ntargets:\n  ${long}:\n    application: antenna\n    environment: antenna-prod\n    platform: docker\n    source: { repository: antenna-backend }\n    containers: [{ name: web, image: "{{image}}" }]\n`;
    const dir = mkdtempSync(join(tmpdir(), 'ebship-long-'));
    writeFileSync(`${dir}/ebship.yml`, config);

    // Act
    const r = await cli(['deploy', long, '--tag', 'v1.4.2', '--config', `${dir}/ebship.yml`]);

    // Assert
    expect(r.code).toBe(ExitCode.Ok);
    const name = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.name ?? '';
    expect(name.length).toBeLessThanOrEqual(80);
    expect(name).toMatch(/^[A-Za-z0-9_-]+-manual-3f2a9c1b7d4e-\d{8}T\d{6}$/);
  });

  it('follows the execution with --follow and exits 0 when it deployed', async () => {
    // Arrange
    sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => {
      serveExecution(sfn, {
        arn: execArn(input.name),
        name: input.name,
        events: healthyRun().events,
        perCall: 9,
      });
      return { executionArn: execArn(input.name), startDate: new Date() };
    });

    // Act
    const r = await cli(['deploy', 'antenna-prod', '--tag', 'v1.4.2', '--follow']);

    // Assert
    expect(r.code).toBe(ExitCode.Ok);
    expect(r.stdout).toMatch(/done\s+CheckHealth\s+Green \(Ok\), Ready, verdict healthy/);
    expect(r.stdout).toContain('Deployed (SUCCEEDED)');
  });

  it('exits 3 with --follow --json when the new version was rolled back', async () => {
    // Arrange
    sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => {
      serveExecution(sfn, { arn: execArn(input.name), name: input.name, events: redRun().events });
      return { executionArn: execArn(input.name), startDate: new Date() };
    });

    // Act
    const r = await cli(['deploy', 'antenna-prod', '--tag', 'v1.4.2', '--follow', '--json']);

    // Assert
    expect(r.code).toBe(ExitCode.RolledBack);
    const out = r.json<{ started: { name: string }; outcome: string; error: string }>();
    expect(out.started.name).toMatch(/^antenna-prod-manual-/);
    expect(out).toMatchObject({ outcome: 'rolled-back', error: 'DeploymentRolledBack' });
  });

  describe('refuses bad input before starting anything', () => {
    it.each([
      [['deploy', 'antenna-prod'], 'give exactly one of --tag <tag> or --digest <sha256:...>'],
      [['deploy', 'antenna-prod', '--tag', 'v1', '--digest', DIGEST], 'give exactly one of --tag'],
      [['deploy', 'antenna-prod', '--digest', 'sha256:3f2a9c'], 'digest "sha256:3f2a9c" is malformed'],
      [['deploy', 'antenna-prod', '--digest', DIGEST.toUpperCase()], 'is malformed'],
      [['deploy', 'antenna-prod', '--tag', '-bad'], 'tag "-bad" is not a valid ECR tag'],
      [
        ['deploy', 'antenna-stage', '--tag', 'v1'],
        'unknown target "antenna-stage"; known targets: antenna-prod, treasury-plane-dev',
      ],
      [
        ['deploy', 'antenna-prod', '--tag', 'v1', '--stage', 'no/slash'],
        'stage "no/slash" is not a valid stage name',
      ],
    ])('%j', async (argv, message) => {
      // Act
      const r = await cli(argv);

      // Assert
      expect(r.code).toBe(ExitCode.Usage);
      expect(r.stderr).toContain(message);
      expect(sfn).not.toReceiveCommand(StartExecutionCommand);
    });

    it('reports usage errors as JSON with --json', async () => {
      // Act
      const r = await cli(['deploy', 'antenna-stage', '--tag', 'v1', '--json']);

      // Assert
      expect(r.code).toBe(ExitCode.Usage);
      expect(r.json()).toMatchObject({ exitCode: 2, error: { code: 'unknown-target' } });
    });

    it('says the tag is not in ECR and how to list the tags', async () => {
      // Arrange
      ecr
        .on(DescribeImagesCommand)
        .rejects(Object.assign(new Error('not found'), { name: 'ImageNotFoundException' }));

      // Act
      const r = await cli(['deploy', 'antenna-prod', '--tag', 'v9.9.9']);

      // Assert
      expect(r.code).toBe(ExitCode.Usage);
      expect(r.stderr).toContain('tag "v9.9.9" is not in ECR repository antenna-backend');
      expect(r.stderr).toContain('aws ecr list-images --repository-name antenna-backend');
      expect(sfn).not.toReceiveCommand(StartExecutionCommand);
    });

    it('says how to configure credentials when there are none', async () => {
      // Arrange
      sfn.on(ListStateMachinesCommand).rejects(
        Object.assign(new Error('Could not load credentials from any providers'), {
          name: 'CredentialsProviderError',
        }),
      );

      // Act
      const r = await cli(['deploy', 'antenna-prod', '--tag', 'v1.4.2']);

      // Assert
      expect(r.code).toBe(ExitCode.Usage);
      expect(r.stderr).toContain('no AWS credentials found');
      expect(r.stderr).toContain('aws configure');
      expect(r.stderr).toContain('--profile');
    });

    it('says how to deploy the state machine when the stage has none', async () => {
      // Arrange
      sfn.on(ListStateMachinesCommand).resolves({ stateMachines: [] });

      // Act
      const r = await cli([
        'deploy',
        'antenna-prod',
        '--tag',
        'v1.4.2',
        '--stage',
        'prod',
        '--region',
        'eu-west-1',
      ]);

      // Assert
      expect(r.code).toBe(ExitCode.Usage);
      expect(r.stderr).toContain(
        'state machine ebship-prod-deploy is not deployed in eu-west-1; deploy with `npx serverless deploy --stage prod`',
      );
    });
  });

  describe('when the environment is busy (exit 7)', () => {
    it('shows the execution holding the lock and how to follow it', async () => {
      // Arrange
      await table.db.send(
        new PutCommand({
          TableName: 'ebship-dev',
          Item: {
            ...LOCK_KEY,
            owner: execArn(OTHER),
            versionLabel: 'v1.4.1-0b1c2d3e4f5a',
            imageDigest: DIGEST,
            acquiredAt: '2025-06-02T08:30:00.000Z',
            leaseUntil: '2999-01-01T00:00:00.000Z',
          },
        }),
      );
      sfn.on(DescribeExecutionCommand, { executionArn: execArn(OTHER) }).resolves({
        executionArn: execArn(OTHER),
        name: OTHER,
        status: 'RUNNING',
        startDate: new Date('2025-06-02T08:30:00Z'),
      });

      // Act
      const r = await cli(['deploy', 'antenna-prod', '--tag', 'v1.4.2']);

      // Assert
      expect(r.code).toBe(ExitCode.Busy);
      expect(r.stderr).toContain(
        `antenna-prod (antenna/antenna-prod) is busy: execution ${OTHER} is RUNNING, deploying v1.4.1-0b1c2d3e4f5a since 2025-06-02 08:30:00 UTC`,
      );
      expect(r.stderr).toContain(`ebship follow ${OTHER}`);
      expect(sfn).not.toReceiveCommand(StartExecutionCommand);
    });

    it('finds a running execution for the target that has not taken the lock yet', async () => {
      // Arrange
      sfn.on(ListExecutionsCommand, { statusFilter: 'RUNNING' }).resolves({
        executions: [
          {
            executionArn: execArn('other-target'),
            name: 'other-target',
            stateMachineArn: STATE_MACHINE_ARN,
            status: 'RUNNING',
            startDate: new Date(),
          },
          {
            executionArn: execArn(OTHER),
            name: OTHER,
            stateMachineArn: STATE_MACHINE_ARN,
            status: 'RUNNING',
            startDate: new Date(),
          },
        ],
      });
      sfn.on(DescribeExecutionCommand, { executionArn: execArn('other-target') }).resolves({
        status: 'RUNNING',
        input: JSON.stringify({ target: 'treasury-plane-dev', imageTag: 'v2' }),
      });
      sfn.on(DescribeExecutionCommand, { executionArn: execArn(OTHER) }).resolves({
        status: 'RUNNING',
        startDate: new Date('2025-06-02T08:30:00Z'),
        input: JSON.stringify({ source: 'aws.ecr', detail: { 'repository-name': 'antenna-backend' } }),
      });

      // Act
      const r = await cli(['deploy', 'antenna-prod', '--tag', 'v1.4.2', '--json']);

      // Assert
      expect(r.code).toBe(ExitCode.Busy);
      expect(r.json()).toMatchObject({
        exitCode: 7,
        error: { code: 'environment-busy', executionName: OTHER, status: 'RUNNING' },
      });
      expect(sfn).toReceiveCommandWith(ListExecutionsCommand, {
        stateMachineArn: STATE_MACHINE_ARN,
        statusFilter: 'RUNNING',
      });
    });

    it('explains a lock left by an execution that is no longer running', async () => {
      // Arrange
      await table.db.send(
        new PutCommand({
          TableName: 'ebship-dev',
          Item: {
            ...LOCK_KEY,
            owner: execArn(OTHER),
            versionLabel: 'v1.4.1-0b1c2d3e4f5a',
            imageDigest: DIGEST,
            acquiredAt: '2025-06-02T08:30:00.000Z',
            leaseUntil: '2999-01-01T00:00:00.000Z',
          },
        }),
      );
      sfn.on(DescribeExecutionCommand, { executionArn: execArn(OTHER) }).resolves({ status: 'FAILED' });

      // Act
      const r = await cli(['deploy', 'antenna-prod', '--tag', 'v1.4.2']);

      // Assert
      expect(r.code).toBe(ExitCode.Busy);
      expect(r.stderr).toContain(`is locked by execution ${OTHER}, which is FAILED (not running)`);
      expect(r.stderr).toContain('aws dynamodb delete-item --table-name ebship-dev');
    });

    it('ignores a lock whose lease has run out', async () => {
      // Arrange
      await table.db.send(
        new PutCommand({
          TableName: 'ebship-dev',
          Item: {
            ...LOCK_KEY,
            owner: execArn(OTHER),
            versionLabel: 'x',
            imageDigest: DIGEST,
            acquiredAt: '2020-01-01T00:00:00.000Z',
            leaseUntil: '2020-01-01T03:00:00.000Z',
          },
        }),
      );

      // Act
      const r = await cli(['deploy', 'antenna-prod', '--tag', 'v1.4.2']);

      // Assert
      expect(r.code).toBe(ExitCode.Ok);
      expect(sfn).toReceiveCommand(StartExecutionCommand);
    });
  });
});
