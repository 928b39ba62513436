import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HealthPolicy } from '../../../lib/config/schema.js';
import {
  colorOf,
  type HealthSnapshot,
  healthVerdict,
  type WatchContext,
} from '../../../lib/health/verdict.js';

const T0 = Date.parse('2026-11-23T10:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

const policy: HealthPolicy = {
  path: '/',
  allowedColors: ['Green'],
  bakeSeconds: 60,
  graceSeconds: 120,
  timeoutSeconds: 1200,
  pollSeconds: 15,
  alarms: [],
  abortAfterSeconds: 180,
};
const ctx: WatchContext = { expectedVersion: 'v2-abc', startedAt: at(0), policy, maxPolls: 200 };

function snap(seconds: number, over: Partial<HealthSnapshot> = {}): HealthSnapshot {
  return {
    now: at(seconds),
    status: 'Ready',
    color: 'Green',
    healthStatus: 'Ok',
    versionLabel: 'v2-abc',
    causes: [],
    instances: [
      {
        id: 'i-1',
        healthStatus: 'Ok',
        color: 'Green',
        versionLabel: 'v2-abc',
        deploymentStatus: 'Deployed',
        causes: [],
      },
    ],
    events: [],
    ...over,
  };
}

describe('healthVerdict', () => {
  it('waits while the environment is Updating with Grey or Pending health: that is normal', () => {
    const v = healthVerdict(
      snap(30, { status: 'Updating', color: 'Grey', healthStatus: 'Pending', versionLabel: 'v1-old' }),
      ctx,
      undefined,
    );
    expect(v.verdict).toBe('wait');
    expect(v.causes[0]).toContain('Updating');
  });

  it('keeps waiting through a long Grey update without rolling back, until the timeout', () => {
    let progress = healthVerdict(
      snap(15, { status: 'Updating', color: 'Grey', healthStatus: 'Unknown' }),
      ctx,
      undefined,
    );
    for (let s = 30; s <= 1200; s += 15) {
      progress = healthVerdict(
        snap(s, { status: 'Updating', color: 'Grey', healthStatus: 'Unknown' }),
        ctx,
        progress,
      );
      expect(progress.verdict).toBe('wait');
    }
    const last = healthVerdict(snap(1215, { status: 'Updating', color: 'Grey' }), ctx, progress);
    expect(last.verdict).toBe('timeout');
    expect(last.causes[0]).toMatch(/no healthy verdict 1215s after the update.*status Updating/);
  });

  it('does not call a deploy healthy until every instance reports the new version as Deployed', () => {
    const mixed = snap(120, {
      instances: [
        { id: 'i-1', versionLabel: 'v2-abc', deploymentStatus: 'Deployed', causes: [] },
        { id: 'i-2', versionLabel: 'v1-old', deploymentStatus: 'In Progress', causes: [] },
      ],
    });
    const v = healthVerdict(mixed, ctx, undefined);
    expect(v.verdict).toBe('wait');
    expect(v.causes[0]).toBe('1 of 2 instances deployed on v2-abc');
    expect(v.convergedAt).toBeUndefined();
  });

  it('is healthy only after Green holds for the bake time', () => {
    const first = healthVerdict(snap(100), ctx, undefined);
    expect(first.verdict).toBe('wait');
    expect(first.healthySince).toBe(at(100));
    const mid = healthVerdict(snap(130), ctx, first);
    expect(mid.verdict).toBe('wait');
    const done = healthVerdict(snap(160), ctx, mid);
    expect(done.verdict).toBe('healthy');
    expect(done.causes[0]).toBe('Green for 60s on v2-abc');
  });

  it('restarts the bake time when health dips below an allowed colour', () => {
    const first = healthVerdict(snap(100), ctx, undefined);
    const dip = healthVerdict(snap(130, { color: 'Yellow', healthStatus: 'Warning' }), ctx, first);
    expect(dip.verdict).toBe('wait');
    expect(dip.healthySince).toBeUndefined();
    const back = healthVerdict(snap(160), ctx, dip);
    expect(back.verdict).toBe('wait');
    expect(back.healthySince).toBe(at(160));
  });

  it('accepts Yellow only when the target allows it', () => {
    const yellow = snap(100, { color: 'Yellow', healthStatus: 'Warning' });
    const strict = healthVerdict(
      snap(200, { color: 'Yellow', healthStatus: 'Warning' }),
      ctx,
      healthVerdict(yellow, ctx, undefined),
    );
    expect(strict.verdict).toBe('wait');
    expect(strict.causes[0]).toContain('does not accept');
    const lenient = {
      ...ctx,
      policy: { ...policy, allowedColors: ['Green', 'Yellow'] as ('Green' | 'Yellow')[] },
    };
    const ok = healthVerdict(
      snap(200, { color: 'Yellow', healthStatus: 'Warning' }),
      lenient,
      healthVerdict(yellow, lenient, undefined),
    );
    expect(ok.verdict).toBe('healthy');
  });

  it('rolls back at once when health is Red after the update, with EB causes', () => {
    const v = healthVerdict(
      snap(90, {
        color: 'Red',
        healthStatus: 'Severe',
        causes: ['100.0 % of the requests are failing with HTTP 5xx.'],
      }),
      ctx,
      undefined,
    );
    expect(v.verdict).toBe('rollback');
    expect(v.causes).toEqual([
      'health is Red (Severe) after the update',
      '100.0 % of the requests are failing with HTTP 5xx.',
    ]);
  });

  it('tolerates Grey after Ready for the grace period, then rolls back', () => {
    const grey = { color: 'Grey', healthStatus: 'NoData' };
    const first = healthVerdict(snap(100, grey), ctx, undefined);
    expect(first.verdict).toBe('wait');
    const within = healthVerdict(snap(220, grey), ctx, first);
    expect(within.verdict).toBe('wait');
    const past = healthVerdict(snap(221, grey), ctx, within);
    expect(past.verdict).toBe('rollback');
    expect(past.causes[0]).toBe('health stayed NoData for 121s after the update finished (grace 120s)');
  });

  it('rolls back when EB reports a failed deploy, even if it is Green on the old version', () => {
    const v = healthVerdict(
      snap(200, {
        versionLabel: 'v1-old',
        events: [
          { date: at(150), severity: 'ERROR', message: 'Failed to deploy application.' },
          {
            date: at(160),
            severity: 'INFO',
            message: 'The environment was reverted to the previous configuration setting.',
          },
        ],
      }),
      ctx,
      undefined,
    );
    expect(v.verdict).toBe('rollback');
    expect(v.causes[0]).toBe('EB reported "Failed to deploy application."');
    expect(v.events).toHaveLength(2);
  });

  it('rolls back when the environment is Ready on another version than the one deployed', () => {
    const v = healthVerdict(snap(200, { versionLabel: 'v1-old' }), ctx, undefined);
    expect(v.verdict).toBe('rollback');
    expect(v.causes[0]).toContain('Ready on version v1-old, not v2-abc');
  });

  it('rolls back when an instance reports its deployment Failed', () => {
    const v = healthVerdict(
      snap(200, {
        instances: [
          {
            id: 'i-9',
            versionLabel: 'v1-old',
            deploymentStatus: 'Failed',
            causes: ['Command failed on instance.'],
          },
        ],
      }),
      ctx,
      undefined,
    );
    expect(v.verdict).toBe('rollback');
    expect(v.causes).toContain('deployment failed on i-9');
  });

  it('gives up after maxPolls even if the clock has not reached the timeout', () => {
    const v = healthVerdict(snap(30, { status: 'Updating' }), { ...ctx, maxPolls: 3 }, { polls: 2 });
    expect(v.verdict).toBe('timeout');
  });

  it('never polls in lock step: the interval is jittered within +-20%', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 0.999999, noNaN: true }), (jitter) => {
        const v = healthVerdict(snap(30, { status: 'Updating' }), ctx, undefined, jitter);
        return v.nextPollSeconds >= 12 && v.nextPollSeconds <= 18;
      }),
    );
  });

  it('never returns healthy unless Ready, on the expected version everywhere, in an allowed colour', () => {
    const statuses = fc.constantFrom('Ready', 'Updating', 'Launching', 'Aborting');
    const colors = fc.constantFrom('Green', 'Yellow', 'Red', 'Grey');
    const versions = fc.constantFrom('v2-abc', 'v1-old');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(statuses, colors, versions, versions), { minLength: 1, maxLength: 30 }),
        (steps) => {
          let progress: ReturnType<typeof healthVerdict> | undefined;
          for (const [i, [status, color, envVersion, instVersion]] of steps.entries()) {
            const s = snap(15 * (i + 1), {
              status,
              color,
              healthStatus: undefined,
              versionLabel: envVersion,
              instances: [{ id: 'i-1', versionLabel: instVersion, deploymentStatus: 'Deployed', causes: [] }],
            });
            progress = healthVerdict(s, ctx, progress);
            if (progress.verdict === 'healthy') {
              if (
                status !== 'Ready' ||
                color !== 'Green' ||
                envVersion !== 'v2-abc' ||
                instVersion !== 'v2-abc'
              )
                return false;
            }
            if (progress.verdict !== 'wait') break;
          }
          return true;
        },
      ),
    );
  });
});

describe('colorOf', () => {
  it('maps enhanced health statuses to the colours EB documents', () => {
    expect(
      ['Ok', 'Info', 'Warning', 'Degraded', 'Severe', 'Pending', 'Unknown', 'Suspended', 'NoData'].map((h) =>
        colorOf({ healthStatus: h }),
      ),
    ).toEqual(['Green', 'Green', 'Yellow', 'Red', 'Red', 'Grey', 'Grey', 'Grey', 'Grey']);
    expect(colorOf({ color: 'Red' })).toBe('Red');
    expect(colorOf({})).toBe('Grey');
  });
});

describe('healthVerdict: what happened between two polls', () => {
  const converged = () => healthVerdict(snap(30), ctx, undefined);

  it('rolls back a flap to Severe during the bake that recovered before the next poll', () => {
    // Arrange: Green at 30 s; EB logged Ok → Severe at 38 s and Severe → Ok at 41 s; Green at 45 s.
    const first = converged();
    const flap = snap(45, {
      events: [
        {
          date: at(38),
          severity: 'WARN',
          message:
            'Environment health has transitioned from Ok to Severe. 100.0 % of the requests are failing with HTTP 5xx.',
        },
        { date: at(41), severity: 'INFO', message: 'Environment health has transitioned from Severe to Ok.' },
      ],
    });

    // Act
    const v = healthVerdict(flap, ctx, first);

    // Assert
    expect(first.verdict).toBe('wait');
    expect(v.verdict).toBe('rollback');
    expect(v.causes[0]).toContain(`health went Severe at ${at(38)}, between two polls`);
  });

  it('ignores transitions logged before the update converged (instances restarting)', () => {
    const first = healthVerdict(
      snap(30, {
        events: [
          {
            date: at(20),
            severity: 'WARN',
            message: 'Environment health has transitioned from Ok to Severe.',
          },
        ],
      }),
      ctx,
      undefined,
    );
    expect(first.verdict).toBe('wait');
    expect(healthVerdict(snap(100, { events: [] }), ctx, first).verdict).toBe('healthy');
  });

  it('restarts the bake after a moment in a colour the target does not accept', () => {
    // Arrange: Green-only target; a Warning blip at 50 s between polls at 45 s and 60 s.
    const first = converged();
    const second = healthVerdict(snap(45), ctx, first);
    const blip = snap(60, {
      events: [
        {
          date: at(50),
          severity: 'WARN',
          message: 'Environment health has transitioned from Ok to Warning.',
        },
        {
          date: at(55),
          severity: 'INFO',
          message: 'Environment health has transitioned from Warning to Ok.',
        },
      ],
    });

    // Act
    const third = healthVerdict(blip, ctx, second);
    const at95 = healthVerdict({ ...blip, now: at(95) }, ctx, third);

    // Assert: without the blip, 30 → 95 s would be healthy; with it, the bake counts from 60 s.
    expect(third.healthySince).toBe(at(60));
    expect(at95.verdict).toBe('wait');
    expect(healthVerdict({ ...blip, now: at(121) }, ctx, at95).verdict).toBe('healthy');
  });

  it('stops, without rolling back, when someone else deploys a third version during the watch', () => {
    const v = healthVerdict(
      snap(200, { versionLabel: 'hotfix-console-1' }),
      { ...ctx, fromVersion: 'v1-old' },
      converged(),
    );
    expect(v.verdict).toBe('overridden');
    expect(v.causes[0]).toContain(
      'hotfix-console-1 was deployed to the environment by someone other than this execution',
    );
  });

  it('rolls back when EB is Ready on the version it replaced: the update was not applied', () => {
    const v = healthVerdict(
      snap(200, {
        versionLabel: 'v1-old',
        events: [
          {
            date: at(190),
            severity: 'INFO',
            message: 'The environment was reverted to the previous configuration setting.',
          },
        ],
      }),
      { ...ctx, fromVersion: 'v1-old' },
      undefined,
    );
    expect(v.verdict).toBe('rollback');
    expect(v.causes.join(' ')).toContain('EB reported "The environment was reverted');
  });

  it('accepts a revert TO the expected version (a rollback watch after an abort)', () => {
    const v = healthVerdict(
      snap(200, {
        events: [
          {
            date: at(190),
            severity: 'INFO',
            message: 'The environment was reverted to the previous configuration setting.',
          },
        ],
      }),
      { ...ctx, bakeSeconds: 0, policy: { ...policy, bakeSeconds: 0 } } as WatchContext,
      undefined,
    );
    expect(v.verdict).toBe('healthy');
  });
});

// Mutation survivors of issue 15 (lib/health/verdict.ts): each is something a user would notice.
describe('healthVerdict: the decisions a mutation must not flip', () => {
  it('a Grey poll inside the grace period restarts the bake: the colour must hold for all of it', () => {
    const green30 = healthVerdict(snap(30), ctx, undefined);
    const grey45 = healthVerdict(snap(45, { color: 'Grey', healthStatus: 'NoData' }), ctx, green30);
    const green60 = healthVerdict(snap(60), ctx, grey45);

    expect(grey45.verdict).toBe('wait');
    expect(healthVerdict(snap(95), ctx, green60).verdict).toBe('wait');
    expect(healthVerdict(snap(121), ctx, green60).verdict).toBe('healthy');
  });

  it('waits while an instance reports the new label but its deployment is still In Progress', () => {
    const inProgress = snap(200, {
      instances: [
        {
          id: 'i-1',
          healthStatus: 'Ok',
          color: 'Green',
          versionLabel: 'v2-abc',
          deploymentStatus: 'In Progress',
          causes: [],
        },
      ],
    });
    const v = healthVerdict(inProgress, ctx, { polls: 5, convergedAt: at(0), healthySince: at(0) });
    expect(v.verdict).toBe('wait');
    expect(v.causes[0]).toContain('0 of 1 instances deployed on v2-abc');
  });

  it.each(['Terminating', 'Terminated'])('rolls back (and says so) when the environment is %s', (status) => {
    const v = healthVerdict(snap(60, { status, instances: [] }), ctx, undefined);
    expect(v.verdict).toBe('rollback');
    expect(v.causes[0]).toBe(`environment is ${status}`);
  });

  it("recognises EB's failure events with the suffixes EB adds to them", () => {
    const v = healthVerdict(
      snap(60, {
        events: [
          {
            date: at(50),
            severity: 'ERROR',
            message:
              'Update environment operation is complete, but with errors. For more information, see troubleshooting documentation.',
          },
        ],
      }),
      ctx,
      undefined,
    );
    expect(v.verdict).toBe('rollback');
  });
});

describe('healthVerdict: what on-call reads and when the next poll comes', () => {
  it('keeps the warning and error events for the alert, not the informational ones', () => {
    const v = healthVerdict(
      snap(30, {
        events: [
          { date: at(10), severity: 'INFO', message: 'Environment update is starting.' },
          {
            date: at(12),
            severity: 'WARN',
            message: 'Environment health has transitioned from Pending to Warning.',
          },
          { date: at(14), severity: 'ERROR', message: 'Instance deployment failed on i-1.' },
          { date: at(16), severity: 'FATAL', message: 'Something fatal.' },
        ],
      }),
      ctx,
      undefined,
    );
    expect(v.events).toEqual([
      `${at(12)} WARN Environment health has transitioned from Pending to Warning.`,
      `${at(14)} ERROR Instance deployment failed on i-1.`,
      `${at(16)} FATAL Something fatal.`,
    ]);
  });

  it('does not restart the bake for a transition to a colour the target accepts', () => {
    const first = healthVerdict(snap(30), ctx, undefined);
    const v = healthVerdict(
      snap(60, {
        events: [
          { date: at(45), severity: 'INFO', message: 'Environment health has transitioned from Ok to Info.' },
        ],
      }),
      ctx,
      first,
    );
    expect(v.healthySince).toBe(at(30));
    expect(healthVerdict(snap(91), ctx, v).verdict).toBe('healthy');
  });

  it('polls again exactly when the bake would end, not a full interval later', () => {
    // Green since 30 s; at 80 s, 10 s of the 60 s bake are left: poll in 10 s, not ~15.
    const v = healthVerdict(snap(80), ctx, { polls: 3, convergedAt: at(30), healthySince: at(30) }, 1);
    expect(v.verdict).toBe('wait');
    expect(v.nextPollSeconds).toBe(10);
  });

  it('says how many instances run the new version while some are behind', () => {
    const v = healthVerdict(
      snap(100, {
        instances: [
          {
            id: 'i-1',
            healthStatus: 'Ok',
            color: 'Green',
            versionLabel: 'v2-abc',
            deploymentStatus: 'Deployed',
            causes: [],
          },
          {
            id: 'i-2',
            healthStatus: 'Ok',
            color: 'Green',
            versionLabel: 'v1-old',
            deploymentStatus: 'Deployed',
            causes: [],
          },
        ],
      }),
      ctx,
      undefined,
    );
    expect(v.verdict).toBe('wait');
    expect(v.causes[0]).toBe('1 of 2 instances deployed on v2-abc');
  });

  it('reads colours from enhanced health first, basic colour otherwise', () => {
    expect(colorOf({ healthStatus: 'Severe', color: 'Green' })).toBe('Red');
    expect(colorOf({ healthStatus: 'Warning' })).toBe('Yellow');
    expect(colorOf({ color: 'Yellow' })).toBe('Yellow');
    expect(colorOf({ color: 'Red' })).toBe('Red');
    expect(colorOf({ color: 'Purple' })).toBe('Grey');
  });

  it('reads basic health transitions ("... set to RED") between polls too', () => {
    const first = healthVerdict(snap(30, { healthStatus: undefined }), ctx, undefined);
    const v = healthVerdict(
      snap(45, {
        healthStatus: undefined,
        events: [{ date: at(40), severity: 'WARN', message: 'Environment health has been set to RED' }],
      }),
      ctx,
      first,
    );
    expect(v.verdict).toBe('rollback');
    expect(v.causes[0]).toContain('health went Severe');
  });
});

describe('healthVerdict: a flap between the end of the update and the first Ready poll', () => {
  it('counts it: the window starts at EB\'s "Environment update completed successfully." event', () => {
    const v = healthVerdict(
      snap(30, {
        events: [
          { date: at(20), severity: 'INFO', message: 'Environment update completed successfully.' },
          {
            date: at(24),
            severity: 'WARN',
            message: 'Environment health has transitioned from Ok to Severe.',
          },
          {
            date: at(27),
            severity: 'INFO',
            message: 'Environment health has transitioned from Severe to Ok.',
          },
        ],
      }),
      ctx,
      undefined,
    );
    expect(v.verdict).toBe('rollback');
    expect(v.causes[0]).toContain(`health went Severe at ${at(24)}`);
  });
});
