import { GetExecutionHistoryCommand, type HistoryEvent, type SFNClient } from '@aws-sdk/client-sfn';
import { composeAlert } from '../../lib/alerts/compose.js';
import { maskAppText } from '../../lib/text/mask.js';
import type { DeployState } from '../../lib/workflow-state.js';
import { describeExecution, executionName } from '../aws/executions.js';
import type { Context } from '../context.js';
import { usage } from '../errors.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { formatDuration, formatTime, type Printer, type Style } from '../output.js';
import { type OutcomeName, outcomeOf } from './outcome.js';
import { ExecutionTracker, type ProgressLine, type StateRecord } from './track.js';

export interface FollowResult {
  execution: {
    arn: string;
    name: string;
    status: string;
    startDate?: string;
    stopDate?: string;
    console: string;
  };
  outcome: OutcomeName | 'running';
  exitCode: ExitCodeValue;
  headline: string;
  note?: string;
  error?: string;
  cause?: string;
  elapsedSeconds: number;
  release?: unknown;
  health?: unknown;
  rollbackHealth?: unknown;
  states: StateRecord[];
  summary?: { subject: string; message: string };
}

// Poll fast while the execution moves, back off while it waits (Describe calls count against the
// account's Step Functions API rate, shared with every other tool and console tab).
const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 10_000;
const BACKOFF = 1.5;
const SPINNER = ['|', '/', '-', '\\'];

/**
 * Attaches to an execution until it ends, printing progress as it goes. Ctrl-C (the context's
 * signal) detaches: the execution keeps running; ebship never calls StopExecution.
 */
export async function followExecution(ctx: Context, executionArn: string): Promise<FollowResult> {
  const { sfn } = ctx.aws();
  const region = await ctx.region();
  const described = await describeExecution(sfn, executionArn);
  if (!described) {
    throw usage(
      'execution-not-found',
      `no execution ${executionArn} in ${region}`,
      `List recent ones with \`ebship status\`, or pass the full execution ARN (check --stage and --region).`,
    );
  }
  const name = described.name ?? executionName(executionArn);
  const consoleUrl = `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
  const tracker = new ExecutionTracker();
  const reader = new HistoryReader(sfn, executionArn);
  const out = ctx.out;
  if (!ctx.json) {
    out.line(
      `${out.paint('bold', `Following ${name}`)} (${described.status}, started ${formatTime(described.startDate)})`,
    );
    // The console shows executions in AWS only; behind a custom endpoint (the local stand-in) it would 404.
    if (!ctx.io.env.AWS_ENDPOINT_URL && !ctx.io.env.AWS_ENDPOINT_URL_SFN)
      out.line(out.paint('dim', `  ${consoleUrl}`));
  }

  let delay = FIRST_DELAY_MS;
  let tick = 0;
  let status = described.status ?? 'RUNNING';
  while (true) {
    const events = await reader.next();
    for (const event of events) printLines(ctx, tracker.handle(event));
    if (tracker.terminal) break;
    if (events.length === 0) {
      const now = await describeExecution(sfn, executionArn);
      status = now?.status ?? status;
      if (status !== 'RUNNING') {
        for (const event of await reader.next()) printLines(ctx, tracker.handle(event));
        break;
      }
    }
    delay = events.length > 0 ? FIRST_DELAY_MS : Math.min(MAX_DELAY_MS, delay * BACKOFF);
    // Sleep in short steps so the live line's spinner moves and Ctrl-C answers at once.
    for (let waited = 0; waited < delay && !ctx.io.signal?.aborted; waited += 500) {
      if (!ctx.json) out.live(liveText(out, tracker, SPINNER[tick++ % SPINNER.length] ?? '|'));
      await ctx.sleep(Math.min(500, delay - waited));
    }
    if (ctx.io.signal?.aborted)
      return detach(ctx, tracker, name, executionArn, consoleUrl, status, described);
  }

  const final = await describeExecution(sfn, executionArn);
  const terminal = tracker.terminal ?? {
    status: (final?.status ?? status) as 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT',
    error: final?.error,
    cause: final?.cause,
    at: final?.stopDate?.toISOString() ?? new Date().toISOString(),
  };
  const result = outcomeOf({
    status: terminal.status,
    error: terminal.error,
    endState: tracker.endState,
    state: tracker.state,
  });
  const state = tracker.state as DeployState;
  const stopDate = final?.stopDate ?? new Date(terminal.at);
  const summary =
    state.release && result.outcome !== 'ignored' && result.outcome !== 'skipped'
      ? composeAlert(state, stopDate)
      : undefined;
  const followResult: FollowResult = {
    execution: {
      arn: executionArn,
      name,
      status: final?.status ?? terminal.status,
      startDate: described.startDate?.toISOString(),
      stopDate: stopDate.toISOString(),
      console: consoleUrl,
    },
    outcome: result.outcome,
    exitCode: result.exitCode,
    headline: result.headline,
    note: result.note,
    error: terminal.error,
    cause: terminal.cause,
    // The alert's duration when there is one (RecordOutcome's, also the history's): one number everywhere.
    elapsedSeconds: summary?.data.durationSeconds ?? tracker.elapsed(stopDate),
    release: state.release,
    health: state.health,
    rollbackHealth: state.rollbackHealth,
    states: tracker.states,
    summary: summary ? { subject: summary.subject, message: summary.message } : undefined,
  };
  if (!ctx.json) printOutcome(out, followResult);
  return followResult;
}

function detach(
  ctx: Context,
  tracker: ExecutionTracker,
  name: string,
  arn: string,
  consoleUrl: string,
  status: string,
  described: { startDate?: Date },
): FollowResult {
  const reattach = `ebship follow ${name}${ctx.stageFlag}`;
  ctx.out.clearLive();
  ctx.err.line(`Detached; the execution keeps running. Re-attach with: ${reattach}`);
  return {
    execution: { arn, name, status, startDate: described.startDate?.toISOString(), console: consoleUrl },
    outcome: 'detached',
    exitCode: ExitCode.Detached,
    headline: `Detached from ${name}; re-attach with: ${reattach}`,
    elapsedSeconds: tracker.elapsed(new Date()),
    states: tracker.states,
  };
}

const VERB_STYLE: Record<ProgressLine['verb'], Style> = {
  start: 'cyan',
  done: 'green',
  fail: 'red',
  retry: 'yellow',
  error: 'yellow',
  wait: 'dim',
};

function printLines(ctx: Context, lines: ProgressLine[]): void {
  if (ctx.json) return;
  const out = ctx.out;
  for (const raw of lines) {
    // On a terminal a start is shown by the live line until its state ends.
    if (raw.verb === 'start' && out.tty) continue;
    // Causes, events and errors quote the app and EB: no terminal escapes, no secrets.
    const l = { ...raw, text: oneLineMasked(raw.text), detail: raw.detail.map(oneLineMasked) };
    const when = `+${formatDuration(l.elapsedSeconds)}`.padEnd(9);
    const verb = out.paint(VERB_STYLE[l.verb], l.verb.padEnd(5));
    const healthy = /verdict healthy/.test(l.text) ? out.paint('green', l.text) : colourHealth(out, l.text);
    out.line(`  ${out.paint('dim', when)} ${verb}  ${l.state.padEnd(22)} ${healthy}`.trimEnd());
    for (const d of l.detail)
      out.line(`  ${' '.repeat(9)}        ${' '.repeat(22)}   ${out.paint('dim', d)}`);
  }
}

function colourHealth(out: Printer, text: string): string {
  return text
    .replace(/^Red\b/, out.paint('red', 'Red'))
    .replace(/^Yellow\b/, out.paint('yellow', 'Yellow'))
    .replace(/^Green\b/, out.paint('green', 'Green'));
}

function liveText(out: Printer, tracker: ExecutionTracker, spin: string): string {
  const running = tracker.running;
  const what = running
    ? `${running.name} (since +${formatDuration(tracker.elapsed(new Date(running.enteredAt)))})`
    : 'waiting for the next state';
  return `  ${out.paint('cyan', spin)} ${what}`;
}

function printOutcome(out: Printer, r: FollowResult): void {
  const ok = r.exitCode === ExitCode.Ok;
  out.line();
  const took = `after ${formatDuration(r.elapsedSeconds)}`;
  out.line(
    out.paint(
      ok ? 'green' : 'red',
      out.paint(
        'bold',
        `${r.headline} (${r.execution.status}${r.error ? `, ${oneLineMasked(r.error)}` : ''}) ${took}`,
      ),
    ),
  );
  if (r.note) out.line(`  note: ${oneLineMasked(r.note)}`);
  if (r.summary) {
    out.line();
    out.line(out.paint('bold', oneLineMasked(r.summary.subject)));
    for (const l of maskAppText(r.summary.message).split('\n')) out.line(`  ${l}`.trimEnd());
  } else if (r.cause && !ok) {
    out.line(`  ${oneLineMasked(r.cause)}`);
  }
}

/** App and EB text for one terminal line: masked (lib/text/mask.ts), newlines flattened. */
function oneLineMasked(text: string): string {
  return maskAppText(text).replace(/\s*\n\s*/g, ' / ');
}

/**
 * Reads new history events. GetExecutionHistory pages oldest first; when the last page has no
 * nextToken the only way to see later events is to ask for that page again, so the reader keeps
 * the token that led to the last page and skips the events it has already seen (ids only grow).
 */
class HistoryReader {
  private pageToken?: string;
  private lastId = 0;

  constructor(
    private readonly sfn: SFNClient,
    private readonly executionArn: string,
  ) {}

  async next(): Promise<HistoryEvent[]> {
    const fresh: HistoryEvent[] = [];
    for (;;) {
      let page: { events?: HistoryEvent[]; nextToken?: string };
      try {
        page = await this.sfn.send(
          new GetExecutionHistoryCommand({
            executionArn: this.executionArn,
            maxResults: 1000,
            nextToken: this.pageToken,
            includeExecutionData: true,
          }),
        );
      } catch (err) {
        // Tokens expire after 24 hours: start over and rely on the ids.
        if ((err as Error).name !== 'InvalidToken' || !this.pageToken) throw err;
        this.pageToken = undefined;
        continue;
      }
      for (const event of page.events ?? []) {
        const id = event.id ?? 0;
        if (id <= this.lastId) continue;
        this.lastId = id;
        fresh.push(event);
      }
      if (!page.nextToken) return fresh;
      this.pageToken = page.nextToken;
    }
  }
}
