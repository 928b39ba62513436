/**
 * Simulated time for the stand-in. A deploy that takes minutes on AWS takes seconds here:
 * simulated now = start + elapsed real time x scale. The stand-in, the EB simulation, the
 * handlers (which read Date.now()) and the Wait states all read this one clock, so their notions
 * of "120 seconds later" agree.
 */
export interface Clock {
  /** Simulated milliseconds since the epoch. */
  now(): number;
  /** Simulated speed-up: 240 means one real second is four simulated minutes. */
  readonly scale: number;
  /** Simulated time when the clock was created. */
  readonly startedAt: number;
  /** Waits `simulatedMs` of simulated time (real time divided by the scale). */
  sleep(simulatedMs: number, signal?: AbortSignal): Promise<void>;
  /** Real milliseconds that `simulatedMs` of simulated time takes. */
  toRealMs(simulatedMs: number): number;
  /** Simulated seconds since the clock started, for progress lines. */
  elapsedSeconds(): number;
  /**
   * Stops simulated time until the returned release is called (holds nest). The stand-in holds it
   * while a Lambda handler runs, so the host's CPU time never shows as simulated time.
   */
  hold?(): () => void;
  /** Moves simulated time forward at once; sleepers whose time has come wake up. */
  jump?(simulatedMs: number): void;
}

export const DEFAULT_SCALE = 240;

const RealDate = Date;

/**
 * The latest simulated instant any clock in this process has shown. A new clock starts no earlier:
 * time that runs backwards between two scenarios breaks whatever kept a timestamp, such as the
 * SDK's adaptive retry rate limiter, which then waits for a refill that never comes.
 */
let latest = 0;

export function createClock(scale = DEFAULT_SCALE, startedAt = Math.max(RealDate.now(), latest)): Clock {
  if (!(scale > 0)) throw new RangeError(`clock scale must be positive, got ${scale}`);
  const realStart = performance.now();
  /** Real milliseconds spent held, and when the current hold began. */
  let heldMs = 0;
  let heldSince: number | undefined;
  let holds = 0;
  /** Simulated milliseconds jumped. */
  let jumped = 0;
  const running = () => {
    const real = performance.now();
    return real - realStart - heldMs - (heldSince === undefined ? 0 : real - heldSince);
  };
  const now = () => {
    const t = Math.floor(startedAt + running() * scale + jumped);
    if (t > latest) latest = t;
    return t;
  };
  const toRealMs = (simulatedMs: number) => Math.max(0, simulatedMs / scale);
  /** Sleepers wait for a simulated instant: re-armed when time was held or jumped meanwhile. */
  const sleepers = new Set<{ wake: () => void }>();
  const sleep = (simulatedMs: number, signal?: AbortSignal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const until = now() + simulatedMs;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = () => {
        clearTimeout(timer);
        sleepers.delete(sleeper);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const arm = () => {
        clearTimeout(timer);
        const left = until - now();
        if (left <= 0) return done();
        // While time is held it does not move: look again a little later instead of spinning.
        timer = setTimeout(arm, holds > 0 ? Math.max(5, toRealMs(left)) : toRealMs(left));
      };
      const sleeper = { wake: arm };
      sleepers.add(sleeper);
      signal?.addEventListener('abort', done, { once: true });
      arm();
    });
  return {
    now,
    scale,
    startedAt,
    toRealMs,
    elapsedSeconds: () => (now() - startedAt) / 1000,
    sleep,
    hold: () => {
      if (holds++ === 0) heldSince = performance.now();
      let released = false;
      return () => {
        if (released) return;
        released = true;
        if (--holds === 0 && heldSince !== undefined) {
          heldMs += performance.now() - heldSince;
          heldSince = undefined;
        }
      };
    },
    jump: (simulatedMs) => {
      jumped += Math.max(0, simulatedMs);
      for (const s of [...sleepers]) s.wake();
    },
  };
}

let installed: Clock | undefined;

/**
 * Replaces the global `Date` so `Date.now()` and `new Date()` read the simulated clock in this
 * process: the handlers' own time checks (timeouts, bake time) then agree with EB and the Wait
 * states. Returns a function that puts the real `Date` back.
 */
export function installClock(clock: Clock): () => void {
  if (installed) throw new Error('a scaled clock is already installed in this process');
  class ScaledDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(clock.now());
      // Date's overloads (value | y, m, d...) are passed through unchanged.
      else super(...(args as [number]));
    }
    static override now(): number {
      return clock.now();
    }
  }
  globalThis.Date = ScaledDate as DateConstructor;
  installed = clock;
  return () => {
    globalThis.Date = RealDate;
    installed = undefined;
  };
}

/** The clock installed with `installClock`, if any. */
export function installedClock(): Clock | undefined {
  return installed;
}
