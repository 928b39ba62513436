import { describe, expect, it } from 'vitest';
import { composeAlert } from '../../../lib/alerts/compose.js';
import type { DeployState } from '../../../lib/workflow-state.js';
import { NOW, release, succeeded } from './deploy-states.js';

/**
 * Manual approval (issue 14) in the deploy's own alert: who approved a promotion that deployed,
 * and why one was not deployed.
 */
const promoted = {
  ...release,
  trigger: 'promotion' as const,
  promotedFrom: {
    target: 'antenna-staging',
    executionId: 'arn:aws:states:eu-west-1:123456789012:execution:ebship-deploy:antenna-staging-3f2a9c1b7d4e',
  },
  approvalTimeoutSeconds: 3600,
};

describe('the alert of a promotion that waited for approval', () => {
  it('says who approved it, when, and their comment, once it deployed', () => {
    const state: DeployState = {
      ...succeeded,
      release: promoted,
      approval: {
        approvedBy: 'arn:aws:sts::123456789012:assumed-role/release-managers/alice',
        approvedAt: '2025-06-02T09:01:00.000Z',
        comment: 'QA signed off',
      },
    };

    const alert = composeAlert(state, NOW);

    expect(alert.message).toMatch(
      /Approved: +by arn:aws:sts::123456789012:assumed-role\/release-managers\/alice at 2025-06-02T09:01:00\.000Z \("QA signed off"\)/,
    );
    expect(alert.attributes.outcome).toBe('SUCCEEDED');
  });

  it.each([
    [
      {
        Error: 'ApprovalRejected',
        Cause: JSON.stringify({ by: 'arn:aws:iam::123456789012:user/bob', reason: 'no sign-off' }),
      },
      'rejected by arn:aws:iam::123456789012:user/bob: no sign-off',
    ],
    [{ Error: 'States.Timeout', Cause: '' }, 'no answer within 3600 s'],
    [
      {
        Error: 'ApprovalSuperseded',
        Cause: JSON.stringify({
          by: 'arn:aws:states:eu-west-1:1:execution:m:newer',
          versionLabel: 'v1.4.3-aaaaaaaaaaaa',
        }),
      },
      'superseded by v1.4.3-aaaaaaaaaaaa (execution arn:aws:states:eu-west-1:1:execution:m:newer)',
    ],
  ])('NOT_APPROVED (%o) says why, that nothing changed, and how to deploy it anyway', (error, reason) => {
    const state: DeployState = { release: promoted, error, outcome: { status: 'NOT_APPROVED' } };

    const alert = composeAlert(state, NOW);

    expect(alert.subject).toBe(
      '[ebship] Not approved, environment unchanged: antenna-prod v1.4.2-3f2a9c1b7d4e',
    );
    expect(alert.attributes).toMatchObject({ outcome: 'NOT_APPROVED', severity: 'info' });
    expect(alert.message).toContain(`was not deployed (${reason})`);
    expect(alert.message).toContain('the environment antenna-prod-web was not changed');
    expect(alert.message).toContain('Promoted from antenna-staging');
    expect(alert.message).toContain(`ebship deploy antenna-prod --digest ${promoted.imageDigest} --follow`);
  });
});
