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
   * Slows simulated time to real speed until the returned release is called (holds nest). The
   * stand-in holds it while a Lambda handler runs, so the host's CPU time is not multiplied by the
   * scale (and an SDK backing off inside the handler waits as long as it would on AWS).
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
  /** Simulated milliseconds added (jumps) or dropped (a sleeper woken late). */
  let offset = 0;
  /** Sleepers, by the simulated instant they wait for. */
  const sleepers = new Set<{ until: number; wake: () => void }>();
  // Held time runs at real speed: a handler's own waits (the SDK backing off) take the time they
  // take on AWS, while its CPU time is not multiplied by the scale.
  const raw = () => {
    const real = performance.now();
    const held = heldMs + (heldSince === undefined ? 0 : real - heldSince);
    return startedAt + (real - realStart - held) * scale + held + offset;
  };
  const earliest = () => {
    let min = Number.POSITIVE_INFINITY;
    for (const s of sleepers) if (s.until < min) min = s.until;
    return min;
  };
  // Time never passes a sleeper's instant before that sleeper has woken: a timer that fires late
  // (a busy host) does not show as simulated time.
  const now = () => {
    const t = Math.floor(Math.min(raw(), earliest()));
    if (t > latest) latest = t;
    return t;
  };
  const toRealMs = (simulatedMs: number) => Math.max(0, simulatedMs / scale);
  const hold = () => {
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
  };
  const sleep = (simulatedMs: number, signal?: AbortSignal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const until = now() + Math.max(0, Math.ceil(simulatedMs));
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = () => {
        clearTimeout(timer);
        sleepers.delete(sleeper);
        signal?.removeEventListener('abort', finish);
      };
      const arm = () => {
        clearTimeout(timer);
        const left = until - now();
        if (left <= 0) {
          // Wake exactly at `until`: whatever real time the timer was late is dropped, and time
          // stands still until what the sleeper does next has run to its next wait.
          const release = hold();
          const late = raw() - until;
          if (late > 0 && until <= earliest()) offset -= late;
          finish();
          resolve();
          setImmediate(release);
          return;
        }
        // While time is held (or another sleeper is due first) it does not move: look again a
        // little later instead of spinning.
        const wait = toRealMs(left);
        timer = setTimeout(arm, holds > 0 || earliest() < until ? Math.max(5, wait) : wait);
      };
      const sleeper = { until, wake: arm };
      sleepers.add(sleeper);
      signal?.addEventListener(
        'abort',
        () => {
          finish();
          resolve();
        },
        { once: true },
      );
      arm();
    });
  return {
    now,
    scale,
    startedAt,
    toRealMs,
    elapsedSeconds: () => (now() - startedAt) / 1000,
    sleep,
    hold,
    jump: (simulatedMs) => {
      offset += Math.max(0, simulatedMs);
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
