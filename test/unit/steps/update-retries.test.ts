/**
 * The errors lib/steps/start-update.ts passes on for the state machine to retry (test/unit/steps/
 * start-update.test.ts) must be retried by the states that call it, DeployVersion and RollBack: a
 * throttled UpdateEnvironment left to the Catch would end a deploy "failed before deploy", or a
 * rollback "ROLLBACK FAILED", for a burst of API calls.
 */
import { describe, expect, it } from 'vitest';
import { type State, states } from '../../workflow/asl-graph.js';

const RETRIED_BY_START_UPDATE = [
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'EnvironmentNotReady',
  'UpdateOutcomeUnknown',
];

function retried(state: State | undefined): string[] {
  return ((state?.Retry as { ErrorEquals: string[] }[] | undefined) ?? []).flatMap((r) => r.ErrorEquals);
}

describe('states that start an EB update', () => {
  it.each(['DeployVersion', 'RollBack'])('%s retries every error start-update passes on', (name) => {
    expect(retried(states[name])).toEqual(expect.arrayContaining(RETRIED_BY_START_UPDATE));
  });
});
