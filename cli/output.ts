import { maskDeep } from '../lib/text/mask.js';
/**
 * Where the CLI writes, and how. Human output goes to a terminal with colour and a live line that
 * redraws in place; piped, the same information comes as plain lines (CI logs, `| tee`), and with
 * `--json` stdout carries one JSON document and nothing else.
 */

/** The part of a stream the CLI uses: process.stdout/stderr in production, a buffer in tests. */
export interface TextSink {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export type Style = 'bold' | 'dim' | 'red' | 'green' | 'yellow' | 'cyan';

const CODES: Record<Style, string> = {
  bold: '1',
  dim: '2',
  red: '31',
  green: '32',
  yellow: '33',
  cyan: '36',
};
const CLEAR_LINE = '\r\u001b[2K';

export class Printer {
  private liveShown = false;

  constructor(
    private readonly sink: TextSink,
    readonly color: boolean,
  ) {}

  /** True on a terminal: live lines redraw; otherwise they are not printed at all. */
  get tty(): boolean {
    return this.sink.isTTY === true;
  }

  line(text = ''): void {
    this.clearLive();
    this.sink.write(`${text}\n`);
  }

  /** A status line that the next `live` or `line` replaces (terminal only). */
  live(text: string): void {
    if (!this.tty) return;
    const width = Math.max(20, (this.sink.columns ?? 80) - 1);
    // Cut by visible width: a line wider than the terminal wraps and `\r` then only clears its tail.
    this.sink.write(`${CLEAR_LINE}${truncateVisible(text, width)}`);
    this.liveShown = true;
  }

  clearLive(): void {
    if (!this.liveShown) return;
    this.sink.write(CLEAR_LINE);
    this.liveShown = false;
  }

  paint(style: Style, text: string): string {
    return this.color ? `\u001b[${CODES[style]}m${text}\u001b[0m` : text;
  }

  /**
   * One JSON document. Every string in it goes through the masking function first: --json output
   * carries history reasons, EB events and check output that quote the app (lib/text/mask.ts).
   */
  json(value: unknown): void {
    this.clearLive();
    this.sink.write(`${JSON.stringify(maskDeep(value), null, 2)}\n`);
  }
}

/** Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function wantsColor(sink: TextSink, env: Record<string, string | undefined>): boolean {
  return sink.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb';
}

function truncateVisible(text: string, width: number): string {
  let visible = 0;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] ?? '';
    if (ch === '\u001b') {
      const end = text.indexOf('m', i);
      if (end !== -1) {
        out += text.slice(i, end + 1);
        i = end;
        continue;
      }
    }
    if (visible >= width) break;
    out += ch;
    visible += 1;
  }
  return out;
}

/** Columns padded to the widest cell; the last column is not padded. */
export function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, visibleLength(cell));
    });
  }
  return rows.map((row) =>
    row
      .map((cell, i) =>
        i === row.length - 1 ? cell : cell + ' '.repeat(Math.max(0, (widths[i] ?? 0) - visibleLength(cell))),
      )
      .join('  ')
      .trimEnd(),
  );
}

function visibleLength(text: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes start with ESC.
  return text.replace(/\u001b\[[0-9;]*m/g, '').length;
}

/** One duration text for alerts, history and the CLI: 75 → "1m 15s" (lib/text/duration.ts). */
export { formatDuration } from '../lib/text/duration.js';

/** "2025-06-02 09:00:05 UTC": one time zone for everyone reading the same incident. */
export function formatTime(iso: string | Date | undefined): string {
  if (!iso) return '-';
  const d = typeof iso === 'string' ? new Date(iso) : iso;
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
