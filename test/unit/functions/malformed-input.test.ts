import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { handlersBySubstitution } from '../../../functions/registry.js';
import type { DeployState } from '../../../lib/workflow-state.js';
import {
  deploy,
  EXECUTION,
  lambdaContext,
  mocks,
  pushEvent,
  STARTED,
  STATE_MACHINE,
  stateBeforeDeploy,
  watchStart,
} from './fixtures.js';

/**
 * Every handler, fed malformed state: it fails as InputInvalid, never with a TypeError, and makes no
 * mutating AWS call (issue 8: generated malformed input crashed Notify, BuildBundle and RecordOutcome,
 * and made RecordOutcome write history, StartMigrationCheck send a command, CreateAppVersion run with
 * no bundle).
 *
 * EBSHIP_FUZZ_RUNS sets the inputs per handler: 1,000 by default (a few seconds in `npm test`);
 * `EBSHIP_FUZZ_RUNS=10000 npx vitest run test/unit/functions/malformed-input.test.ts` for the full
 * fuzz (about a minute on an idle machine). fast-check prints the seed and the shrunk input on failure.
 */
const RUNS = Number(process.env.EBSHIP_FUZZ_RUNS ?? 1000);

// Every client answers every command with an empty reply, so accepted inputs run on without a network.
const dynamoMocks = [mockClient(DynamoDBClient), mockClient(DynamoDBDocumentClient)];
const allMocks = [...Object.values(mocks), ...dynamoMocks];
beforeAll(() => {
  for (const m of allMocks) {
    m.reset();
    // The mocks' types differ per client; each accepts an empty reply.
    (m as unknown as { onAnyCommand(): { resolves(reply: object): unknown } }).onAnyCommand().resolves({});
  }
});

/** Commands that change something in AWS (EB, S3, SSM, SNS, Step Functions, DynamoDB). */
const MUTATING =
  /^(Update|Create|Put|Delete|Abort|Send|Publish|Start|Stop|Terminate|Restart|Rebuild|Swap|BatchWrite|TransactWrite)/;

function mutatingCalls(): string[] {
  return allMocks.flatMap((m) =>
    m
      .calls()
      .map((c) => (c.args[0] as { constructor: { name: string } }).constructor.name)
      .filter((name) => MUTATING.test(name)),
  );
}

/** A state as late in the workflow as it gets, so every handler finds what it needs. */
const fullState: DeployState & Record<string, unknown> = {
  ...stateBeforeDeploy(),
  phase: 'deploy',
  deploy,
  health: { ...watchStart, verdict: 'healthy', polls: 9, convergedAt: '2026-11-23T10:02:00.000Z' },
  migration: {
    status: 'passed',
    commandId: 'cmd-1',
    instanceId: 'i-0abc',
    polls: 2,
    nextPollSeconds: 10,
    output: 'No changes',
  },
  releasePhase: { status: 'passed', commandId: 'cmd-0', instanceId: 'i-0abc', polls: 3, nextPollSeconds: 0 },
  checks: {
    status: 'passed',
    runs: [{ name: 'celery-worker', commandId: 'cmd-2', instanceIds: ['i-0abc'], finished: ['i-0abc'] }],
    polls: 2,
    nextPollSeconds: 5,
    warnings: [],
  },
  rollback: {
    fromVersion: 'v10',
    toVersion: 'v9',
    startedAt: '2026-11-23T10:05:00.000Z',
    firstPollSeconds: 15,
  },
  rollbackHealth: { ...watchStart },
  failure: { Error: 'HealthCheckFailed', Cause: 'Red' },
  outcome: { status: 'SUCCEEDED' },
};
const resolveEvent = {
  input: pushEvent(),
  executionId: EXECUTION,
  startedAt: STARTED,
  stateMachineArn: STATE_MACHINE,
};

type Path = (string | number)[];
function pathsOf(value: unknown, prefix: Path = []): Path[] {
  if (typeof value !== 'object' || value === null) return [prefix];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return [prefix, ...entries.flatMap(([k, v]) => pathsOf(v, [...prefix, k]))];
}

/** Deletes or replaces the value at `path` of a deep copy of `base`. */
function mutate(base: unknown, edits: { path: Path; value: unknown; remove: boolean }[]): unknown {
  let root: unknown = structuredClone(base);
  for (const { path, value, remove } of edits) {
    if (path.length === 0) {
      root = value;
      continue;
    }
    let parent =
      typeof root === 'object' && root !== null ? (root as Record<string | number, unknown>) : undefined;
    for (const key of path.slice(0, -1)) {
      const next: unknown = parent?.[key];
      parent =
        typeof next === 'object' && next !== null ? (next as Record<string | number, unknown>) : undefined;
    }
    const last = path.at(-1) as string | number;
    if (!parent) continue;
    if (remove) delete parent[last];
    else parent[last] = value;
  }
  return root;
}

/** Values of every JSON type and some that JSON cannot carry, to put where the state has something else. */
const wrongValue = fc.oneof(
  fc.constantFrom(
    null,
    undefined,
    '',
    0,
    -1,
    1.5,
    true,
    false,
    [],
    {},
    'sha256:nothex',
    'not-a-time',
    Number.NaN,
  ),
  fc.anything({ maxDepth: 2 }),
);

function malformed(base: unknown) {
  const paths = pathsOf(base);
  const edit = fc.record({
    path: fc.constantFrom(...paths),
    value: wrongValue,
    remove: fc.boolean(),
  });
  return fc.array(edit, { minLength: 1, maxLength: 3 }).map((edits) => mutate(base, edits));
}

/** registerWatch gets its Task's Payload (lambda:invoke.waitForTaskToken), not the whole state. */
const registration = {
  taskToken: 'AQCtoken',
  phase: 'deploy',
  release: fullState.release,
  watch: deploy,
  verdict: 'wait',
};

/** requestApproval, likewise (WaitForApproval, issue 14). */
const approvalRequest = { taskToken: 'AQCtoken', release: fullState.release };

const BASES: Record<string, unknown> = {
  ResolveReleaseArn: resolveEvent,
  RegisterWatchArn: registration,
  RequestApprovalArn: approvalRequest,
};

const handlers = Object.entries(handlersBySubstitution).map(([name, handler]) => ({
  name: name.replace(/Arn$/, ''),
  handler,
  base: BASES[name] ?? fullState,
}));

describe('every handler, fed malformed input', () => {
  it.each(handlers)(
    '$name: InputInvalid, never a TypeError, and no mutating call',
    async ({ name, handler, base }) => {
      const context = lambdaContext(name);
      let rejected = 0;
      await fc.assert(
        fc.asyncProperty(malformed(base), async (event) => {
          for (const m of allMocks) m.resetHistory();
          let error: unknown;
          try {
            await handler(event, context);
          } catch (err) {
            error = err;
          }
          expect(error).not.toBeInstanceOf(TypeError);
          if ((error as Error | undefined)?.name === 'InputInvalid') {
            rejected += 1;
            expect(mutatingCalls()).toEqual([]);
          }
        }),
        { numRuns: RUNS },
      );
      // Most edits break the contract; if few were rejected, the fuzz is testing nothing.
      expect(rejected).toBeGreaterThan(RUNS / 4);
    },
    // About 1 ms an input when the machine is idle; leave room for a busy one.
    Math.max(30_000, RUNS * 20),
  );

  it('accepts the unmutated state, so the rejections above are about the edits', async () => {
    for (const { name, handler, base } of handlers) {
      for (const m of allMocks) m.resetHistory();
      const run = handler(structuredClone(base), lambdaContext(name));
      await expect(run.catch((err: Error) => err.name)).resolves.not.toBe('InputInvalid');
    }
  });
});
