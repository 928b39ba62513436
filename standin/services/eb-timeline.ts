/**
 * EB's pending changes (an update ending, health moving, a version processed), each applied when the
 * simulated clock reaches it: whatever a Describe call observes is what EB would show then.
 */
export class Timeline {
  private entries: { at: number; env?: string; apply: () => void }[] = [];

  /** Schedules a change; `env` tags what an abort or a termination of that environment cancels. */
  add(at: number, apply: () => void, env?: string): void {
    this.entries.push({ at, env, apply });
  }

  /** Drops the pending changes of an environment. */
  cancel(env: string): void {
    this.entries = this.entries.filter((t) => t.env !== env);
  }

  /** Applies every change due by `now` in time order, including changes scheduled by the ones applied. */
  settle(now: number): void {
    for (;;) {
      this.entries.sort((a, b) => a.at - b.at);
      const first = this.entries[0];
      if (!first || first.at > now) return;
      this.entries.shift();
      first.apply();
    }
  }
}
