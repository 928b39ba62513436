// The harness must load first: it points the DynamoDB client at the in-process dynalite.

import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { getLock } from '../../lib/store/deployments.js';
import { handlerOf, type Phase, states, taskPhases, tasksRunning } from './asl-graph.js';
import { behaviours, digest, FakeAws, type RunResult, runDeploy, startDynamo } from './harness.js';

/**
 * Every Task state fails in turn, and the run must end where the safety promise says:
 * before DeployVersion, "failed before deploy" with EB untouched; once the new version may be live,
 * a rollback (or ROLLBACK FAILED), never "Deployed" or "DeploymentFailed".
 * Each Task's phase comes from the graph (asl-graph.ts), so new states are covered as they are added.
 */

const ENV = { application: 'antenna', environment: 'antenna-prod' };
const TABLE = process.env.TABLE_NAME ?? '';
const db = DynamoDBDocumentClient.from(
  new DynamoDBClient({ endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB }),
);
const pushEvent = JSON.parse(readFileSync('test/fixtures/events/ecr-push.json', 'utf8'));
const push = (tag: string, n: number) => ({
  ...pushEvent,
  detail: { ...pushEvent.detail, 'image-tag': tag, 'image-digest': digest(n) },
});
const label = (tag: string, n: number) => `${tag}-${digest(n).slice(7, 19)}`;
const GOOD = label('v10', 10);
const NEW = label('v11', 11);

/** Scenarios for the v11 deploy that follows a good v10, in the order tried: the first that enters a state is used. */
const scenarios: Record<string, (aws: FakeAws) => void> = {
  healthy: () => undefined,
  red: (aws) => {
    aws.behaviourFor[NEW] = behaviours.redAfterReady;
  },
  neverConverges: (aws) => {
    aws.behaviourFor[NEW] = behaviours.neverConverges;
  },
  // Issue 14: v11 is a promotion to a target with `promote.approval: manual`. Until ResolveRelease
  // sets it from ebship.yml, the test marks the release the way it will.
  approval: () => {
    promoted = true;
  },
};
let promoted = false;

/** ResolveRelease's result as it is for a promotion that needs manual approval. */
async function asPromotion(result: Promise<unknown>): Promise<unknown> {
  const out = (await result) as { release?: Record<string, unknown> };
  if (!out.release) return out;
  return {
    ...out,
    release: {
      ...out.release,
      trigger: 'promotion',
      promotedFrom: {
        target: 'antenna-staging',
        executionId: 'arn:aws:states:us-east-1:123456789012:execution:ebship-test-deploy:staging-1',
      },
      approvalTimeoutSeconds: 600,
    },
  };
}

type Mode = 'named' | 'unnamed' | 'after';
/**
 * - named: the handler throws an error its Catch names (or InputInvalid, which every handler raises) before doing anything;
 * - unnamed: a plain Error (matched only by States.ALL) before doing anything;
 * - after: the handler did its work, then Lambda reported a failure: Lambda.Unknown is what Step Functions
 *   reports for a function timeout or out-of-memory (AWS Step Functions developer guide, "Handle Lambda service exceptions").
 */
function faultFor(state: string, mode: Mode): Error {
  if (mode === 'unnamed') return new Error(`injected failure in ${state}`);
  if (mode === 'after')
    return Object.assign(new Error('Task timed out after 60.00 seconds'), { name: 'Lambda.Unknown' });
  // LockLost has its own route and test (definition.test.ts): this picks the error a failing step names.
  const named = (states[state]?.Catch ?? [])
    .flatMap((c) => c.ErrorEquals)
    .find((e) => e !== 'States.ALL' && e !== 'LockLost');
  return Object.assign(new Error(`injected ${named ?? 'InputInvalid'} in ${state}`), {
    name: named ?? 'InputInvalid',
  });
}

interface Outcome {
  run: RunResult;
  aws: FakeAws;
  lockOwner?: string;
  scenario: string;
}

const scenarioFor = new Map<string, string>();

/** Deploys v10 (good), then pushes v11 with `state` failing in `mode`; tries each scenario until one enters `state`. */
async function failIn(state: string, mode: Mode): Promise<Outcome> {
  const order = Object.keys(scenarios);
  const known = scenarioFor.get(state);
  for (const scenario of known ? [known] : order) {
    const stop = await startDynamo();
    try {
      const aws = new FakeAws().withGoodSecrets();
      aws.images = [
        { repository: 'antenna-backend', tag: 'v10', digest: digest(10), pushedAt: '2026-11-23T09:00:00Z' },
        { repository: 'antenna-backend', tag: 'v11', digest: digest(11), pushedAt: '2026-11-23T09:30:00Z' },
      ];
      const first = await runDeploy(push('v10', 10));
      expect(first.status).toBe('SUCCEEDED');
      aws.published = [];
      promoted = false;
      scenarios[scenario]?.(aws);
      let entered = false;
      const run = await runDeploy(push('v11', 11), {
        wrapTask: (name, handler) => async (input) => {
          // Time passes between attempts (the harness zeroes waits and retry intervals): EB moves on.
          aws.advance();
          if (promoted && name === 'ResolveRelease') return asPromotion(handler(input));
          if (name !== state) return handler(input);
          entered = true;
          if (mode === 'after') await handler(input);
          throw faultFor(state, mode);
        },
      });
      if (!entered) continue;
      scenarioFor.set(state, scenario);
      return { run, aws, scenario, lockOwner: (await getLock(db, TABLE, ENV))?.owner };
    } finally {
      await stop();
    }
  }
  throw new Error(`no scenario enters ${state}: add one to catch-routes.test.ts`);
}

const phases = taskPhases();
const cases = Object.entries(phases).flatMap(([state, phase]) =>
  (['named', 'unnamed', 'after'] as const).map((mode) => ({ state, phase, mode })),
);

function expectOneAlert(aws: FakeAws, subject: RegExp): void {
  expect(aws.published.map((p) => p.subject)).toEqual([expect.stringMatching(subject)]);
}

const expectations: Record<Phase, (o: Outcome, mode: Mode) => void> = {
  'before-deploy': ({ run, aws, scenario }, mode) => {
    // A rejection (the error WaitForApproval's Catch names) ends NOT_APPROVED, also unchanged.
    const notApproved = scenario === 'approval' && mode === 'named';
    expect(run).toMatchObject({ status: 'FAILED', error: notApproved ? 'NotApproved' : 'DeploymentFailed' });
    expect(aws.updates).toEqual([GOOD]);
    expect(aws.env).toMatchObject({ versionLabel: GOOD, color: 'Green' });
    // The approval request's alert went out before its Lambda's reply was lost ('after'): then the
    // outcome's alert is the second.
    if (scenario === 'approval' && mode === 'after') {
      expect(aws.published[0]?.subject).toMatch(/APPROVAL NEEDED/);
      aws.published.shift();
    }
    expect(aws.published).toHaveLength(1);
    expect(aws.published[0]?.message).toMatch(
      /(the environment \S+|no environment) was not changed|no environment was changed/,
    );
  },
  deploy: ({ run, aws }, mode) => {
    const updated = aws.updates.includes(NEW);
    if (mode !== 'after') expect(updated).toBe(false);
    if (run.status === 'SUCCEEDED') {
      expect(aws.env).toMatchObject({ versionLabel: NEW, color: 'Green' });
    } else if (run.error === 'DeploymentFailed') {
      // Only when EB never accepted the update.
      expect(updated).toBe(false);
      expect(aws.env.versionLabel).toBe(GOOD);
    } else {
      expect(run.error).toBe('DeploymentRolledBack');
      expect(aws.env).toMatchObject({ versionLabel: GOOD, color: 'Green' });
    }
    // EB answered with an error the Catch names: it changed nothing, so it is "failed before deploy".
    if (mode === 'named') expect(run.error).toBe('DeploymentFailed');
    expect(aws.published).toHaveLength(1);
  },
  'after-deploy': ({ run, aws }, mode) => {
    expect(run.status).toBe('FAILED');
    expect(run.path.some((s) => tasksRunning('RollBack').includes(s))).toBe(true);
    if (run.error === 'DeploymentRolledBack') {
      // The rollback was watched to a verdict, like any deploy (EB may have reverted by itself, after
      // an abort: then nothing was redeployed, and the watch verified it).
      expect(run.error).toBe('DeploymentRolledBack');
      expect(aws.env).toMatchObject({ versionLabel: GOOD, color: 'Green' });
      expectOneAlert(aws, /ROLLED BACK/);
    } else {
      expect(run.error).toBe('RollbackFailed');
      expectOneAlert(aws, /ROLLBACK FAILED/);
    }
    // The step's work was done before Lambda failed: the environment is free to roll back.
    if (mode === 'after') expect(run.error).toBe('DeploymentRolledBack');
  },
  rollback: ({ run, aws }) => {
    expect(run.status).toBe('FAILED');
    if (run.error === 'DeploymentRolledBack') {
      expect(aws.env).toMatchObject({ versionLabel: GOOD, color: 'Green' });
      expectOneAlert(aws, /ROLLED BACK/);
    } else {
      expect(run.error).toBe('RollbackFailed');
      expectOneAlert(aws, /ROLLBACK FAILED/);
    }
  },
  report: ({ run, aws, scenario }, mode) => {
    // History, the log tail and the alert report the outcome; their failure never changes it. The
    // log tail steps run only after a rollback (scenario "red"), the others on every outcome.
    if (scenario === 'healthy') {
      expect(run.status).toBe('SUCCEEDED');
      expect(aws.env).toMatchObject({ versionLabel: NEW, color: 'Green' });
    } else {
      expect(scenario).toBe('red');
      expect(run).toMatchObject({ status: 'FAILED', error: 'DeploymentRolledBack' });
      expect(aws.env).toMatchObject({ versionLabel: GOOD, color: 'Green' });
    }
    const notifyFailedFirst = tasksRunning('Notify').length > 0 && mode !== 'after';
    if (!notifyFailedFirst) expect(aws.published).toHaveLength(1);
  },
};

describe('every Catch route of the deploy workflow', () => {
  it('classifies the Tasks on both sides of DeployVersion', () => {
    expect(Object.values(phases)).toEqual(
      expect.arrayContaining(['before-deploy', 'deploy', 'after-deploy', 'rollback', 'report']),
    );
    // The release phase runs before UpdateEnvironment: its failures must end "failed before deploy".
    for (const name of [
      'ResolveRelease',
      'ValidateSecrets',
      'BuildBundle',
      'CreateAppVersion',
      'StartRelease',
      'CheckRelease',
    ])
      expect.soft(phases[name], name).toBe('before-deploy');
    for (const name of [
      'CheckHealth',
      'WaitForHealthEvent',
      'StartMigrationCheck',
      'CheckMigration',
      'StartChecks',
      'CheckChecks',
    ])
      expect.soft(phases[name], name).toBe('after-deploy');
  });

  it.each(cases)(
    '$state fails ($mode): the run ends as a $phase failure must',
    async ({ state, phase, mode }) => {
      const outcome = await failIn(state, mode);
      const eventLoop = handlerOf(states[state]) === 'RegisterWatch' || state === 'CheckHealthAfterWait';
      if (eventLoop && phase === 'after-deploy') {
        // The event-driven watch's wait (issue 13), or its look after the wait, failing is no verdict:
        // the watch falls back to the plain poll (CheckHealth), and health decides as it would have
        // (the first scenario tried is healthy).
        expect(outcome.scenario).toBe('healthy');
        expect(outcome.run.status).toBe('SUCCEEDED');
        expect(outcome.aws.env).toMatchObject({ versionLabel: NEW, color: 'Green' });
        expect(outcome.run.path).toContain('WaitForHealth');
        expectOneAlert(outcome.aws, /Deployed/);
      } else expectations[phase](outcome, mode);
      // Every execution that took the lock gives it back, whatever failed; RecordOutcome is the step that
      // releases it, so its own failure leaves the lock to its lease.
      if (handlerOf(states[state]) === 'RecordOutcome' && mode !== 'after') return;
      expect(outcome.lockOwner).toBeUndefined();
    },
  );
});
