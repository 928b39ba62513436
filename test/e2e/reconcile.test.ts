import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load.js';
import type { ReconcileReport } from '../../lib/steps/reconcile.js';
import { listHistory } from '../../lib/store/deployments.js';
import { createClock } from '../../standin/clock.js';
import { freePort } from '../../standin/ports.js';
import { DEFAULT_NAMES } from '../../standin/provision.js';
import { runScenario } from '../../standin/run-scenario.js';
import { loadScenario } from '../../standin/scenarios.js';

/**
 * The reconciler on the stand-in, through the real SDK clients, the real state machine and the
 * scheduled rule of infra/events.yml on the simulated clock: ECR events are best effort
 * (EventBridge user guide: events are delivered "best effort"), so a lost push must still deploy,
 * exactly once, and a version deployed behind ebship's back must alert once.
 */
const config = loadConfig('ebship.yml');
const port = await freePort();
const ENV = { application: 'antenna', environment: 'antenna-prod' };

async function ended(sfn: SFNClient, executionArn: string): Promise<string> {
  for (;;) {
    const { status } = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (status !== 'RUNNING') return status ?? '';
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('reconciler end to end', () => {
  it('deploys a push whose ECR event was lost, once, even when the late event arrives too; a target it cannot read does not stop it', {
    timeout: 90_000,
  }, async () => {
    let late: { status: string; states: string[]; history: string[] } | undefined;
    let report: ReconcileReport | undefined;
    const outcome = await runScenario(loadScenario('lost-push'), {
      config,
      configPath: 'ebship.yml',
      clock: createClock(240),
      port,
      follow: async (executionArn) => {
        const sfn = new SFNClient({});
        const { input, name } = await sfn.send(new DescribeExecutionCommand({ executionArn }));
        const { imageDigest, imageTag } = JSON.parse(input ?? '{}') as Record<string, string>;
        // The lost event, delivered late after all: EventBridge starts an execution with the event.
        const event = {
          version: '0',
          id: 'late-0000',
          'detail-type': 'ECR Image Action',
          source: 'aws.ecr',
          account: '123456789012',
          time: new Date().toISOString(),
          region: 'us-east-1',
          resources: [],
          detail: {
            result: 'SUCCESS',
            'repository-name': 'antenna-backend',
            'image-digest': imageDigest,
            'action-type': 'PUSH',
            'image-tag': imageTag,
          },
        };
        const machine = executionArn.replace(':execution:', ':stateMachine:').replace(`:${name}`, '');
        const { executionArn: lateArn = '' } = await sfn.send(
          new StartExecutionCommand({ stateMachineArn: machine, input: JSON.stringify(event) }),
        );
        await ended(sfn, executionArn);
        const status = await ended(sfn, lateArn);
        const { events = [] } = await sfn.send(new GetExecutionHistoryCommand({ executionArn: lateArn }));
        const db = DynamoDBDocumentClient.from(new DynamoDBClient({}));
        late = {
          status,
          states: events.flatMap((e) =>
            e.stateEnteredEventDetails?.name ? [e.stateEnteredEventDetails.name] : [],
          ),
          history: (await listHistory(db, DEFAULT_NAMES.tableName, ENV)).map(
            (h) => `${h.outcome} ${h.reason ?? ''}`,
          ),
        };
        // One more run of the reconciler, by hand, while the stand-in still runs: treasury-plane-dev
        // (in ebship.yml, never provisioned here) has no repository and no environment.
        const { handler } = await import('../../functions/reconcile.js');
        report = await handler({ source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} });
      },
    });

    const push = outcome.pushes[0];
    expect(push?.status).toBe('SUCCEEDED');
    expect(push?.finalVersion).toMatch(/^v1\.3\.0-/);
    // One deploy of the lost push: the late event's execution stopped at the PUSH# marker.
    expect(push?.updatesApplied.filter((l) => l.startsWith('v1.3.0-'))).toHaveLength(1);
    expect(late?.status).toBe('SUCCEEDED');
    expect(late?.states).toContain('Skipped');
    expect(late?.states).not.toContain('DeployVersion');
    expect(late?.history.some((h) => /^SKIPPED duplicate push/.test(h))).toBe(true);
    expect(push?.alerts.map((a) => a.subject)).toEqual([
      expect.stringMatching(/Deployed: antenna-prod v1\.3\.0-/),
    ]);
    expect(report?.targets.find((t) => t.target === 'treasury-plane-dev')?.error).toMatch(
      /RepositoryNotFoundException[\s\S]*treasury-plane-dev/,
    );
    expect(report?.targets.find((t) => t.target === 'antenna-prod')).toMatchObject({
      image: { action: 'none' },
      drift: { action: 'in-line' },
    });
  });

  it('alerts DRIFT once when the previous version is deployed by hand, however often it runs', {
    timeout: 90_000,
  }, async () => {
    const outcome = await runScenario(loadScenario('drift'), {
      config,
      configPath: 'ebship.yml',
      clock: createClock(240),
      port,
    });

    expect(outcome.pushes[0]?.status).toBe('SUCCEEDED');
    const alerts = outcome.afterPushes?.alerts ?? [];
    expect(alerts.map((a) => a.attributes.outcome)).toEqual(['DRIFT']);
    expect(alerts[0]?.attributes).toMatchObject({
      severity: 'warning',
      target: 'antenna-prod',
      environment: 'antenna-prod',
    });
    expect(alerts[0]?.subject).toMatch(
      /^\[ebship\] DRIFT: antenna-prod runs v1\.2\.0-\w+, not v1\.3\.0-\w+$/,
    );
    // Deploy, then 20 minutes: the reconciler ran several times after the drift and stayed quiet.
    expect(outcome.scheduledRuns).toBeGreaterThanOrEqual(5);
    expect(outcome.passed).toBe(true);
  });
});
