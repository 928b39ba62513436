import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { handlersBySubstitution, localTaskHandlers } from '../../functions/registry.js';
import * as errors from '../../lib/errors.js';
import { loadDeployDefinition, substitutionNames } from '../../lib/workflow/definition.js';

// asl-validator ships no type declarations; this is the one call made.
const validate: (
  definition: unknown,
  options?: { checkArn: boolean; checkPaths: boolean },
) => {
  isValid: boolean;
  errors: unknown[];
} = createRequire(import.meta.url)('asl-validator');

type State = Record<string, unknown> & { Type: string; Next?: string; Default?: string };
const definition = loadDeployDefinition();
const states = definition.States as Record<string, State>;

function successors(state: State): string[] {
  const next = [state.Next, state.Default];
  for (const c of (state.Choices as { Next: string }[] | undefined) ?? []) next.push(c.Next);
  for (const c of (state.Catch as { Next: string }[] | undefined) ?? []) next.push(c.Next);
  return next.filter((n): n is string => typeof n === 'string');
}

function reachableFrom(start: string): Set<string> {
  const seen = new Set<string>();
  const todo = [start];
  while (todo.length > 0) {
    const name = todo.pop() as string;
    if (seen.has(name)) continue;
    seen.add(name);
    const state = states[name];
    if (state) todo.push(...successors(state));
  }
  return seen;
}

describe('state-machines/deploy.asl.yml', () => {
  it('is valid Amazon States Language', () => {
    const result = validate(definition, { checkArn: true, checkPaths: true });
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it('maps every Task to a handler, and every handler is used', () => {
    expect(Object.keys(localTaskHandlers(definition)).sort()).toEqual(
      Object.entries(states)
        .filter(([, s]) => s.Type === 'Task')
        .map(([n]) => n)
        .sort(),
    );
    expect(substitutionNames()).toEqual(Object.keys(handlersBySubstitution).sort());
  });

  it('reaches every state from the start', () => {
    expect([...reachableFrom(definition.StartAt)].sort()).toEqual(Object.keys(states).sort());
  });

  it('rolls back at most once: nothing after RollBack leads back to it', () => {
    const afterRollback = new Set(
      [...successors(states.RollBack as State)].flatMap((n) => [...reachableFrom(n)]),
    );
    expect(afterRollback.has('RollBack')).toBe(false);
    expect(afterRollback.has('DeployVersion')).toBe(false);
  });

  it('ends every failure path with an alert: each terminal failure is reached only through NotifyOnCall', () => {
    for (const [name, state] of Object.entries(states)) {
      if (name === 'NotifyOnCall' || name === 'Outcome') continue;
      for (const next of successors(state)) {
        expect(['RolledBack', 'DeployFailed', 'RollbackFailed', 'Deployed']).not.toContain(next);
      }
    }
  });

  it('retries and catches only error names that exist', () => {
    // lib/errors.ts names each class after the error name it raises.
    const ours = new Set(Object.keys(errors));
    // Error names raised by AWS services and Lambda itself, which ebship lets through.
    const aws = new Set([
      'States.ALL',
      'Lambda.ServiceException',
      'Lambda.AWSLambdaException',
      'Lambda.SdkClientException',
      'Lambda.TooManyRequestsException',
      'Throttling',
      'ThrottlingException',
      'TooManyRequestsException',
      'ProvisionedThroughputExceededException',
      'RequestLimitExceeded',
    ]);
    const names = Object.values(states).flatMap((s) =>
      [
        ...((s.Retry as { ErrorEquals: string[] }[]) ?? []),
        ...((s.Catch as { ErrorEquals: string[] }[]) ?? []),
      ].flatMap((r) => r.ErrorEquals),
    );
    const unknown = names.filter((n) => !aws.has(n) && !ours.has(n));
    expect(unknown).toEqual([]);
  });

  it('waits only inside poll loops, under an execution timeout', () => {
    expect(definition.TimeoutSeconds).toBeGreaterThan(0);
    for (const [name, state] of Object.entries(states).filter(([, s]) => s.Type === 'Wait')) {
      expect(state.SecondsPath ?? state.Seconds, name).toBeDefined();
      expect(reachableFrom(state.Next as string).has(name), `${name} is in a loop`).toBe(true);
    }
  });
});
