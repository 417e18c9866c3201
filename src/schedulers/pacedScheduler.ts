import { type SchedulerAction, type SchedulerLike, Subscription } from "rxjs";
import { ArgumentRangeError } from "../errors";
import { showValue } from "../showValue";

export interface PacedSchedulerOptions {
  /** The scheduler's `now()` when it is created (ms), e.g. the start of a replay. */
  origin: number;
  /** Simulated ms per real ms, at most: 60 runs up to a simulated minute per second. */
  speed: number;
}

/** A virtual clock paced by the wall clock: see `pacedScheduler`. */
export interface PacedScheduler extends SchedulerLike {
  /** `speed`, read by the engine: its time limits keep their wall-clock length. */
  readonly timeScale: number;
  /** The calls in flight that hold the clock back (e.g. `write(BTCUSDT:momentum)`), oldest first. */
  readonly callsInFlight: string[];
  /**
   * A call went asynchronous (a store write, an exchange call, an async strategy): the clock
   * takes no further step until the returned function is called (once, when it settled), or
   * until `limitMs` (in this clock's ms, so `limitMs / timeScale` of wall time) has passed on
   * the wall clock. Then it stops waiting for the call and runs unpaced to the call's start +
   * `limitMs`, so that the engine's own time limit of that call comes when it would live. The
   * shape of the engine's `CallWatcher`: a scheduler that has it is told of the engine's calls.
   *
   * @param call what was called, for `callsInFlight`, e.g. `read(BTCUSDT:momentum)`
   * @param limitMs the call's time limit on this clock (CC_STORE_TIMEOUT_SECONDS x 1000 x timeScale, …)
   * @returns the end of the call
   */
  callStarted(call: string, limitMs: number): () => void;
  /** Ends the clock: nothing scheduled runs any more, and it holds no runtime timer. */
  stop(): void;
}

/**
 * A virtual clock, paced by the wall clock: `now()` is the due time of the action being run,
 * and it moves only in steps, from one scheduled action to the next — at most `speed` times
 * faster than real time, and never while a call reported with `callStarted` (a store write,
 * an exchange call, an async strategy) is in flight. What runs when is therefore a function of
 * the scheduled times alone: the same replay gives the same results however loaded the
 * machine is; a slow disk only slows the pace. This is what makes `rxtrade demo` reproducible
 * (`acceleratedScheduler` is wall time sped up: a 5 ms write there is 72 simulated s at 240
 * simulated minutes per second, and the ticks it spans are skipped).
 *
 * ```
 * actions (virtual):  t0----------t1----------t2
 * callStarted:        [--write--]               (real I/O, in flight)
 * steps (wall):       t0----------------t1-----t2   (t1 waits for the write and for the pace)
 * ```
 *
 * Between steps, pending Promise chains settle (a macrotask boundary before each step). A
 * call that has not settled within its limit's wall-clock length no longer holds the clock:
 * it runs on, unpaced, to where the engine's time limit of that call is due.
 *
 * @example
 * const clock = pacedScheduler({ origin: candles[120].timestamp, speed: 600 }); // up to 10 min/s
 * const files = fileStore("./.rxtrade-demo");
 * const limitMs = getConfig().CC_STORE_TIMEOUT_SECONDS * 1000 * clock.timeScale;
 * const inFlight = <T>(call: string, pending: Promise<T>) => {
 *   const end = clock.callStarted(call, limitMs);
 *   return pending.finally(end);
 * };
 * const store = { read: (key: string) => inFlight(`read(${key})`, files.read(key)), write: (key: string, value: unknown) => inFlight(`write(${key})`, files.write(key, value)) };
 * liveTrade$("BTCUSDT", strategy, { exchange: replayExchange(candles, clock), store, scheduler: clock }).subscribe();
 *
 * @param options where the clock starts, and its top speed
 */
export function pacedScheduler(options: PacedSchedulerOptions): PacedScheduler {
  return new PacedClock(options);
}

/** Behind the pace by more than this (wall ms, e.g. waiting for a slow write), the pace starts over from now instead of catching up in a burst. */
const MAX_LAG_MS = 100;
/** A pace wait shorter than this is not worth a runtime timer (they fire in whole ms): the next macrotask will do. */
const MIN_SLEEP_MS = 1;

interface TrackedCall {
  readonly call: string;
  /** Virtual time when it started. */
  readonly start: number;
  readonly limitMs: number;
  /** Wall time (performance.now()) after which it no longer holds the clock. */
  readonly giveUpAt: number;
}

class PacedClock implements PacedScheduler {
  readonly timeScale: number;
  private time: number;
  private readonly queue: PacedAction<any>[] = [];
  private readonly calls = new Set<TrackedCall>();
  /** Where the pace is measured from: this wall time was this virtual time. */
  private anchorWall: number;
  private anchorTime: number;
  /** Steps due at or before this run unpaced (catching up to an overdue call's time limit). */
  private unpacedUntil = Number.NEGATIVE_INFINITY;
  private running = false;
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(options: PacedSchedulerOptions) {
    const { origin, speed } = options;
    if (!(Number.isFinite(speed) && speed > 0)) {
      throw new ArgumentRangeError(`speed (${showValue(speed)}) must be a finite number > 0, e.g. 600 (10 simulated minutes per second)`, {
        argument: "options.speed",
        value: speed,
      });
    }
    if (!Number.isFinite(origin)) {
      throw new ArgumentRangeError(`origin (${showValue(origin)}) must be a finite time in ms, e.g. Date.parse("2023-03-01T02:00Z")`, {
        argument: "options.origin",
        value: origin,
      });
    }
    this.timeScale = speed;
    this.time = origin;
    this.anchorTime = origin;
    this.anchorWall = performance.now();
  }

  now(): number {
    return this.time;
  }

  get callsInFlight(): string[] {
    return [...this.calls].map((entry) => entry.call);
  }

  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    return new PacedAction<T>(this, work).schedule(state, delay);
  }

  callStarted(call: string, limitMs: number): () => void {
    if (this.stopped) return () => {};
    const entry: TrackedCall = { call, start: this.time, limitMs, giveUpAt: performance.now() + limitMs / this.timeScale };
    this.calls.add(entry);
    return () => {
      if (this.calls.delete(entry)) this.wake?.();
    };
  }

  stop(): void {
    this.stopped = true;
    for (const action of this.queue) action.index = -1;
    this.queue.length = 0;
    this.calls.clear();
    this.wake?.();
  }

  /** @internal */
  enqueue(action: PacedAction<any>, due: number): void {
    if (this.stopped) return;
    if (action.index >= 0) this.queue.splice(action.index, 1);
    action.due = due;
    // Few actions are ever pending (a stream's timer, a time limit, a stop): a sorted array,
    // an action placed after those due at the same time (first scheduled, first run).
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.queue[mid] as PacedAction<any>).due <= due) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, action);
    this.reindex(lo);
    if (this.running) this.wake?.();
    else this.start();
  }

  /** @internal */
  remove(action: PacedAction<any>): void {
    const i = action.index;
    if (i < 0) return;
    this.queue.splice(i, 1);
    action.index = -1;
    this.reindex(i);
  }

  private reindex(from: number): void {
    for (let i = from; i < this.queue.length; i++) (this.queue[i] as PacedAction<any>).index = i;
  }

  private start(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    this.run().catch((error: unknown) => {
      // Thrown by an action's work, as a runtime timer would: an uncaught exception.
      this.running = false;
      setTimeout(() => {
        throw error;
      });
    });
  }

  // One step per turn: let Promise chains settle, wait for the calls in flight and for the
  // pace, then run every action due at the next time. Ends when nothing is scheduled.
  private async run(): Promise<void> {
    for (;;) {
      await macrotask();
      if (this.stopped || this.queue.length === 0) {
        this.running = false;
        return;
      }
      const wall = performance.now();
      if (this.calls.size > 0) {
        let wakeAt = Number.POSITIVE_INFINITY;
        for (const call of this.calls) {
          if (wall >= call.giveUpAt) {
            this.calls.delete(call);
            this.unpacedUntil = Math.max(this.unpacedUntil, call.start + call.limitMs);
          } else wakeAt = Math.min(wakeAt, call.giveUpAt);
        }
        if (this.calls.size > 0) {
          await this.sleep(wakeAt - wall);
          continue;
        }
      }
      const due = (this.queue[0] as PacedAction<any>).due;
      if (due <= this.unpacedUntil) {
        this.anchorWall = wall;
        this.anchorTime = due;
      } else {
        const target = this.anchorWall + (due - this.anchorTime) / this.timeScale;
        if (target - wall >= MIN_SLEEP_MS) {
          await this.sleep(target - wall);
          continue;
        }
        if (wall - target > MAX_LAG_MS) {
          this.anchorWall = wall;
          this.anchorTime = due;
        }
      }
      this.step(due);
    }
  }

  // Every action due at `due`, in the order scheduled — those a step schedules for the same
  // time too (a zero delay): one synchronous batch, as a VirtualClock runs it.
  private step(due: number): void {
    if (due > this.time) this.time = due;
    for (let next = this.queue[0]; next !== undefined && next.due <= this.time && !this.stopped; next = this.queue[0]) {
      this.remove(next);
      next.execute();
    }
  }

  // Until `ms` have passed, or something changed (a call settled, an action was scheduled, a stop).
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(done, Math.max(0, ms)) : undefined;
      const self = this;
      function done() {
        if (timer !== undefined) clearTimeout(timer);
        if (self.wake === done) self.wake = undefined;
        resolve();
      }
      this.wake = done;
    });
  }
}

class PacedAction<T> extends Subscription implements SchedulerAction<T> {
  due = 0;
  index = -1;
  private state: T | undefined;

  constructor(
    private readonly clock: PacedClock,
    private readonly work: (this: SchedulerAction<T>, state?: T) => void,
  ) {
    super();
  }

  schedule(state?: T, delay = 0): Subscription {
    if (this.closed) return this;
    this.state = state;
    this.clock.enqueue(this, this.clock.now() + Math.max(0, delay));
    return this;
  }

  execute(): void {
    if (this.closed) return;
    this.work(this.state);
  }

  override unsubscribe(): void {
    if (this.closed) return;
    this.clock.remove(this);
    super.unsubscribe();
  }
}

// A macrotask boundary: every Promise reaction queued before it has run, and I/O callbacks
// that were ready. setImmediate in Node; a MessageChannel or setTimeout elsewhere.
function macrotask(): Promise<void> {
  const g = globalThis as { setImmediate?: (fn: () => void) => unknown };
  if (typeof g.setImmediate === "function") {
    const setImmediate = g.setImmediate;
    return new Promise((resolve) => setImmediate(resolve));
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}
