import type { SchedulerAction, SchedulerLike, Subscription } from "rxjs";
import type { CallWatcher } from "./deadline";
import { CallsInFlight, DueHeap, withReschedule, YIELD_EVERY_MS } from "./steppedClock";
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

/** An action scheduled through the clock: its latest due time and what it is. */
interface Timed {
  action: Subscription | undefined;
  due: number;
  /** A beat of the loop's timer, a candle retry, or anything else (a time limit). */
  kind: "beat" | "retry" | "other";
}

/**
 * The scheduler of a replay: a `VirtualClock` on which the loop's timer beats only at the
 * recorded tick times. A live run's ticks drift (a timer fires late, and the next one less than
 * a period after it), skip (a tick still in flight when the next one was due) and move (a retry
 * after a failed tick); its journal has the times they really came at. So the periodic beat of
 * the loop's timer (`timer(0, tickMs)`) is rescheduled for the next recorded tick, however far,
 * and its first beat and the retry's `timer(tickMs)` are held until the first recorded tick at
 * or after them; a beat with no recorded tick left is dropped and the run's replay ends
 * (`exhausted`). Everything else (candle retries, time limits) runs at its own time. A beat
 * is told from the rest by how it is scheduled: without a state, with a delay of 0 or `tickMs`
 * (unless that is also CC_GET_CANDLES_RETRY_DELAY_MS, which a candle retry uses), or rescheduled
 * by itself every `tickMs`.
 *
 * It moves one time step at a time. While a call that answered with a Promise (an async
 * strategy) is in flight, virtual time moves only through what the call may be waiting for — a
 * candle retry, or anything at all while the replayed exchange holds a request the recording saw
 * time out — and otherwise holds still until the call settles or its time limit (or the grace)
 * has passed in real time: a strategy that awaits a timer or a server answers on the tick it was
 * asked on, as live, and a beat of the loop is not let through while it is still deciding.
 */
export class ReplayClock implements SchedulerLike, CallWatcher {
  /** Due times of the actions scheduled through this clock, each with its action. */
  private readonly dues = new DueHeap<Timed>();
  private readonly calls = new CallsInFlight();
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
    const timed: Timed = { action: undefined, due: this.clock.now() + Math.max(0, delay), kind: this.kindOf(delay, state) };
    let seen: SchedulerAction<T> | undefined;
    const action = this.clock.schedule<T>(
      function (this: SchedulerAction<T>, value?: T) {
        if (timed.kind === "beat" && self.held(this, value, timed)) return;
        timed.kind = "other";
        // The action as the work sees it: its reschedules (`this.schedule(state, period)`) are noted too.
        seen ??= self.noting(this, timed);
        work.call(seen, value);
      },
      delay,
      state,
    );
    timed.action = action;
    this.note(timed);
    return action;
  }

  callStarted(_call: string, limitMs: number): () => void {
    return this.calls.started(limitMs);
  }

  /**
   * Runs the replay a time step at a time until the run's recorded ticks are used up, nothing
   * is scheduled any more, or `stopped()` says so; `step()` is called after each step, once
   * nothing is in flight. `waitsOnVirtualTime()` says whether a call in flight waits for a time
   * limit to pass in virtual time (the replayed exchange holds a request that never answers).
   * Rejects if an action throws.
   */
  async run(step: () => void, stopped: () => boolean, waitsOnVirtualTime: () => boolean = () => false): Promise<void> {
    let yielded = performance.now();
    await this.clock.flushAsync(this.clock.now());
    for (;;) {
      if (this.calls.size > 0) {
        const next = this.next();
        if (next !== undefined && (next.item.kind === "retry" || waitsOnVirtualTime())) {
          this.clock.flush(next.due);
          await this.clock.flushAsync(this.clock.now());
          continue;
        }
        // Each call until it settles or its time limit (or the grace) has passed in real time.
        await this.calls.settled(this.plan.graceMs);
        await this.clock.flushAsync(this.clock.now());
        continue;
      }
      step();
      if (this.done || stopped()) return;
      const next = this.next();
      if (next === undefined) return;
      this.clock.flush(next.due);
      if (performance.now() - yielded > YIELD_EVERY_MS) {
        // Now and then a macrotask, so that the process stays responsive (a progress line, a signal).
        await this.clock.flushAsync(this.clock.now());
        yielded = performance.now();
      }
    }
  }

  private kindOf(delay: number, state: unknown): Timed["kind"] {
    if (state !== undefined) return "other";
    if (this.beatDelay(delay)) return "beat";
    return delay === this.plan.retryDelayMs ? "retry" : "other";
  }

  private beatDelay(delay: number): boolean {
    return (delay === 0 || delay === this.plan.tickMs) && delay !== this.plan.retryDelayMs;
  }

  // Holds a beat until the next recorded tick (true: not run now), or drops it past the last one.
  private held<T>(action: SchedulerAction<T>, value: T | undefined, timed: Timed): boolean {
    const now = this.clock.now();
    const target = firstAtOrAfter(this.plan.ticks, now);
    if (target === undefined) {
      this.done = true;
      return true;
    }
    if (target === now) return false;
    action.schedule(value, target - now);
    timed.due = target;
    this.note(timed);
    return true;
  }

  private noting<T>(action: SchedulerAction<T>, timed: Timed): SchedulerAction<T> {
    return withReschedule(action, (state, delay) => {
      const now = this.clock.now();
      // rxjs's timer reschedules itself every period, without a state: its next beat is the
      // next recorded tick, however far — a live tick may come less than a period after a
      // late one, or periods after one that hung.
      const beat = state === undefined && delay === this.plan.tickMs;
      const next = beat ? firstAfter(this.plan.ticks, now) : undefined;
      const wait = next === undefined ? Math.max(0, delay) : next - now;
      timed.kind = beat ? "beat" : "other";
      timed.due = now + wait;
      const again = action.schedule(state, wait);
      this.note(timed);
      return again;
    });
  }

  // The earliest live action due past the current time (entries left by a reschedule are dropped).
  private next(): { due: number; item: Timed } | undefined {
    return this.dues.first((due, timed) => timed.action?.closed !== true && due === timed.due && due > this.clock.now());
  }

  private note(timed: Timed): void {
    this.dues.push(timed.due, timed);
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

/** The first of `times` (ascending) after `time`. */
export function firstAfter(times: readonly number[], time: number): number | undefined {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((times[mid] as number) <= time) lo = mid + 1;
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
