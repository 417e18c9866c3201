import type { SchedulerAction, SchedulerLike, Subscription } from "rxjs";
import type { CallWatcher } from "./deadline";
import type { VirtualClock } from "./testing/virtualClock";

/** What a `ReplayClock` needs of the run it replays. */
export interface ReplayClockPlan {
  /** The recorded tick times of the run, oldest first. */
  ticks: readonly number[];
  /** The run's tick period (its `run` entry's `tickMs`). */
  tickMs: number;
  /** CC_GET_CANDLES_RETRY_DELAY_MS: a candle retry is never taken for the loop's timer. */
  retryDelayMs: number;
  /** Real ms a call in flight is waited for at most; default its own time limit. */
  graceMs?: number;
}

/** Real ms of synchronous steps between two macrotasks. */
const YIELD_EVERY_MS = 20;

/**
 * The scheduler of a replay: a `VirtualClock` on which the loop's timer beats only at the
 * recorded tick times. A live run's ticks drift (a timer fires late), skip (a tick still in
 * flight when the next one was due) and move (a retry after a failed tick); its journal has the
 * times they really came at. So each beat of the loop's timer — `timer(0, tickMs)` and its
 * periodic reschedules, and the retry's `timer(tickMs)` — is held until the first recorded tick
 * time at or after it, and past the run's last recorded tick it is dropped and the run's replay
 * ends (`exhausted`). Everything else (candle retries, time limits) runs at its own time. A beat
 * is told from the rest by how it is scheduled: without a state, with a delay of 0 or `tickMs`
 * (unless that is also CC_GET_CANDLES_RETRY_DELAY_MS, which a candle retry uses), or rescheduled
 * by itself every `tickMs`.
 *
 * Like `rxtrade backtest`'s clock, it moves one time step at a time and holds still while a call
 * that answered with a Promise (an async strategy) is in flight, until it settles or its time
 * limit has passed in real time, so the strategy answers on the tick it was asked on, as live.
 */
export class ReplayClock implements SchedulerLike, CallWatcher {
  /** Due times of the actions scheduled through this clock (a min-heap), each with its action. */
  private readonly dues: Array<{ due: number; action: Subscription }> = [];
  private readonly calls = new Set<{ settled: Promise<void>; limitMs: number }>();
  private done = false;

  constructor(
    private readonly clock: VirtualClock,
    private readonly plan: ReplayClockPlan,
  ) {}

  now(): number {
    return this.clock.now();
  }

  /** A beat came after the last recorded tick: the run's replay is over. */
  get exhausted(): boolean {
    return this.done;
  }

  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    const self = this;
    const kind = { beat: state === undefined && this.beatDelay(delay) };
    let seen: SchedulerAction<T> | undefined;
    const action = this.clock.schedule<T>(
      function (this: SchedulerAction<T>, value?: T) {
        if (kind.beat && self.held(this, value)) return;
        kind.beat = false;
        // The action as the work sees it: its reschedules (`this.schedule(state, period)`) are noted too.
        seen ??= self.noting(this, kind);
        work.call(seen, value);
      },
      delay,
      state,
    );
    this.note(this.clock.now() + Math.max(0, delay), action);
    return action;
  }

  callStarted(_call: string, limitMs: number): () => void {
    let end!: () => void;
    const entry = { settled: new Promise<void>((resolve) => (end = resolve)), limitMs };
    this.calls.add(entry);
    return () => {
      this.calls.delete(entry);
      end();
    };
  }

  /**
   * Runs the replay a time step at a time until the run's recorded ticks are used up, nothing
   * is scheduled any more, or `stopped()` says so; `step()` is called after each step, once
   * nothing is in flight. Rejects if an action throws.
   */
  async run(step: () => void, stopped: () => boolean): Promise<void> {
    let yielded = performance.now();
    await this.clock.flushAsync(this.clock.now());
    for (;;) {
      if (this.calls.size > 0) {
        await this.callsSettled();
        await this.clock.flushAsync(this.clock.now());
        continue;
      }
      step();
      if (this.done || stopped()) return;
      const next = this.nextDue();
      if (next === undefined) return;
      this.clock.flush(next);
      if (performance.now() - yielded > YIELD_EVERY_MS) {
        // Now and then a macrotask, so that the process stays responsive (a progress line, a signal).
        await this.clock.flushAsync(this.clock.now());
        yielded = performance.now();
      }
    }
  }

  private beatDelay(delay: number): boolean {
    return (delay === 0 || delay === this.plan.tickMs) && delay !== this.plan.retryDelayMs;
  }

  // Holds a beat until the next recorded tick (true: not run now), or drops it past the last one.
  private held<T>(action: SchedulerAction<T>, value: T | undefined): boolean {
    const now = this.clock.now();
    const target = firstAtOrAfter(this.plan.ticks, now);
    if (target === undefined) {
      this.done = true;
      return true;
    }
    if (target === now) return false;
    action.schedule(value, target - now);
    this.note(target, action);
    return true;
  }

  // Each call until it settles or its time limit (or the grace) has passed in real time.
  private async callsSettled(): Promise<void> {
    const started = performance.now();
    for (const call of [...this.calls]) {
      const wait = Math.min(call.limitMs, this.plan.graceMs ?? Number.POSITIVE_INFINITY) - (performance.now() - started);
      if (wait <= 0) {
        this.calls.delete(call);
        continue;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = await Promise.race([call.settled.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), wait)))]);
      clearTimeout(timer);
      // Past its limit: virtual time moves on to the engine's own time limit of the call.
      if (late) this.calls.delete(call);
    }
  }

  private noting<T>(action: SchedulerAction<T>, kind: { beat: boolean }): SchedulerAction<T> {
    return new Proxy(action, {
      get: (target, property) => {
        if (property === "schedule") {
          return (state?: T, delay = 0) => {
            // rxjs's timer reschedules itself every period, without a state.
            kind.beat = state === undefined && delay === this.plan.tickMs;
            const again = target.schedule(state, delay);
            this.note(this.clock.now() + Math.max(0, delay), target);
            return again;
          };
        }
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  // The earliest due time of a live action, past the current time.
  private nextDue(): number | undefined {
    for (let top = this.dues[0]; top !== undefined; top = this.dues[0]) {
      if (!top.action.closed && top.due > this.clock.now()) return top.due;
      this.pop();
    }
    return undefined;
  }

  private note(due: number, action: Subscription): void {
    const heap = this.dues;
    const item = { due, action };
    let i = heap.length;
    heap.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const above = heap[parent] as { due: number; action: Subscription };
      if (above.due <= due) break;
      heap[i] = above;
      i = parent;
    }
    heap[i] = item;
  }

  private pop(): void {
    const heap = this.dues;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && (heap[right] as { due: number }).due < (heap[left] as { due: number }).due ? right : left;
      const below = heap[child] as { due: number; action: Subscription };
      if (below.due >= last.due) break;
      heap[i] = below;
      i = child;
    }
    heap[i] = last;
  }
}

/** The first of `times` (ascending) at or after `time`. */
export function firstAtOrAfter(times: readonly number[], time: number): number | undefined {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((times[mid] as number) < time) lo = mid + 1;
    else hi = mid;
  }
  return times[lo];
}

/** The index of the last of `times` (ascending) at or before `time`, or -1. */
export function lastAtOrBefore(times: readonly number[], time: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((times[mid] as number) <= time) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}
