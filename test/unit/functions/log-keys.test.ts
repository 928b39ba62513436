import { DescribeImagesCommand } from '@aws-sdk/client-ecr';
import { PublishCommand } from '@aws-sdk/client-sns';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler as notify } from '../../../functions/notify.js';
import { handler as resolveRelease } from '../../../functions/resolve-release.js';
import { logger } from '../../../lib/logger.js';
import {
  ACCOUNT,
  DIGEST,
  EXECUTION,
  LABEL,
  lambdaContext,
  mocks,
  PUSHED,
  pushEvent,
  STARTED,
  STATE_MACHINE,
  stateBeforeDeploy,
  useFreshTable,
} from './fixtures.js';

/**
 * A warm Lambda reuses the module-scope logger: keys appended for one invocation must not appear on
 * the next one's lines (issue 15: an ignored push was logged with the previous deploy's target).
 */

let lines: Record<string, unknown>[];

// Notify claims the execution's one alert in the table.
useFreshTable();

beforeEach(() => {
  lines = [];
  logger.setLogLevel('INFO');
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
    return true;
  });
  mocks.ecr.reset();
  mocks.ecr.on(DescribeImagesCommand).resolves({
    imageDetails: [
      {
        registryId: ACCOUNT,
        repositoryName: 'antenna-backend',
        imageDigest: DIGEST,
        imageTags: ['v10'],
        imagePushedAt: new Date(PUSHED),
      },
    ],
  });
  mocks.sns.reset();
  mocks.sns.on(PublishCommand).resolves({ MessageId: 'msg-1' });
});

afterEach(() => {
  vi.restoreAllMocks();
  logger.setLogLevel('SILENT');
});

const identity = (input: unknown, executionId = EXECUTION) => ({
  input,
  executionId,
  startedAt: STARTED,
  stateMachineArn: STATE_MACHINE,
});

describe('log keys on a warm Lambda', () => {
  it('ResolveRelease: an ignored push is not logged with the previous release target and version', async () => {
    const context = lambdaContext('ResolveRelease');
    await resolveRelease(identity(pushEvent('v10', DIGEST)), context);
    const other = { ...pushEvent(), detail: { ...pushEvent().detail, 'repository-name': 'other-service' } };

    const second = `${EXECUTION}-second`;
    await resolveRelease(identity(other, second), context);

    const [first, last] = lines.filter((l) => l.message === 'release resolved');
    expect(first).toMatchObject({ target: 'antenna-prod', versionLabel: LABEL, executionId: EXECUTION });
    expect(last).toMatchObject({ executionId: second });
    expect(last).not.toHaveProperty('target');
    expect(last).not.toHaveProperty('versionLabel');
  });

  it('Notify: an alert for a state without a release is not logged with the previous target', async () => {
    const context = lambdaContext('Notify');
    await notify({ ...stateBeforeDeploy(), outcome: { status: 'FAILED_BEFORE_DEPLOY' } }, context);

    await notify(
      {
        input: { target: 'nope' },
        error: { Error: 'InputInvalid' },
        outcome: { status: 'FAILED_BEFORE_DEPLOY' },
      },
      context,
    );

    const [first, last] = lines.filter((l) => l.message === 'on-call notified');
    expect(first).toMatchObject({ target: 'antenna-prod', versionLabel: LABEL });
    expect(last).toBeDefined();
    expect(last).not.toHaveProperty('target');
    expect(last).not.toHaveProperty('versionLabel');
    expect(last).not.toHaveProperty('executionId');
  });
});
