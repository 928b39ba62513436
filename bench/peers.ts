/**
 * The same bad deploys judged by ebship's health watch and by the polling rules of other EB deploy
 * tools. Each timeline: UpdateEnvironment at 0, the environment Updating until `updateSeconds`, then
 * Ready and Green, then Red from `redAfter` seconds after Ready on (a release that crashes once it
 * takes traffic). A tool that reports success on such a timeline has shipped a broken version.
 *
 * Peers' rules, as modelled here:
 * - the CLI waiter (`aws elasticbeanstalk wait environment-updated`): DescribeEnvironments every
 *   20 s until Status is Ready (botocore's elasticbeanstalk waiters-2.json, EnvironmentUpdated);
 *   health is not looked at;
 * - beanstalk-deploy (GitHub action): polls after 10, 20, then every 30 s; success when Ready and
 *   Green at a poll;
 * - the AWS deploy action: polls every 15 s; success when Ready and Green at a poll.
 * ebship: its real verdict function (lib/health/verdict.ts), 15 s ±20 % polls, Green held for the
 * bake (60 s, the default before; 300 s, the default now) after every instance runs the new version.
 */
import { type HealthSnapshot, healthVerdict } from '../lib/health/verdict.js';
import type { HealthProgress } from '../lib/workflow-state.js';

interface Timeline {
  updateSeconds: number;
  redAfter: number;
}

const START = Date.parse('2026-11-23T10:00:00Z');
const iso = (s: number) => new Date(START + s * 1000).toISOString();

function snapshot(t: Timeline, at: number): HealthSnapshot {
  const ready = at >= t.updateSeconds;
  const red = ready && at >= t.updateSeconds + t.redAfter;
  return {
    now: iso(at),
    status: ready ? 'Ready' : 'Updating',
    color: red ? 'Red' : ready ? 'Green' : 'Grey',
    healthStatus: red ? 'Severe' : ready ? 'Ok' : 'Pending',
    versionLabel: 'v2',
    causes: red ? ['100 % of the requests are failing with HTTP 5xx.'] : [],
    instances: [
      {
        id: 'i-0a1b2c',
        versionLabel: ready ? 'v2' : 'v1',
        deploymentStatus: ready ? 'Deployed' : 'In Progress',
        healthStatus: red ? 'Severe' : ready ? 'Ok' : 'Pending',
        causes: [],
      },
    ],
    events: ready
      ? [
          {
            date: iso(t.updateSeconds),
            severity: 'INFO',
            message: 'Environment update completed successfully.',
          },
        ]
      : [],
  };
}

/** Polls at `schedule` (seconds after UpdateEnvironment) until Ready; `judge` decides at that poll. */
function pollUntilReady(t: Timeline, schedule: (n: number) => number, judge: (s: HealthSnapshot) => boolean) {
  for (let n = 0; n < 200; n++) {
    const s = snapshot(t, schedule(n));
    if (s.status === 'Ready') return judge(s);
  }
  return false;
}

const peers: Record<string, (t: Timeline) => boolean> = {
  'CLI waiter (20 s, Ready only)': (t) =>
    pollUntilReady(
      t,
      (n) => 20 * (n + 1),
      () => true,
    ),
  'beanstalk-deploy (10, 20, 30 s…, Green at Ready)': (t) =>
    pollUntilReady(
      t,
      (n) => (n === 0 ? 10 : n === 1 ? 30 : 30 + 30 * (n - 1)),
      (s) => s.color === 'Green',
    ),
  'AWS deploy action (15 s, Green at Ready)': (t) =>
    pollUntilReady(
      t,
      (n) => 15 * (n + 1),
      (s) => s.color === 'Green',
    ),
};

/** ebship's verdict, poll after poll: true when it calls the deploy healthy. */
function ebshipCallsHealthy(t: Timeline, seed: number, bakeSeconds: number): boolean {
  let at = 15;
  let progress: HealthProgress | undefined;
  let random = seed;
  // A fixed pseudo-random jitter per timeline, so runs are repeatable.
  const jitter = () => {
    random = (random * 1103515245 + 12345) % 2 ** 31;
    return random / 2 ** 31;
  };
  for (let n = 0; n < 400; n++) {
    progress = healthVerdict(
      snapshot(t, at),
      {
        expectedVersion: 'v2',
        fromVersion: 'v1',
        startedAt: iso(0),
        policy: {
          path: '/',
          allowedColors: ['Green'],
          bakeSeconds,
          graceSeconds: 120,
          timeoutSeconds: 1200,
          pollSeconds: 15,
          alarms: [],
          abortAfterSeconds: 0,
        },
        maxPolls: 400,
      },
      progress,
      jitter(),
    );
    if (progress.verdict !== 'wait') return progress.verdict === 'healthy';
    at += progress.nextPollSeconds;
  }
  return false;
}

export interface PeerRow {
  tool: string;
  calledSuccess: number;
  timelines: number;
}

/** `count` timelines: update 60–240 s, Red `redFrom`–`redTo` s after Ready. */
export function judgeTimelines(count = 40, redFrom = 0, redTo = 55): PeerRow[] {
  const timelines: Timeline[] = Array.from({ length: count }, (_, i) => ({
    updateSeconds: 60 + ((i * 37) % 181),
    redAfter: redFrom + Math.round(((redTo - redFrom) * i) / (count - 1)),
  }));
  const rows: PeerRow[] = Object.entries(peers).map(([tool, judge]) => ({
    tool,
    calledSuccess: timelines.filter(judge).length,
    timelines: count,
  }));
  for (const bake of [60, 300]) {
    rows.push({
      tool: `ebship (15 s ±20 %, Green held ${bake} s${bake === 60 ? ', the default before' : ''})`,
      calledSuccess: timelines.filter((t, i) => ebshipCallsHealthy(t, i + 1, bake)).length,
      timelines: count,
    });
  }
  return rows;
}
