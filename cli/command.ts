import type { Command } from 'commander';
import type { Context } from './context.js';

/**
 * Wraps a command's body for commander: builds the Context from the global options and records
 * the exit code the body returns. `A` is the command's arguments followed by its options object.
 */
export type Act = <A extends unknown[]>(
  body: (ctx: Context, ...args: A) => Promise<number>,
) => (...args: unknown[]) => Promise<void>;

export type Register = (program: Command, act: Act) => void;

export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => (l.startsWith('#') ? `  ${l}` : `  $ ${l}`)).join('\n')}\n`;
}
