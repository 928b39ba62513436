import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../cli/main.js';
import { loadConfig } from '../../lib/config/load.js';
import { logger } from '../../lib/logger.js';
import { listHistory } from '../../lib/store/deployments.js';
import { createClock } from '../../standin/clock.js';
import { freePort } from '../../standin/ports.js';
import { DEFAULT_NAMES } from '../../standin/provision.js';
import { loadRegistry, type PushOutcome, runScenario } from '../../standin/run-scenario.js';
import { type Scenario, scenarioSchema } from '../../standin/scenarios.js';
import type {
  HistoryEvent,
  TaskHandler,
  TaskHandlerResolver,
} from '../../standin/services/step-functions.js';
import type { World } from '../../standin/world.js';

/**
 * Manual approval of a promotion (issue 14) on the stand-in, through the real SDK clients and the real
 * state machine: WaitForApproval is a `lambda:invoke.waitForTaskToken` Task (Step Functions developer
 * guide, "Wait for a Callback with Task Token"); `ebship approve` answers with SendTaskSuccess,
 * `ebship reject` with SendTaskFailure (Step Functions API reference), and no answer within the
 * Task's TimeoutSecondsPath ends it with States.Timeout. Times are simulated seconds.
 *
 * Until ResolveRelease marks promotions itself (the lead's change), the release is marked here the
 * way it will be: trigger promotion, promotedFrom, approvalTimeoutSeconds.
 */

const ENV = { application: 'antenna', environment: 'antenna-prod' };
// Picked by the OS (a port derived from the pid could be taken, or fall in the ephemeral range).
const port = await freePort();
const STAGING = {
  target: 'antenna-staging',
  executionId: 'arn:aws:states:us-east-1:123456789012:execution:ebship-local-deploy:antenna-staging-v1.3.0',
};
const APPROVER = 'arn:aws:iam::123456789012:user/release-manager';

interface Promoted {
  push: PushOutcome;
  world: World;
  /** The APPROVAL item as the execution stored it (read while it waited). */
  item?: Record<string, unknown>;
  cli?: { code: number; stdout: string; stderr: string };
  history: { outcome: string; reason?: string; approvedBy?: string; approvedAt?: string }[];
  logs: string;
}

afterEach(() => {
  vi.restoreAllMocks();
  logger.setLogLevel('SILENT');
});

/** Everything the handlers log (Powertools writes to process.stdout), at every level. */
function captureLogs(): () => string {
  let text = '';
  logger.setLogLevel('DEBUG');
  vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array) => {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  }) as typeof process.stdout.write);
  return () => text;
}

async function ebship(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const sink = (key: 'stdout' | 'stderr') => ({
    write: (s: string) => {
      out[key] += s;
      return true;
    },
  });
  const code = await run([...argv, '--stage', 'local'], {
    stdout: sink('stdout'),
    stderr: sink('stderr'),
    env: { ...process.env, EBSHIP_CONFIG: 'ebship.yml' },
    cwd: process.cwd(),
  });
  return { code, ...out };
}

async function promote(options: {
  expect: 'SUCCEEDED' | 'FAILED';
  timeoutSeconds: number;
  faults?: unknown[];
  /** What a person does once the execution waits (nothing: it expires). */
  answer?: () => Promise<{ code: number; stdout: string; stderr: string }>;
  /** What a person does while the first WaitForApproval invocation still runs (after it stored the request). */
  answerDuringFirstRequest?: () => Promise<{ code: number; stdout: string; stderr: string }>;
}): Promise<Promoted> {
  const scenario: Scenario = {
    ...scenarioSchema.parse({
      description: 'a promotion that waits for manual approval',
      pushes: [{ tag: 'v1.3.0', expect: options.expect }],
      environment: { onUpdate: [{ durationSeconds: 240, result: 'deployed' }] },
      faults: options.faults ?? [],
    }),
    name: 'approval',
  };
  let world: World | undefined;
  let registry: TaskHandlerResolver | undefined;
  let item: Record<string, unknown> | undefined;
  let cli: Promoted['cli'];
  let history: Promoted['history'] = [];
  const logs = captureLogs();
  const outcome = await runScenario(scenario, {
    config: loadConfig('ebship.yml'),
    configPath: 'ebship.yml',
    clock: createClock(240),
    port,
    onReady: async (w) => {
      world = w;
      w.sts.callerArn = APPROVER;
      registry = await loadRegistry();
    },
    taskHandlers: (definition) => {
      if (!registry) throw new Error('registry not loaded');
      const handlers = registry(definition);
      const resolve = handlers.ResolveRelease;
      const request = handlers.WaitForApproval;
      if (!resolve || !request) throw new Error('no ResolveRelease or WaitForApproval');
      let requests = 0;
      return {
        ...handlers,
        WaitForApproval: async (input) => {
          const out = await request(input);
          requests += 1;
          if (requests === 1 && options.answerDuringFirstRequest)
            cli = await options.answerDuringFirstRequest();
          return out;
        },
        ResolveRelease: async (input) => {
          const out = (await resolve(input)) as { release?: Record<string, unknown> };
          return out.release
            ? {
                ...out,
                release: {
                  ...out.release,
                  trigger: 'promotion',
                  promotedFrom: STAGING,
                  approvalTimeoutSeconds: options.timeoutSeconds,
                },
              }
            : out;
        },
      } as Record<string, TaskHandler>;
    },
    follow: async (executionArn) => {
      const sfn = new SFNClient({});
      const db = DynamoDBDocumentClient.from(new DynamoDBClient({}));
      for (let i = 0; ; i++) {
        const { Item } = await db.send(
          new GetCommand({
            TableName: DEFAULT_NAMES.tableName,
            Key: { pk: 'ENV#antenna/antenna-prod', sk: 'APPROVAL' },
            ConsistentRead: true,
          }),
        );
        const { status } = await sfn.send(new DescribeExecutionCommand({ executionArn }));
        if (Item || status !== 'RUNNING' || i > 500) {
          item = Item;
          break;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      if (options.answer) cli = await options.answer();
      for (;;) {
        const { status } = await sfn.send(new DescribeExecutionCommand({ executionArn }));
        if (status !== 'RUNNING') break;
        await new Promise((r) => setTimeout(r, 20));
      }
      history = await listHistory(db, DEFAULT_NAMES.tableName, ENV);
    },
  });
  const push = outcome.pushes[0];
  if (!push || !world) throw new Error('no push ran');
  return { push, world, item, cli, history, logs: logs() };
}

const entered = (history: HistoryEvent[], state: string) =>
  history.some(
    (h) =>
      h.type.endsWith('StateEntered') && (h.stateEnteredEventDetails as { name?: string }).name === state,
  );

describe('manual approval of a promotion (stand-in, real SDK clients)', () => {
  it('waits for `ebship approve`, then deploys the same digest; history and the alert say who approved', {
    timeout: 60_000,
  }, async () => {
    const run = await promote({
      expect: 'SUCCEEDED',
      timeoutSeconds: 3600,
      answer: () => ebship(['approve', 'antenna-prod', '--comment', 'staging soaked overnight']),
    });

    expect(run.push.status).toBe('SUCCEEDED');
    expect(run.push.finalVersion).toMatch(/^v1\.3\.0-/);
    expect(run.cli?.code).toBe(0);
    expect(run.cli?.stdout).toMatch(
      /Approved v1\.3\.0-\w+ for antenna-prod as arn:aws:iam::123456789012:user\/release-manager/,
    );
    expect(run.cli?.stdout).toContain(`from      antenna-staging (execution antenna-staging-v1.3.0)`);
    expect(run.cli?.stdout).toMatch(/digest {4}sha256:[0-9a-f]{64}/);
    // The request's alert, then the deploy's: the request says what waits and how to answer.
    expect(run.push.alerts.map((a) => a.attributes.outcome)).toEqual(['APPROVAL_NEEDED', 'SUCCEEDED']);
    const request = run.push.alerts[0]?.message ?? '';
    expect(request).toMatch(/ebship approve antenna-prod/);
    expect(request).toMatch(/ebship reject antenna-prod --reason/);
    expect(request).toContain('antenna-staging (execution');
    expect(request).toMatch(/Expires: +\d{4}-\d\d-\d\dT/);
    expect(run.push.alerts[1]?.message).toMatch(
      /Approved: +by arn:aws:iam::123456789012:user\/release-manager at .*\("staging soaked overnight"\)/,
    );
    expect(run.history[0]).toMatchObject({ outcome: 'SUCCEEDED', approvedBy: APPROVER });
    expect(run.history[0]?.approvedAt).toMatch(/^\d{4}-/);
    // The token: stored for the CLI, and nowhere a person or a log reader sees it.
    const token = String(run.item?.taskToken ?? '');
    expect(token.length).toBeGreaterThan(20);
    for (const alert of run.push.alerts) expect(JSON.stringify(alert)).not.toContain(token);
    expect(`${run.cli?.stdout}${run.cli?.stderr}`).not.toContain(token);
    expect(run.logs).toContain('waiting for manual approval');
    expect(run.logs).not.toContain(token);
  });

  // The first WaitForApproval invocation stores the request, then fails after it ran (its reply
  // lost): Step Functions retries with a new token. The approval may reach either attempt: the
  // first one's token while its invocation still runs (then that attempt fails anyway), or the
  // retry's. Either way it answers the wait, and on-call is asked once.
  it.each([
    { when: 'to whichever attempt it found', during: false },
    { when: 'while the first invocation ran', during: true },
  ])(
    'a lost Lambda reply: the approval given $when still answers the wait, with one request alert',
    {
      timeout: 60_000,
    },
    async ({ during }) => {
      const approve = () => ebship(['approve', 'antenna-prod', '--comment', 'looks good']);
      const run = await promote({
        expect: 'SUCCEEDED',
        timeoutSeconds: 3600,
        faults: [{ fault: 'error-after', service: 'lambda', operation: 'WaitForApproval' }],
        ...(during ? { answerDuringFirstRequest: approve } : { answer: approve }),
      });

      expect(run.push.faults.map((f) => `${f.fault} ${f.operation}`)).toEqual([
        'error-after WaitForApproval',
      ]);
      expect(run.cli?.code).toBe(0);
      expect(run.push.status).toBe('SUCCEEDED');
      expect(run.push.finalVersion).toMatch(/^v1\.3\.0-/);
      expect(run.push.alerts.map((a) => a.attributes.outcome)).toEqual(['APPROVAL_NEEDED', 'SUCCEEDED']);
      expect(run.push.alerts[1]?.message).toMatch(
        /Approved: +by arn:aws:iam::123456789012:user\/release-manager .*\("looks good"\)/,
      );
      expect(run.history[0]).toMatchObject({ outcome: 'SUCCEEDED', approvedBy: APPROVER });
      if (during) expect(run.logs).toContain('the answer is forwarded to the retried wait');
    },
  );

  it('`ebship reject --reason` ends it NOT_APPROVED: no change to the environment, history says who and why', {
    timeout: 60_000,
  }, async () => {
    const run = await promote({
      expect: 'FAILED',
      timeoutSeconds: 3600,
      answer: () => ebship(['reject', 'antenna-prod', '--reason', 'release notes not signed off']),
    });

    expect(run.push).toMatchObject({ status: 'FAILED', error: 'NotApproved' });
    expect(run.push.updatesApplied.filter((l) => l.startsWith('v1.3.0-'))).toEqual([]);
    expect(entered(run.push.history, 'AcquireLock')).toBe(false);
    expect(run.cli?.code).toBe(0);
    expect(run.cli?.stdout).toMatch(
      /Rejected v1\.3\.0-\w+ for antenna-prod as .*release-manager: release notes not signed off/,
    );
    expect(run.history[0]).toMatchObject({
      outcome: 'NOT_APPROVED',
      reason: `rejected by ${APPROVER}: release notes not signed off`,
    });
    expect(run.push.alerts.map((a) => a.attributes.outcome)).toEqual(['APPROVAL_NEEDED', 'NOT_APPROVED']);
    expect(run.push.alerts[1]?.message).toMatch(/was not deployed \(rejected by .*release-manager/);
    expect(run.push.alerts[1]?.message).toMatch(/the environment antenna-prod was not changed/);
  });

  it('no answer within promote.timeoutSeconds ends it NOT_APPROVED through the Task timeout, unchanged', {
    timeout: 60_000,
  }, async () => {
    const run = await promote({ expect: 'FAILED', timeoutSeconds: 300 });

    expect(run.push).toMatchObject({ status: 'FAILED', error: 'NotApproved' });
    expect(run.push.updatesApplied.filter((l) => l.startsWith('v1.3.0-'))).toEqual([]);
    expect(run.history[0]).toMatchObject({ outcome: 'NOT_APPROVED', reason: 'no answer within 300 s' });
    // The wait lasted the timeout, in simulated time (plus the Lambda's own simulated second).
    expect(run.push.simulatedSeconds).toBeGreaterThanOrEqual(300);
    expect(run.push.alerts.map((a) => a.attributes.outcome)).toEqual(['APPROVAL_NEEDED', 'NOT_APPROVED']);
  });
});
