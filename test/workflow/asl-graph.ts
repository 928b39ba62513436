/**
 * The deploy state machine as a graph, for rules that should survive renamed or added states:
 * phases are derived from where a Task sits relative to the Task that runs DeployVersionArn /
 * RollBackArn, not from state names.
 */
import { loadDeployDefinition } from '../../lib/workflow/definition.js';

export type State = Record<string, unknown> & {
  Type: string;
  Next?: string;
  Default?: string;
  Resource?: string;
  Catch?: { ErrorEquals: string[]; Next: string; ResultPath?: string | null }[];
};
export type States = Record<string, State>;

export const definition = loadDeployDefinition();
export const states = definition.States as States;

/**
 * The handler a Task runs: `DeployVersion` for `${DeployVersionArn}` (local ARNs end in
 * `ebship-local-<Name>`), also through the Lambda integration (`lambda:invoke`, Parameters.FunctionName).
 */
export function handlerOf(state: State | undefined): string | undefined {
  if (state?.Type !== 'Task' || typeof state.Resource !== 'string') return undefined;
  const fn = state.Resource.startsWith('arn:aws:states:::lambda:invoke')
    ? (state.Parameters as { FunctionName?: string } | undefined)?.FunctionName
    : state.Resource;
  return fn?.split(':function:ebship-local-')[1];
}

export function successors(state: State): string[] {
  const next = [state.Next, state.Default];
  for (const c of (state.Choices as { Next: string }[] | undefined) ?? []) next.push(c.Next);
  for (const c of state.Catch ?? []) next.push(c.Next);
  return next.filter((n): n is string => typeof n === 'string');
}

export function reachableFrom(start: string): Set<string> {
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

/** The outcome a `Mark*` Pass state records (`ResultPath: $.outcome`, `Result: { status }`), if it is one. */
export function outcomeSetBy(state: State | undefined): string | undefined {
  if (state?.Type !== 'Pass' || state.ResultPath !== '$.outcome') return undefined;
  const status = (state.Result as { status?: unknown } | undefined)?.status;
  return typeof status === 'string' ? status : undefined;
}

/**
 * Where a route goes before any other Task runs: the states entered from `start` through Pass,
 * Choice, Wait, Succeed and Fail states, plus the Tasks where that stops.
 */
export function untilNextTask(start: string): { passed: Set<string>; tasks: Set<string> } {
  const passed = new Set<string>();
  const tasks = new Set<string>();
  const todo = [start];
  while (todo.length > 0) {
    const name = todo.pop() as string;
    const state = states[name];
    if (!state || passed.has(name) || tasks.has(name)) continue;
    if (state.Type === 'Task') {
      tasks.add(name);
      continue;
    }
    passed.add(name);
    todo.push(...successors(state));
  }
  return { passed, tasks };
}

export function tasksRunning(handler: string): string[] {
  return Object.keys(states).filter((n) => handlerOf(states[n]) === handler);
}

export type Phase = 'before-deploy' | 'deploy' | 'after-deploy' | 'rollback' | 'report';

/**
 * Each Task's phase:
 * - report: the Tasks after an outcome is set (the log tail of a rollback, history, alert);
 * - rollback: reached from a RollBack Task;
 * - deploy: runs DeployVersion;
 * - after-deploy: reached from a DeployVersion Task's normal Next (the new version may be live);
 * - before-deploy: the rest (the environment has not been asked to change).
 */
export function taskPhases(): Record<string, Phase> {
  const marks = Object.keys(states).filter((n) => outcomeSetBy(states[n]));
  const fromMarks = marks.map((m) => reachableFrom(m));
  const report = new Set(Object.keys(states).filter((n) => fromMarks.some((r) => r.has(n))));
  const rollback = new Set(tasksRunning('RollBack').flatMap((n) => [...reachableFrom(n)]));
  const deploys = tasksRunning('DeployVersion');
  const afterDeploy = new Set(
    deploys.flatMap((n) => {
      const next = states[n]?.Next;
      return next ? [...reachableFrom(next)] : [];
    }),
  );
  const phases: Record<string, Phase> = {};
  for (const [name, state] of Object.entries(states)) {
    if (state.Type !== 'Task') continue;
    if (report.has(name)) phases[name] = 'report';
    else if (rollback.has(name)) phases[name] = 'rollback';
    else if (deploys.includes(name)) phases[name] = 'deploy';
    else if (afterDeploy.has(name)) phases[name] = 'after-deploy';
    else phases[name] = 'before-deploy';
  }
  return phases;
}
