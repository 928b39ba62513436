import { ECRClient } from '@aws-sdk/client-ecr';
import { ElasticBeanstalkClient } from '@aws-sdk/client-elastic-beanstalk';
import { SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../cli/exit-codes.js';
import { recordDeployment } from '../../lib/store/deployments.js';
import { cli, DIGEST, execArn, type LocalTable, pointSdkAt, startTable } from './harness.js';
import { EXECUTION_NAME, HistoryBuilder } from './history-events.js';
import { serveExecution, stateMachineDeployed } from './sfn-fake.js';

/**
 * Text that came from the application (check output, EB events, error causes) reaches a terminal
 * and scripts only through the masking function: no terminal escapes that could rewrite the screen
 * or forge lines, and no secret the app printed.
 */

const sfn = mockClient(SFNClient);
const eb = mockClient(ElasticBeanstalkClient);
const ecr = mockClient(ECRClient);
const ESC = '\u001b';
const PASSWORD = 'hunter2-CANARY';
// Clear screen, a fake green line, an OSC title change and a credential.
const HOSTILE = `${ESC}[2J${ESC}[32mDeployed (SUCCEEDED)${ESC}[0m ${ESC}]0;pwned${ESC}\\ DATABASE_URL=postgres://app:${PASSWORD}@db/app`;
let table: LocalTable;

beforeAll(async () => {
  table = await startTable();
  await recordDeployment(table.db, 'ebship-dev', {
    target: 'antenna-prod',
    application: 'antenna',
    environment: 'antenna-prod',
    imageUri: `r/antenna-backend@${DIGEST}`,
    executionId: execArn('hostile'),
    trigger: 'push',
    fromVersion: 'v1.4.1-0b1c2d3e4f5a',
    toVersion: 'v1.4.2-3f2a9c1b7d4e',
    outcome: 'ROLLED_BACK',
    reason: `MigrationsPending: ${HOSTILE}`,
    startedAt: '2025-06-02T09:00:00.000Z',
    endedAt: '2025-06-02T09:07:05.000Z',
    durationSeconds: 425,
  });
});
afterAll(async () => {
  await table.close();
});
beforeEach(() => {
  sfn.reset();
  eb.reset();
  ecr.reset();
  pointSdkAt(table);
});

describe('ebship history', () => {
  it('prints a reason without terminal escapes or the secret it quoted', async () => {
    const r = await cli(['history', 'antenna-prod']);

    expect(r.code).toBe(ExitCode.Ok);
    expect(r.stdout).toContain('DATABASE_URL=postgres://app:***@db/app');
    expect(r.stdout).not.toContain(ESC);
    expect(r.stdout).not.toContain(PASSWORD);
  });

  it('masks the reason in --json too', async () => {
    const r = await cli(['history', 'antenna-prod', '--json']);

    const reason = r.json<{ entries: { reason: string }[] }>().entries[0]?.reason;
    expect(reason).toBe('MigrationsPending: Deployed (SUCCEEDED)  DATABASE_URL=postgres://app:***@db/app');
    expect(r.stdout).not.toContain(PASSWORD);
  });
});

describe('ebship follow', () => {
  it('prints a caught error that quotes app output without its escapes or secrets', async () => {
    stateMachineDeployed(sfn);
    const b = new HistoryBuilder();
    const input = { target: 'antenna-prod', imageTag: 'v1.4.2' };
    b.started(input).pass('Start', { input });
    b.caught('ResolveRelease', { input }, 'ImageNotFound', HOSTILE);
    const state = { input, error: { Error: 'ImageNotFound' }, outcome: { status: 'FAILED_BEFORE_DEPLOY' } };
    b.pass('MarkFailedBeforeDeploy', state).fail('DeployFailed', state, 'DeploymentFailed', HOSTILE);
    serveExecution(sfn, { arn: execArn(EXECUTION_NAME), name: EXECUTION_NAME, events: b.events });

    const text = await cli(['follow', EXECUTION_NAME]);
    const json = await cli(['follow', EXECUTION_NAME, '--json']);

    expect(text.code).toBe(ExitCode.FailedBeforeDeploy);
    expect(text.stdout).toContain('DATABASE_URL=postgres://app:***@db/app');
    for (const out of [text.stdout, text.stderr, json.stdout]) {
      expect(out).not.toContain(ESC);
      expect(out).not.toContain(PASSWORD);
    }
  });
});

describe('ebship follow on a state without a release', () => {
  // Issue 10: a typo in ebship.yml once made follow print "undefined for undefined/undefined".
  it('never prints "undefined"', async () => {
    stateMachineDeployed(sfn);
    const b = new HistoryBuilder();
    const input = { target: 'antenna-prod', imageTag: 'v1.4.2' };
    b.started(input).pass('Start', { input });
    b.task('ResolveRelease', { input }, { input, resolved: {} });
    const state = { input, error: { Error: 'ConfigInvalid' }, outcome: { status: 'FAILED_BEFORE_DEPLOY' } };
    b.pass('MarkFailedBeforeDeploy', state).fail('DeployFailed', state, 'DeploymentFailed', 'stopped');
    serveExecution(sfn, { arn: execArn(EXECUTION_NAME), name: EXECUTION_NAME, events: b.events });

    const r = await cli(['follow', EXECUTION_NAME]);

    expect(r.stdout).toMatch(/done\s+ResolveRelease\s+no release resolved/);
    expect(r.stdout).not.toContain('undefined');
  });
});
