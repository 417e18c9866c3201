import { asyncScheduler, type SchedulerAction, type SchedulerLike, Subscription } from "rxjs";
import { ArgumentRangeError } from "../errors";
import { showValue } from "../showValue";

export interface AcceleratedSchedulerOptions {
  /** The scheduler's `now()` when it is created (ms), e.g. the start of a replay. */
  origin: number;
  /** Simulated ms per real ms: 60 runs a minute per second. */
  speed: number;
  /**
   * The real scheduler underneath: its timers, and its clock when given. Default
   * `asyncScheduler`, with `performance.now()` as the clock: a millisecond clock sped up 600×
   * would move in 600 ms steps.
   */
  base?: SchedulerLike;
}

/**
 * A scheduler whose clock runs `speed` times faster than the real one, starting at `origin`:
 * it is real time, sped up — timers really fire, `now()` says where the replay is. With a
 * `replayExchange` on it, the live engine replays recorded markets at any speed, with real
 * I/O (file stores, child processes, the browser) in between.
 *
 * The scheduler carries its `timeScale` (= `speed`): the engine multiplies its time limits
 * (CC_EXCHANGE_TIMEOUT_SECONDS, CC_STORE_TIMEOUT_SECONDS, CC_MAX_SIGNAL_GENERATION_SECONDS)
 * and its stall limit by it, so that they keep their wall-clock length — a 5 ms disk write is
 * not a timeout at 14,400× — while ticks, candles and signal lifetimes run accelerated.
 *
 * @example
 * const clock = acceleratedScheduler({ origin: candles[10].timestamp, speed: 600 }); // 10 min/s
 * liveTrade$("BTCUSDT", strategy, { exchange: replayExchange(candles, clock), scheduler: clock });
 */
export function acceleratedScheduler(options: AcceleratedSchedulerOptions): SchedulerLike {
  const { origin, speed } = options;
  const base = options.base ?? asyncScheduler;
  const clock: () => number =
    options.base === undefined && typeof globalThis.performance?.now === "function" ? () => performance.now() : () => base.now();
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
  const start = clock();
  const scheduler: SchedulerLike & { timeScale: number } = {
    // Read by the engine: its time limits and stall limit stay wall-clock lengths (I/O runs in real time).
    timeScale: speed,
    now: () => origin + (clock() - start) * speed,
    schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
      return new AcceleratedAction(base, speed, work).schedule(state, delay);
    },
  };
  return scheduler;
}

// The action `work` sees as `this`: a periodic `timer` reschedules through it, so its delays
// must be scaled too (the base scheduler's own action would take them as real ms).
class AcceleratedAction<T> extends Subscription implements SchedulerAction<T> {
  private pending: Subscription | undefined;

  constructor(
    private readonly base: SchedulerLike,
    private readonly speed: number,
    private readonly work: (this: SchedulerAction<T>, state?: T) => void,
  ) {
    super();
  }

  schedule(state?: T, delay = 0): Subscription {
    if (this.closed) return this;
    this.pending?.unsubscribe();
    const self = this;
    this.pending = this.base.schedule(
      function (this: SchedulerAction<T>, value?: T) {
        self.pending = undefined;
        if (!self.closed) self.work(value);
      },
      Math.max(0, delay) / this.speed,
      state,
    );
    return this;
  }

  override unsubscribe(): void {
    if (this.closed) return;
    this.pending?.unsubscribe();
    this.pending = undefined;
    super.unsubscribe();
  }
}
