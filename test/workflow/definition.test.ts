import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { handlersBySubstitution, localTaskHandlers } from '../../functions/registry.js';
import * as errors from '../../lib/errors.js';
import { LEASE_SECONDS } from '../../lib/steps/acquire-lock.js';
import { substitutionNames } from '../../lib/workflow/definition.js';
import {
  definition,
  handlerOf,
  outcomeSetBy,
  reachableFrom,
  type State,
  states,
  successors,
  taskPhases,
  untilNextTask,
} from './asl-graph.js';

// asl-validator ships no type declarations; this is the one call made.
const validate: (
  definition: unknown,
  options?: { checkArn: boolean; checkPaths: boolean },
) => {
  isValid: boolean;
  errors: unknown[];
} = createRequire(import.meta.url)('asl-validator');

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
      // A Task's TimeoutSeconds ran out: the event-driven watch's fallback poll.
      'States.Timeout',
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

  it('waits only inside poll loops, under an execution timeout no longer than the lock lease', () => {
    // The lock outlives any execution: a live execution's lock is never taken over for an expired lease.
    expect(definition.TimeoutSeconds).toBeGreaterThan(0);
    expect(LEASE_SECONDS).toBeGreaterThanOrEqual(definition.TimeoutSeconds as number);
    for (const [name, state] of Object.entries(states).filter(([, s]) => s.Type === 'Wait')) {
      expect(state.SecondsPath ?? state.Seconds, name).toBeDefined();
      expect(reachableFrom(state.Next as string).has(name), `${name} is in a loop`).toBe(true);
    }
  });

  describe('Catch routes (each Task phase is derived from the graph: test/workflow/asl-graph.ts)', () => {
    const phases = taskPhases();
    const watchTasks = new Set(
      Object.keys(states).filter((n) =>
        ['CheckHealth', 'AbortUpdate', 'RegisterWatch'].includes(handlerOf(states[n]) ?? ''),
      ),
    );
    const rollbackTasks = new Set(Object.keys(states).filter((n) => handlerOf(states[n]) === 'RollBack'));
    /** Where each Catch of `name` goes before the next Task: outcomes recorded, Tasks reached, Succeed states. */
    const routes = (name: string) =>
      ((states[name] as State).Catch ?? []).map((c) => {
        const { passed, tasks } = untilNextTask(c.Next);
        return {
          catcher: `${name} Catch [${c.ErrorEquals.join(', ')}] → ${c.Next}`,
          errors: c.ErrorEquals,
          outcomes: [...passed].flatMap((n) => outcomeSetBy(states[n]) ?? []),
          succeeds: [...passed].filter((n) => states[n]?.Type === 'Succeed'),
          tasks: [...tasks],
        };
      });
    const tasksIn = (phase: string) => Object.keys(phases).filter((n) => phases[n] === phase);

    it('has a Catch on every Task', () => {
      for (const name of Object.keys(phases))
        expect((states[name] as State).Catch?.length ?? 0, name).toBeGreaterThan(0);
    });

    // Issue 14: the answers to a manual approval (rejected, superseded, no answer in time) are not
    // failures: they end NOT_APPROVED, which also changed nothing.
    const approvalAnswers = ['ApprovalRejected', 'ApprovalSuperseded', 'States.Timeout'];
    const isApprovalAnswer = (name: string, errors: string[]) =>
      name === 'WaitForApproval' && errors.every((e) => approvalAnswers.includes(e));
    it('before DeployVersion, every Catch reports "failed before deploy" and touches nothing else', () => {
      for (const name of tasksIn('before-deploy'))
        for (const r of routes(name)) {
          expect(r.outcomes, r.catcher).toEqual([
            isApprovalAnswer(name, r.errors) ? 'NOT_APPROVED' : 'FAILED_BEFORE_DEPLOY',
          ]);
          expect(
            r.tasks.every((t) => phases[t] === 'report'),
            r.catcher,
          ).toBe(true);
        }
    });

    it('a promotion waits for approval before the lock, and every answer but approval ends NOT_APPROVED at the NotApproved Fail state', () => {
      expect(phases.WaitForApproval).toBe('before-deploy');
      expect(states.WaitForApproval?.Next).toBe('AcquireLock');
      const answers = routes('WaitForApproval').filter((r) => isApprovalAnswer('WaitForApproval', r.errors));
      expect(answers.map((r) => [...r.errors].sort())).toEqual([[...approvalAnswers].sort()]);
      expect(answers[0]?.tasks).toContain('RecordOutcome');
      expect(answers[0]?.tasks.every((t) => phases[t] === 'report')).toBe(true);
      const outcome = states.Outcome as unknown as { Choices: { StringEquals?: string; Next: string }[] };
      expect(outcome.Choices.find((c) => c.StringEquals === 'NOT_APPROVED')?.Next).toBe('NotApproved');
      expect(states.NotApproved).toMatchObject({ Type: 'Fail', Error: 'NotApproved' });
      // Its timeout is the target's promote.timeoutSeconds, carried on the release.
      expect(states.WaitForApproval?.TimeoutSecondsPath).toBe('$.release.approvalTimeoutSeconds');
    });
    it('the release phase sits between the version and DeployVersion, and every way out of it is DeployVersion or "failed before deploy"', () => {
      expect(states.IsVersionProcessed?.Choices).toEqual(
        expect.arrayContaining([expect.objectContaining({ Next: 'HasReleasePhase' })]),
      );
      for (const name of ['StartRelease', 'CheckRelease']) {
        expect(phases[name], name).toBe('before-deploy');
        for (const r of routes(name)) expect(r.outcomes, r.catcher).toEqual(['FAILED_BEFORE_DEPLOY']);
      }
      // Only a passed or skipped release reaches DeployVersion; anything else polls again.
      const verdict = states.ReleaseVerdict as unknown as { Choices: { Next: string }[]; Default: string };
      expect(verdict.Choices.map((c) => c.Next)).toEqual(['DeployVersion']);
      expect(verdict.Default).toBe('WaitForRelease');
    });

    it('post-deploy checks run after the health verdict and roll back on failure', () => {
      for (const name of ['StartChecks', 'CheckChecks']) {
        expect(phases[name], name).toBe('after-deploy');
        for (const c of (states[name] as State).Catch ?? []) expect(c.Next, name).toBe('RollBack');
      }
    });

    it('a DeployVersion failure without an answer from EB is watched, never reported as "unchanged"', () => {
      for (const name of tasksIn('deploy')) {
        const catchAll = routes(name).filter((r) => r.errors.includes('States.ALL'));
        expect(catchAll, name).toHaveLength(1);
        for (const r of catchAll) {
          expect(r.outcomes, r.catcher).toEqual([]);
          expect(r.succeeds, r.catcher).toEqual([]);
        }
      }
    });

    it('an execution that lost its lock stops at LockLost, touching nothing (another execution owns the environment)', () => {
      expect(states.LockLost).toMatchObject({ Type: 'Fail', Error: 'LockLost' });
      for (const [name, state] of Object.entries(states))
        for (const c of (state as State).Catch ?? [])
          if (c.ErrorEquals.includes('LockLost')) expect([name, c.Next]).toEqual([name, 'LockLost']);
    });

    // WatchEnded is no failure: the registration raises it only after a look whose verdict ends the
    // watch (lib/steps/watch.ts), and its Catch hands that verdict, state intact, to the verdict's Choice.
    const failures = (name: string) =>
      routes(name).filter((r) => !r.errors.includes('LockLost') && !r.errors.includes('WatchEnded'));

    it('WatchEnded goes only to a health verdict Choice, with the state as the look left it', () => {
      const caught = Object.entries(states).flatMap(([name, s]) =>
        ((s as State).Catch ?? [])
          .filter((c) => c.ErrorEquals.includes('WatchEnded'))
          .map((c) => ({ name, c })),
      );
      expect(caught.map(({ name }) => name).sort()).toEqual([
        'WaitForHealthEvent',
        'WaitForRollbackHealthEvent',
      ]);
      for (const { name, c } of caught) {
        expect(c.ErrorEquals, name).toEqual(['WatchEnded']);
        expect(c.ResultPath, name).toBeNull();
        expect(['HealthVerdict', 'RollbackVerdict'], name).toContain(c.Next);
      }
    });

    it('once the new version may be live, every Catch rolls back or keeps watching: never success, never "unchanged"', () => {
      for (const name of tasksIn('after-deploy'))
        for (const r of failures(name)) {
          expect(r.outcomes, r.catcher).toEqual([]);
          expect(r.succeeds, r.catcher).toEqual([]);
          expect(r.tasks.length, r.catcher).toBeGreaterThan(0);
          for (const t of r.tasks)
            expect(rollbackTasks.has(t) || watchTasks.has(t), `${r.catcher} reaches ${t}`).toBe(true);
        }
    });

    it('a failing rollback ends ROLLBACK FAILED (or keeps watching), never success or "unchanged"', () => {
      for (const name of tasksIn('rollback'))
        for (const r of failures(name)) {
          expect(r.succeeds, r.catcher).toEqual([]);
          if (r.outcomes.length > 0) expect(r.outcomes, r.catcher).toEqual(['ROLLBACK_FAILED']);
          else
            for (const t of r.tasks)
              expect(rollbackTasks.has(t) || watchTasks.has(t), `${r.catcher} reaches ${t}`).toBe(true);
        }
    });

    it('a failure to record or alert never changes the outcome', () => {
      for (const name of tasksIn('report'))
        for (const r of routes(name)) {
          expect(r.outcomes, r.catcher).toEqual([]);
          expect(
            r.tasks.every((t) => phases[t] === 'report'),
            r.catcher,
          ).toBe(true);
        }
    });

    it('acts on every health verdict: healthy, rollback and timeout each leave the poll loop', () => {
      // CheckHealth returns wait | healthy | rollback | timeout (HealthVerdictName in lib/workflow-state.ts);
      // a verdict that falls to Default polls again until the execution times out, holding the lock.
      const verdictChoices = Object.entries(states).filter(
        ([, s]) => s.Type === 'Choice' && JSON.stringify(s.Choices).includes('.verdict"'),
      );
      expect(verdictChoices.length).toBeGreaterThanOrEqual(2);
      for (const [name, choice] of verdictChoices) {
        const handled = new Set<string>();
        const visit = (rule: Record<string, unknown>): void => {
          if (typeof rule.Variable === 'string' && rule.Variable.endsWith('.verdict'))
            if (typeof rule.StringEquals === 'string') handled.add(rule.StringEquals);
          for (const inner of [...((rule.Or as []) ?? []), ...((rule.And as []) ?? [])]) visit(inner);
        };
        for (const rule of choice.Choices as Record<string, unknown>[]) visit(rule);
        expect([...handled].sort(), name).toEqual(expect.arrayContaining(['healthy', 'rollback', 'timeout']));
      }
    });
  });

  it('is drawn in docs/architecture.md: the diagram names every state, and only states', () => {
    const doc = readFileSync('docs/architecture.md', 'utf8');
    const section = doc.slice(doc.indexOf('## State machine'));
    const diagram = /```\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
    const words = new Set(diagram.match(/\b[A-Za-z]+\b/g));
    expect(Object.keys(states).filter((name) => !words.has(name))).toEqual([]);
    // CamelCase words (two capitals or more) in the diagram are state names.
    const camel = [...words].filter((w) => /^[A-Z][a-z]+[A-Z]/.test(w));
    expect(camel.filter((w) => !(w in states))).toEqual([]);
  });
});
