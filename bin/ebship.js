#!/usr/bin/env node
// The `ebship` command: runs the TypeScript sources in place through tsx, so `npx ebship` works
// from the repository after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
await import('../lib/polyfills.js');
const { run } = await import('../cli/main.js');

// Ctrl-C detaches from a followed execution (it keeps running in AWS); a second Ctrl-C quits at once.
const interrupt = new AbortController();
process.on('SIGINT', () => {
  if (interrupt.signal.aborted) process.exit(130);
  interrupt.abort();
});

const code = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  signal: interrupt.signal,
});
// Exit once everything written so far has reached the pipe: idle SDK sockets must not hold the process.
process.stdout.write('', () => process.exit(code));
