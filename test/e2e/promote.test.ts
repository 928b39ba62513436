import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load.js';
import { type HistoryEntry, listHistory } from '../../lib/store/deployments.js';
import { getProof, type Proof } from '../../lib/store/promotion.js';
import { createClock } from '../../standin/clock.js';
import { freePort } from '../../standin/ports.js';
import { DEFAULT_NAMES } from '../../standin/provision.js';
import { type PushOutcome, runScenario } from '../../standin/run-scenario.js';
import { loadScenario, scenarioConfigPath } from '../../standin/scenarios.js';
import type { World } from '../../standin/world.js';

/**
 * Promotion end to end (issue 14): antenna-staging → antenna-prod of the same digest, through the
 * project's ECR rule, the real state machine and handlers, and the unchanged SDK clients on the
 * stand-in. The push matches both targets (staging takes every tag, prod v*): prod's own copy must
 * be skipped as unproven, and prod changes only through the promotion a staging success starts.
 */
const port = await freePort();
const STAGING = { application: 'antenna', environment: 'antenna-staging' };
const PROD = { application: 'antenna', environment: 'antenna-prod' };

/**
 * Runs a scenario; after each execution ends (the push's, then the promotion's), reads prod's history
 * and staging's proof through the real client, while the stand-in still runs.
 */
async function run(name: string, onReady?: (world: World) => Promise<void>) {
  const scenario = loadScenario(name);
  const configPath = scenarioConfigPath(scenario, 'ebship.yml');
  let state: { prod: HistoryEntry[]; proof: Proof | undefined; digest: string } | undefined;
  const outcome = await runScenario(scenario, {
    config: loadConfig(configPath),
    configPath,
    clock: createClock(240),
    port,
    ...(onReady ? { onReady } : {}),
    follow: async (executionArn) => {
      const sfn = new SFNClient({});
      for (;;) {
        const { status, input } = await sfn.send(new DescribeExecutionCommand({ executionArn }));
        if (status !== 'RUNNING') {
          // A promotion's input names the digest; the push's is the ECR event.
          const given = JSON.parse(input ?? '{}') as {
            imageDigest?: string;
            detail?: Record<string, string>;
          };
          const digest = given.imageDigest ?? given.detail?.['image-digest'] ?? '';
          if (digest) state = { ...(await tableState(digest)), digest };
          break;
        }
        await new Promise((r) => setTimeout(r, 25));
      }
      sfn.destroy();
    },
  });
  return { outcome, state };
}

/** Prod's history and staging's proof of `digest`, through the real client. */
async function tableState(digest: string) {
  const db = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  const prod = await listHistory(db, DEFAULT_NAMES.tableName, PROD, 10);
  const proof = await getProof(db, DEFAULT_NAMES.tableName, STAGING, digest);
  db.destroy();
  return { prod, proof };
}

describe('promotion end to end', () => {
  it('deploys the digest that succeeded on staging to production, in its own execution, after its copy of the push was skipped', {
    timeout: 120_000,
  }, async () => {
    const { outcome, state } = await run('promote');
    const push = outcome.pushes[0] as PushOutcome;
    // Production waited for approval (promote.approval: manual): on-call got the alert and ran
    // `ebship approve antenna-prod`, the real CLI in a process of its own, once.
    const answers = push.promoted?.answers ?? [];
    expect(answers.map((a) => [a.argv, a.code])).toEqual([[['approve', 'antenna-prod'], 0]]);
    expect(answers[0]?.output).toMatch(/^Approved v1\.5\.0-\w+ for antenna-prod as arn:aws:iam::/);

    expect(push.status).toBe('SUCCEEDED');
    expect(push.finalVersion).toMatch(/^v1\.5\.0-/);
    expect(push.promoted).toMatchObject({ target: 'antenna-prod', status: 'SUCCEEDED', passed: true });
    expect(push.promoted?.input).toMatchObject({
      target: 'antenna-prod',
      imageTag: 'v1.5.0',
      trigger: 'promotion',
      promotedFrom: { target: 'antenna-staging' },
    });
    // The same digest, so the same version label, now on production.
    expect(push.promoted?.finalVersion).toBe(push.finalVersion);
    expect(push.promoted?.input?.imageDigest).toBe(state?.digest);
    expect(state?.proof?.versionLabel).toBe(push.finalVersion);
    const rows = state?.prod ?? [];
    expect(rows.find((r) => r.trigger === 'promotion')).toMatchObject({
      outcome: 'SUCCEEDED',
      toVersion: push.finalVersion,
      promotedFrom: 'antenna-staging',
      approvedBy: expect.stringMatching(/^arn:aws:iam::\d{12}:user\//),
    });
    expect(rows.find((r) => r.trigger === 'push')).toMatchObject({
      outcome: 'SKIPPED',
      reason: expect.stringContaining('has not succeeded on antenna-staging'),
    });
    expect(outcome.passed).toBe(true);
  });

  it('starts the promotion once when the StartExecution reply is lost after it took effect, and the SDK sends it again', {
    timeout: 120_000,
  }, async () => {
    let world: World | undefined;
    // The push's fan-out to prod is the first StartExecution; the promotion's is the second.
    const { outcome } = await run('promote', async (w) => {
      world = w;
      w.faults.add({ fault: 'reply-lost', service: 'states', operation: 'StartExecution', skip: 1 });
    });
    const push = outcome.pushes[0] as PushOutcome;

    expect(push.faults.map((f) => `${f.fault} ${f.operation}`)).toContain('reply-lost StartExecution');
    const promotions = [...(world as World).sfn.executions.values()].filter((e) =>
      e.input.includes('"trigger":"promotion"'),
    );
    expect(promotions).toHaveLength(1);
    // Staging's success alert says what it started, not that the promotion failed to start.
    const staging = push.alerts.find((a) => a.subject?.includes('Deployed: antenna-staging'));
    expect(staging?.message).toContain('Promoting to antenna-prod');
    expect(staging?.message).not.toContain('did not start');
    expect(push.promoted).toMatchObject({ status: 'SUCCEEDED', passed: true });
    expect(push.promoted?.finalVersion).toBe(push.finalVersion);
  });

  it('leaves production untouched when staging rolls back', { timeout: 120_000 }, async () => {
    const { outcome, state } = await run('promote-after-rollback');
    const push = outcome.pushes[0] as PushOutcome;
    expect(state?.proof).toBeUndefined();
    expect(state?.prod.map((r) => r.outcome)).toEqual(['SKIPPED']);

    expect(push.error).toBe('DeploymentRolledBack');
    expect(push.promoted).toMatchObject({ status: 'NONE', passed: true });
    expect(push.promoted?.finalVersion).toMatch(/^v1\.2\.0-/);
    expect(outcome.passed).toBe(true);
  });
});
