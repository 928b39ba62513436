import { run } from '../../cli/main.js';

/**
 * Runs an `ebship` command in this process against the stand-in, as a person at a terminal would
 * (the scenario's "someone freezes prod", "someone approves the promotion"): the real CLI code,
 * with the environment pointHandlersAt set (the stand-in's endpoint and region) and stage `local`.
 */
export async function ebship(
  argv: string[],
  configPath: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { text: '', write: (chunk: string) => (out.text += chunk) };
  const err = { text: '', write: (chunk: string) => (err.text += chunk) };
  const code = await run([...argv, '--stage', 'local', '--config', configPath], {
    stdout: out,
    stderr: err,
    env: { ...process.env },
    cwd: process.cwd(),
  });
  return { code, stdout: out.text, stderr: err.text };
}
