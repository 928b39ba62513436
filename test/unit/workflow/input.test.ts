import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { InputInvalid } from '../../../lib/errors.js';
import { parseEvent, parseState } from '../../../lib/workflow/input.js';
import { LABEL, release as releaseOf } from '../functions/fixtures.js';

const release = releaseOf();

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(InputInvalid);
    return (err as Error).message;
  }
  throw new Error('expected InputInvalid');
}

describe('parseState', () => {
  it('names each malformed field by its path, with what it should be', () => {
    // Arrange
    const state = {
      release: { ...release, imageDigest: 'sha256:abc', platform: 'lambda' },
      health: { verdict: 'wait', polls: 1.5, nextPollSeconds: 15, causes: [], events: ['ok', 7] },
    };

    // Act
    const message = messageOf(() => parseState(state, undefined, ['release']));

    // Assert
    expect(message).toContain('release.imageDigest: expected sha256:<64 hex>');
    expect(message).toContain('release.platform: expected "ecs" or "docker"');
    expect(message).toContain('health.polls: must be a whole number');
    expect(message).toContain('health.events.1: expected a string, received a number');
    expect(message).toContain('this step must run inside the ebship state machine');
    expect(message).not.toContain('lambda');
  });

  it('says which required keys are missing, and an input that is no object at all', () => {
    expect(messageOf(() => parseState({ release }, undefined, ['release', 'bundle']))).toContain(
      'has no "bundle"',
    );
    expect(messageOf(() => parseState('{"release":{}}', undefined, ['release']))).toContain(
      '(event): expected an object, received a string',
    );
  });

  it('passes keys the contract does not name: the ASL adds its own', () => {
    const state = parseState({ release, resolved: { n: 1 } }, undefined, ['release']);
    expect(state.release.versionLabel).toBe(LABEL);
    expect(state).toMatchObject({ resolved: { n: 1 } });
  });
});

describe('parseEvent', () => {
  it('names the part of the event that is missing or malformed', () => {
    const phase = v.object({ phase: v.picklist(['deploy', 'rollback']) });
    expect(messageOf(() => parseEvent(phase, {}, 'the health watch phase'))).toMatch(
      /^the health watch phase is missing or malformed \(phase: is required\)/,
    );
    expect(parseEvent(phase, { phase: 'rollback', more: 1 }, 'the health watch phase')).toEqual({
      phase: 'rollback',
    });
  });
});
