import { GetCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvironmentBusy } from '../../../lib/errors.js';
import {
  acquireLock,
  type EnvKey,
  getLastGood,
  getLock,
  type HistoryEntry,
  isDowngrade,
  listHistory,
  putLastGood,
  recordDeployment,
  recordPush,
  releaseLock,
  takeOverLock,
} from '../../../lib/store/deployments.js';
import { type LocalTable, startLocalTable } from './dynalite-table.js';

const EXEC_A = 'arn:aws:states:us-east-1:123456789012:execution:ebship-deploy:antenna-prod-3f2a9c1b7d4e-push';
const EXEC_B = 'arn:aws:states:us-east-1:123456789012:execution:ebship-deploy:manual-0b1c2d3e';
const DIGEST_A = `sha256:${'3f2a9c1b7d4e'.padEnd(64, '0')}`;
const DIGEST_B = `sha256:${'0b1c2d3e4f5a'.padEnd(64, '1')}`;
const T0 = new Date('2025-06-02T09:00:00.000Z');
const LEASE = 3 * 3600;

let local: LocalTable;
let envCounter = 0;
/** Each test gets its own environment, so tests share one dynalite without seeing each other. */
function freshEnv(): EnvKey {
  envCounter += 1;
  return { application: 'antenna', environment: `antenna-prod-${envCounter}` };
}

function at(base: Date, seconds: number): Date {
  return new Date(base.getTime() + seconds * 1000);
}

beforeAll(async () => {
  local = await startLocalTable();
});

afterAll(async () => {
  await local.close();
});

describe('environment lock', () => {
  it('lets exactly one of two racing executions deploy and names the holder to the other', async () => {
    // Arrange
    const env = freshEnv();
    const ask = (owner: string, versionLabel: string, imageDigest: string) =>
      acquireLock(local.db, local.table, env, {
        owner,
        versionLabel,
        imageDigest,
        leaseSeconds: LEASE,
        now: T0,
      });

    // Act
    const results = await Promise.allSettled([
      ask(EXEC_A, 'v1.4.2-3f2a9c1b7d4e', DIGEST_A),
      ask(EXEC_B, 'v1.4.3-0b1c2d3e4f5a', DIGEST_B),
    ]);

    // Assert
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const holder = await getLock(local.db, local.table, env);
    expect(holder?.owner).toBe(won[0]?.status === 'fulfilled' ? won[0].value.owner : 'none');
    const error = lost[0]?.status === 'rejected' ? lost[0].reason : undefined;
    expect(error).toBeInstanceOf(EnvironmentBusy);
    expect(error).toHaveProperty('name', 'EnvironmentBusy');
    expect(String(error)).toContain(
      `antenna/${env.environment} is being deployed by execution ${holder?.owner}`,
    );
    expect(String(error)).toContain(`version ${holder?.versionLabel}, since 2025-06-02T09:00:00.000Z`);
    expect(String(error)).toContain('ebship will retry');
  });

  it('stores the lock with the fields docs/architecture.md lists', async () => {
    // Arrange
    const env = freshEnv();

    // Act
    const lock = await acquireLock(local.db, local.table, env, {
      owner: EXEC_A,
      versionLabel: 'v1.4.2-3f2a9c1b7d4e',
      imageDigest: DIGEST_A,
      leaseSeconds: 600,
      now: T0,
    });

    // Assert
    const { Item } = await local.db.send(
      new GetCommand({ TableName: local.table, Key: { pk: `ENV#antenna/${env.environment}`, sk: 'LOCK' } }),
    );
    expect(Item).toEqual({
      pk: `ENV#antenna/${env.environment}`,
      sk: 'LOCK',
      owner: EXEC_A,
      versionLabel: 'v1.4.2-3f2a9c1b7d4e',
      imageDigest: DIGEST_A,
      acquiredAt: '2025-06-02T09:00:00.000Z',
      leaseUntil: '2025-06-02T09:10:00.000Z',
    });
    expect(lock.leaseUntil).toBe('2025-06-02T09:10:00.000Z');
  });

  it('lets the holding execution take the lock again when Lambda re-runs the step', async () => {
    // Arrange
    const env = freshEnv();
    const request = { owner: EXEC_A, versionLabel: 'v1', imageDigest: DIGEST_A, leaseSeconds: LEASE };
    await acquireLock(local.db, local.table, env, { ...request, now: T0 });

    // Act
    const again = await acquireLock(local.db, local.table, env, { ...request, now: at(T0, 5) });

    // Assert
    expect(again.owner).toBe(EXEC_A);
    expect((await getLock(local.db, local.table, env))?.leaseUntil).toBe(at(T0, 5 + LEASE).toISOString());
  });

  it('hands an environment whose holder died (lease expired) to the next execution', async () => {
    // Arrange
    const env = freshEnv();
    await acquireLock(local.db, local.table, env, {
      owner: EXEC_A,
      versionLabel: 'v1',
      imageDigest: DIGEST_A,
      leaseSeconds: 60,
      now: T0,
    });
    const stillHeld = acquireLock(local.db, local.table, env, {
      owner: EXEC_B,
      versionLabel: 'v2',
      imageDigest: DIGEST_B,
      leaseSeconds: 60,
      now: at(T0, 59),
    });
    await expect(stillHeld).rejects.toThrow(EnvironmentBusy);

    // Act
    const taken = await acquireLock(local.db, local.table, env, {
      owner: EXEC_B,
      versionLabel: 'v2',
      imageDigest: DIGEST_B,
      leaseSeconds: 60,
      now: at(T0, 61),
    });

    // Assert
    expect(taken.owner).toBe(EXEC_B);
    expect(await getLock(local.db, local.table, env)).toMatchObject({ owner: EXEC_B, versionLabel: 'v2' });
    // The old holder coming back to release must not free the new holder's lock.
    expect(await releaseLock(local.db, local.table, env, EXEC_A)).toBe(false);
    expect((await getLock(local.db, local.table, env))?.owner).toBe(EXEC_B);
  });

  it('holds the environment through the last instant of its lease, naming its holder then', async () => {
    // Arrange: A's lease runs until exactly T0 + 60 s.
    const env = freshEnv();
    const ask = (owner: string, now: Date) =>
      acquireLock(local.db, local.table, env, {
        owner,
        versionLabel: owner === EXEC_A ? 'v1' : 'v2',
        imageDigest: owner === EXEC_A ? DIGEST_A : DIGEST_B,
        leaseSeconds: 60,
        now,
      });
    await ask(EXEC_A, T0);

    // Act: B asks at that very instant.
    const atLeaseEnd = ask(EXEC_B, at(T0, 60));

    // Assert: still A's, and B is told who deploys (not that the lock "changed hands").
    await expect(atLeaseEnd).rejects.toThrow(
      `antenna/${env.environment} is being deployed by execution ${EXEC_A} (version v1`,
    );
    expect((await getLock(local.db, local.table, env))?.owner).toBe(EXEC_A);
    // One millisecond later the lease has run out.
    expect((await ask(EXEC_B, new Date(at(T0, 60).getTime() + 1))).owner).toBe(EXEC_B);
  });

  it('is released only by its owner, and releasing a free lock is not an error', async () => {
    // Arrange
    const env = freshEnv();
    await acquireLock(local.db, local.table, env, {
      owner: EXEC_A,
      versionLabel: 'v1',
      imageDigest: DIGEST_A,
      leaseSeconds: LEASE,
      now: T0,
    });

    // Act
    const byOther = await releaseLock(local.db, local.table, env, EXEC_B);
    const heldAfterOther = await getLock(local.db, local.table, env);
    const byOwner = await releaseLock(local.db, local.table, env, EXEC_A);
    const twice = await releaseLock(local.db, local.table, env, EXEC_A);

    // Assert
    expect(byOther).toBe(false);
    expect(heldAfterOther?.owner).toBe(EXEC_A);
    expect(byOwner).toBe(true);
    expect(twice).toBe(false);
    expect(await getLock(local.db, local.table, env)).toBeUndefined();
  });

  it('never has two executions believing they hold an environment, whatever the interleaving', async () => {
    const owners = ['exec-a', 'exec-b'] as const;
    const step = fc.record({
      who: fc.constantFrom<'exec-a' | 'exec-b' | 'both'>('exec-a', 'exec-b', 'both'),
      op: fc.constantFrom<'acquire' | 'release'>('acquire', 'release'),
      advanceSeconds: fc.integer({ min: 0, max: 90 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
        // Arrange
        const env = freshEnv();
        const leaseSeconds = 60;
        let now = T0;
        /** What each execution believes: it holds the lock until this time (after a successful acquire). */
        const believes = new Map<string, Date>();

        for (const s of steps) {
          now = at(now, s.advanceSeconds);
          const actors = s.who === 'both' ? owners : [s.who];
          // Act
          await Promise.all(
            actors.map(async (owner) => {
              if (s.op === 'acquire') {
                try {
                  const lock = await acquireLock(local.db, local.table, env, {
                    owner,
                    versionLabel: `v-${owner}`,
                    imageDigest: DIGEST_A,
                    leaseSeconds,
                    now,
                  });
                  believes.set(owner, new Date(lock.leaseUntil));
                } catch (err) {
                  if (!(err instanceof EnvironmentBusy)) throw err;
                }
              } else {
                await releaseLock(local.db, local.table, env, owner);
                believes.delete(owner);
              }
            }),
          );

          // Assert
          const holders = owners.filter((o) => (believes.get(o)?.getTime() ?? 0) >= now.getTime());
          expect(holders.length).toBeLessThanOrEqual(1);
          if (holders[0]) expect((await getLock(local.db, local.table, env))?.owner).toBe(holders[0]);
        }
      }),
      { numRuns: 40 },
    );
  });
});

describe('push dedupe', () => {
  const push = {
    repository: 'antenna-backend',
    imageDigest: DIGEST_A,
    target: 'antenna-prod',
    executionId: EXEC_A,
    now: T0,
    ttlSeconds: 26 * 3600,
  };

  it('reports a redelivered or re-tagged push of the same digest as a duplicate', async () => {
    // Arrange
    const first = await recordPush(local.db, local.table, { ...push, repository: 'dedupe-1' });

    // Act
    const second = await recordPush(local.db, local.table, {
      ...push,
      repository: 'dedupe-1',
      executionId: EXEC_B,
      now: at(T0, 30),
    });

    // Assert
    expect(first).toBe('new');
    expect(second).toBe('duplicate');
  });

  it('counts the same execution re-running the step as new, and other targets separately', async () => {
    // Arrange
    await recordPush(local.db, local.table, { ...push, repository: 'dedupe-2' });

    // Act
    const rerun = await recordPush(local.db, local.table, {
      ...push,
      repository: 'dedupe-2',
      now: at(T0, 2),
    });
    const staging = await recordPush(local.db, local.table, {
      ...push,
      repository: 'dedupe-2',
      target: 'antenna-staging',
      executionId: EXEC_B,
    });

    // Assert
    expect(rerun).toBe('new');
    expect(staging).toBe('new');
  });

  it('forgets a push once its TTL has passed, even before DynamoDB deletes the item', async () => {
    // Arrange
    await recordPush(local.db, local.table, { ...push, repository: 'dedupe-3', ttlSeconds: 3600 });

    // Act
    const later = await recordPush(local.db, local.table, {
      ...push,
      repository: 'dedupe-3',
      executionId: EXEC_B,
      now: at(T0, 3601),
    });

    // Assert
    expect(later).toBe('new');
  });

  it('writes the dedupe item keyed by repository, digest and target with an epoch-seconds TTL', async () => {
    // Act
    await recordPush(local.db, local.table, { ...push, repository: 'dedupe-4' });

    // Assert
    const { Item } = await local.db.send(
      new GetCommand({
        TableName: local.table,
        Key: { pk: `PUSH#dedupe-4@${DIGEST_A}`, sk: 'TARGET#antenna-prod' },
      }),
    );
    expect(Item).toEqual({
      pk: `PUSH#dedupe-4@${DIGEST_A}`,
      sk: 'TARGET#antenna-prod',
      executionId: EXEC_A,
      seenAt: '2025-06-02T09:00:00.000Z',
      expiresAt: T0.getTime() / 1000 + 26 * 3600,
    });
  });
});

describe('last good version', () => {
  it('reads back what was written, and nothing for an environment never deployed', async () => {
    // Arrange
    const env = freshEnv();
    const good = {
      versionLabel: 'v1.4.2-3f2a9c1b7d4e',
      imageDigest: DIGEST_A,
      imagePushedAt: '2025-06-02T08:55:12.000Z',
      deployedAt: '2025-06-02T09:06:40.000Z',
      executionId: EXEC_A,
    };
    const before = await getLastGood(local.db, local.table, env);

    // Act
    await putLastGood(local.db, local.table, env, good);

    // Assert
    expect(before).toBeUndefined();
    expect(await getLastGood(local.db, local.table, env)).toEqual(good);
  });

  it('keeps a rollback-by-label version without a push time', async () => {
    // Arrange
    const env = freshEnv();
    const good = {
      versionLabel: 'v1.4.1-9a8b7c6d5e4f',
      imageDigest: DIGEST_B,
      deployedAt: '2025-06-02T09:06:40.000Z',
      executionId: EXEC_B,
    };

    // Act
    await putLastGood(local.db, local.table, env, good);

    // Assert
    expect(await getLastGood(local.db, local.table, env)).toEqual(good);
  });
});

describe('deployment history', () => {
  function entry(
    env: EnvKey,
    startedAt: string,
    executionId: string,
    extra: Partial<HistoryEntry> = {},
  ): HistoryEntry {
    return {
      target: 'antenna-prod',
      ...env,
      executionId,
      trigger: 'push',
      toVersion: `v-${startedAt}`,
      outcome: 'SUCCEEDED',
      startedAt,
      ...extra,
    };
  }

  it('lists deployments newest first, across pages, up to the limit', async () => {
    // Arrange
    const env = freshEnv();
    const starts = Array.from({ length: 7 }, (_, i) => at(T0, i * 3600).toISOString());
    // Written out of order: the listing must not depend on write order.
    for (const i of [3, 0, 6, 1, 5, 2, 4]) {
      await recordDeployment(local.db, local.table, entry(env, starts[i] ?? '', `${EXEC_A}-${i}`));
    }

    // Act
    const all = await listHistory(local.db, local.table, env);
    const latestThree = await listHistory(local.db, local.table, env, 3);

    // Assert
    expect(all.map((e) => e.startedAt)).toEqual([...starts].reverse());
    expect(latestThree.map((e) => e.executionId)).toEqual([`${EXEC_A}-6`, `${EXEC_A}-5`, `${EXEC_A}-4`]);
  });

  it('round-trips every field, and the same execution re-recording updates its one entry', async () => {
    // Arrange
    const env = freshEnv();
    const running = entry(env, '2025-06-02T09:00:00.000Z', EXEC_A, {
      fromVersion: 'v1.4.1-9a8b7c6d5e4f',
      toVersion: 'v1.4.2-3f2a9c1b7d4e',
      imageUri: `123456789012.dkr.ecr.us-east-1.amazonaws.com/antenna-backend@${DIGEST_A}`,
      outcome: 'RUNNING',
    });
    await recordDeployment(local.db, local.table, running);
    const ended: HistoryEntry = {
      ...running,
      outcome: 'ROLLED_BACK',
      reason: 'Incorrect application version found on all instances.',
      endedAt: '2025-06-02T09:14:12.000Z',
      durationSeconds: 852,
    };

    // Act
    await recordDeployment(local.db, local.table, ended);
    await recordDeployment(local.db, local.table, ended);

    // Assert
    expect(await listHistory(local.db, local.table, env)).toEqual([ended]);
  });

  it('does not let a late RUNNING write hide how a deployment ended', async () => {
    // Arrange
    const env = freshEnv();
    const ended = entry(env, '2025-06-02T09:00:00.000Z', EXEC_A, { outcome: 'FAILED_BEFORE_DEPLOY' });
    await recordDeployment(local.db, local.table, ended);

    // Act
    await recordDeployment(local.db, local.table, { ...ended, outcome: 'RUNNING' });

    // Assert
    expect((await listHistory(local.db, local.table, env))[0]?.outcome).toBe('FAILED_BEFORE_DEPLOY');
  });

  it('keeps environments apart', async () => {
    // Arrange
    const prod = freshEnv();
    const staging = freshEnv();
    await recordDeployment(local.db, local.table, entry(prod, '2025-06-02T09:00:00.000Z', EXEC_A));

    // Act
    const stagingHistory = await listHistory(local.db, local.table, staging);

    // Assert
    expect(stagingHistory).toEqual([]);
  });
});

describe('isDowngrade', () => {
  const deployed = { imageDigest: DIGEST_A, imagePushedAt: '2025-06-02T08:55:12.000Z' };

  it('is true for a push older than what is deployed', () => {
    expect(isDowngrade({ imageDigest: DIGEST_B, imagePushedAt: '2025-06-01T17:00:00.000Z' }, deployed)).toBe(
      true,
    );
  });

  it('is false for a newer push, the same digest, nothing deployed, or unknown times', () => {
    expect(isDowngrade({ imageDigest: DIGEST_B, imagePushedAt: '2025-06-02T10:00:00.000Z' }, deployed)).toBe(
      false,
    );
    expect(isDowngrade({ imageDigest: DIGEST_A, imagePushedAt: '2025-06-01T00:00:00.000Z' }, deployed)).toBe(
      false,
    );
    expect(isDowngrade({ imageDigest: DIGEST_B, imagePushedAt: '2025-06-01T00:00:00.000Z' }, undefined)).toBe(
      false,
    );
    expect(isDowngrade({ imageDigest: DIGEST_B }, deployed)).toBe(false);
    expect(
      isDowngrade(
        { imageDigest: DIGEST_B, imagePushedAt: '2025-06-01T00:00:00.000Z' },
        { imageDigest: DIGEST_A },
      ),
    ).toBe(false);
    expect(isDowngrade({ imageDigest: DIGEST_B, imagePushedAt: 'yesterday' }, deployed)).toBe(false);
  });

  it('is false for a different image pushed at the same instant as the deployed one', () => {
    // Two tags of one build pushed together, or a second architecture: not older, so not a downgrade.
    expect(isDowngrade({ imageDigest: DIGEST_B, imagePushedAt: deployed.imagePushedAt }, deployed)).toBe(
      false,
    );
    expect(isDowngrade({ imageDigest: DIGEST_B, imagePushedAt: '2025-06-02T10:55:12+02:00' }, deployed)).toBe(
      false,
    );
  });

  it('orders push times by instant, not by how they are written', () => {
    // ECR returns offsets; 09:30+02:00 is 07:30Z, before the deployed 08:55Z.
    expect(isDowngrade({ imageDigest: DIGEST_B, imagePushedAt: '2025-06-02T09:30:00+02:00' }, deployed)).toBe(
      true,
    );
  });

  it('never calls both of two different images a downgrade of the other', () => {
    const image = fc.record({
      imageDigest: fc.stringMatching(/^sha256:[a-f0-9]{8}$/),
      imagePushedAt: fc.option(
        fc
          .date({ min: new Date('2020-01-01'), max: new Date('2030-01-01'), noInvalidDate: true })
          .map((d) => d.toISOString()),
        { nil: undefined },
      ),
    });
    fc.assert(
      fc.property(image, image, (a, b) => {
        expect(isDowngrade(a, b) && isDowngrade(b, a)).toBe(false);
      }),
    );
  });
});

describe('takeOverLock', () => {
  const lock = (owner: string, now: Date) => ({
    owner,
    versionLabel: 'v2',
    imageDigest: DIGEST_B,
    leaseSeconds: LEASE,
    now,
  });

  it('takes the lock from a holder that is known to be dead', async () => {
    const env = freshEnv();
    await acquireLock(local.db, local.table, env, {
      ...lock(EXEC_A, T0),
      versionLabel: 'v1',
      imageDigest: DIGEST_A,
    });

    await takeOverLock(local.db, local.table, env, EXEC_A, lock(EXEC_B, at(T0, 60)));

    expect((await getLock(local.db, local.table, env))?.owner).toBe(EXEC_B);
    expect(await releaseLock(local.db, local.table, env, EXEC_A)).toBe(false);
  });

  it('refuses when the lock changed hands since the holder was found dead', async () => {
    const env = freshEnv();
    await acquireLock(local.db, local.table, env, lock(EXEC_B, T0));

    await expect(
      takeOverLock(local.db, local.table, env, EXEC_A, lock('arn:third', at(T0, 60))),
    ).rejects.toThrow(EnvironmentBusy);
    expect((await getLock(local.db, local.table, env))?.owner).toBe(EXEC_B);
  });
});

describe('claimAlert', () => {
  it('recognises its own claim when the SDK wrote it twice (a 5xx after the first write took effect)', async () => {
    const { claimAlert } = await import('../../../lib/store/ownership.js');
    const { PutCommand } = await import('@aws-sdk/lib-dynamodb');
    let replayed = false;
    const retrying = {
      send: async (command: unknown) => {
        if (command instanceof PutCommand && !replayed) {
          replayed = true;
          await local.db.send(command);
        }
        return local.db.send(command as never);
      },
    } as unknown as typeof local.db;

    expect(await claimAlert(retrying, local.table, 'arn:exec-1', new Date())).toBe(true);
    expect(await claimAlert(local.db, local.table, 'arn:exec-1', new Date())).toBe(false);
  });
});
