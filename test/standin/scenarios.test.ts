import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load.js';
import { createClock } from '../../standin/clock.js';
import { loadEcrRulePattern } from '../../standin/ecr-rule.js';
import { runScenario } from '../../standin/run-scenario.js';
import { loadScenario, scenarioNames } from '../../standin/scenarios.js';
import { startStandin } from '../../standin/server.js';

const configPath = resolve('ebship.yml');
const config = loadConfig(configPath);

describe('scenarios', () => {
  it('loads every scenario file against the schema', () => {
    const names = scenarioNames();
    expect(names).toEqual(
      expect.arrayContaining([
        'healthy',
        'red-after-deploy',
        'grey-stuck',
        'never-converges',
        'partial-deploy',
        'deploy-fails-and-reverts',
        'migrations-pending',
        'secret-missing',
        'throttling-storm',
        'rollback-also-fails',
      ]),
    );
    for (const name of names) expect(loadScenario(name).pushes.length).toBeGreaterThan(0);
  });

  it('starts an execution with the ECR event when a push matches the rule, and none otherwise', async () => {
    const standin = await startStandin({ taskHandlers: () => ({}) });
    try {
      const { world } = standin;
      const arn = world.sfn.createStateMachine(
        'deploy',
        JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Succeed' } } }),
      );
      world.rules.push({ name: 'EcrPushRule', pattern: loadEcrRulePattern(config).pattern, targetArn: arn });

      const matched = world.pushImage({ repository: 'antenna-backend', tag: 'v1.3.0' });
      const ignored = world.pushImage({ repository: 'someone-else', tag: 'v1.3.0' });

      expect(matched.executionArns).toHaveLength(1);
      expect(ignored.executionArns).toEqual([]);
      const input = JSON.parse(world.sfn.executions.get(matched.executionArns[0] ?? '')?.input ?? '{}');
      expect(input).toMatchObject({
        source: 'aws.ecr',
        'detail-type': 'ECR Image Action',
        detail: {
          'action-type': 'PUSH',
          result: 'SUCCESS',
          'repository-name': 'antenna-backend',
          'image-tag': 'v1.3.0',
        },
      });
      expect(input.detail['image-digest']).toMatch(/^sha256:[a-f0-9]{64}$/);
    } finally {
      await standin.close();
    }
  });

  it('rolls a Red deploy back through the real state machine and handlers, and alerts', async () => {
    const outcome = await runScenario(loadScenario('red-after-deploy'), {
      config,
      configPath,
      clock: createClock(240),
    });

    const push = outcome.pushes[0];
    expect(push).toMatchObject({ status: 'FAILED', error: 'DeploymentRolledBack', finalColor: 'Green' });
    expect(push?.finalVersion).toMatch(/^v1\.2\.0-/);
    expect(push?.alerts.map((a) => a.subject).join('\n')).toMatch(/ROLLED BACK/);
  }, 60_000);
});
