import { afterEach, describe, expect, it } from 'vitest';
import { createClock } from '../../standin/clock.js';
import { loadScenario } from '../../standin/scenarios.js';
import { applyScenario, handleControl } from '../../standin/serve.js';
import { type Standin, startStandin } from '../../standin/server.js';

/** Serve mode's control endpoint (`/_standin/...`), as standin/control.ts calls it. */
let standin: Standin | undefined;
afterEach(() => standin?.close());

async function serve() {
  let self: Standin | undefined;
  const { readBody } = await import('../../standin/protocol.js');
  standin = await startStandin({
    clock: createClock(60),
    control: async (req, res) => {
      const body = (await readBody(req)).toString('utf8');
      const out = await handleControl(
        self as Standin,
        req.method ?? 'GET',
        req.url ?? '',
        body ? JSON.parse(body) : {},
        {
          applyScenario: (name) => {
            const s = loadScenario(name);
            applyScenario(self as Standin, s);
            return s;
          },
        },
      );
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
    },
  });
  self = standin;
  standin.world.eb.addEnvironment({
    application: 'antenna',
    environment: 'antenna-prod',
    versionLabel: 'v1',
    instances: 1,
    platformArn: 'arn:aws:elasticbeanstalk:us-east-1::platform/ECS',
    solutionStackName: 'ECS',
    optionSettings: [],
    onUpdate: [{ durationSeconds: 60, result: 'deployed', health: [] }],
  });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${standin?.endpoint}/_standin/${path}`, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return (await res.json()) as Record<string, unknown>;
  };
  return { world: standin.world, call };
}

describe('serve mode control', () => {
  it('pushes an image to ECR, as EventBridge sees it', async () => {
    const { world, call } = await serve();
    const pushed = await call('POST', 'push', { repository: 'antenna-backend', tag: 'v1.4.0' });
    expect(pushed.imageDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(world.bus.events.at(-1)).toMatchObject({
      source: 'aws.ecr',
      detail: { 'repository-name': 'antenna-backend', 'image-tag': 'v1.4.0' },
    });
  });

  it('advances simulated time', async () => {
    const { world, call } = await serve();
    const before = world.clock.now();
    await call('POST', 'advance', { seconds: 3600 });
    expect(world.clock.now() - before).toBeGreaterThanOrEqual(3_600_000);
  });

  it('applies a scenario to the next update, and arms and clears faults', async () => {
    const { world, call } = await serve();
    await call('POST', 'scenario', { name: 'red-after-deploy' });
    const env = world.eb.environments.get('antenna-prod');
    expect(env?.spec.onUpdate[0]?.health.map((h) => h.color)).toEqual(['Green', 'Red']);
    expect(env?.updates).toBe(0);
    await call('POST', 'faults', {
      fault: 'reply-lost',
      service: 'elasticbeanstalk',
      operation: 'UpdateEnvironment',
    });
    const status = await call('GET', 'status');
    expect(status.faultsArmed).toHaveLength(1);
    expect(status.environments).toMatchObject({ 'antenna-prod': { status: 'Ready', versionLabel: 'v1' } });
    await call('DELETE', 'faults');
    expect(world.faults.pending()).toHaveLength(0);
  });
});
