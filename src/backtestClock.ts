import type { SchedulerAction, SchedulerLike, Subscription } from "rxjs";
import type { CallWatcher } from "./deadline";
import { CallsInFlight, DueHeap, withReschedule, YIELD_EVERY_MS } from "./steppedClock";
import type { VirtualClock } from "./testing/virtualClock";

export interface BacktestClockOptions {
  /** Real ms a call in flight is waited for, at most (each call also stops at its own time limit). */
  graceMs: number;
  /**
   * Before each time step to `time`: a Promise when something must be done first (a stream of
   * candles read up to `time`), else `undefined`.
   */
  prepare?: (time: number) => Promise<void> | undefined;
}

/**
 * The backtest's clock: a `VirtualClock` moved one time step at a time, and held still while
 * a call of the engine that answered with a Promise is in flight (it is a `CallWatcher`), until
 * the call settles or `graceMs` has passed in real time — so a strategy that awaits a timer or
 * a server decides on the tick it was asked on, as live and in the demo. It learns each
 * action's due time as it is scheduled, periodic reschedules included, to step from one to the
 * next. `interrupt` ends the run at the current time; `fail` ends it with an error.
 */
export class BacktestClock implements SchedulerLike, CallWatcher {
  /** Whether the run ended by `interrupt` (not by running out of actions). */
  interrupted = false;
  /** Due times of the actions scheduled through this clock, each with its action. */
  private readonly dues = new DueHeap<Subscription>();
  private readonly calls = new CallsInFlight();
  private stopping: { error: unknown } | "interrupt" | undefined;

  constructor(
    private readonly clock: VirtualClock,
    private readonly options: BacktestClockOptions,
  ) {}

  now(): number {
    return this.clock.now();
  }

  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    const self = this;
    let seen: SchedulerAction<T> | undefined;
    const action = this.clock.schedule<T>(function (this: SchedulerAction<T>, value?: T) {
      // The action as the work sees it: its reschedules (`this.schedule(state, period)`) are noted too.
      seen ??= self.noting(this);
      work.call(seen, value);
    }, delay, state);
    this.note(this.clock.now() + Math.max(0, delay), action);
    return action;
  }

  callStarted(_call: string, limitMs: number): () => void {
    return this.calls.started(limitMs);
  }

  /** Ends the run at the current time, as soon as the step under way is done (Ctrl-C). */
  interrupt(): void {
    this.stopping ??= "interrupt";
    this.calls.wakeUp();
  }

  /** Ends the run with `error`, as soon as the step under way is done. */
  fail(error: unknown): void {
    this.stopping ??= { error };
    this.calls.wakeUp();
  }

  /** Runs every action, a time step at a time, until none is left. Rejects if one throws, or after `fail`. */
  async run(): Promise<void> {
    let yielded = performance.now();
    // What is due now (zero delays), every Promise chain settling.
    await this.clock.flushAsync(this.clock.now());
    for (;;) {
      if (this.stopping !== undefined) {
        if (this.stopping === "interrupt") {
          this.interrupted = true;
          return;
        }
        throw this.stopping.error;
      }
      if (this.calls.size > 0) {
        // Each call until it settles, its time limit or the grace has passed in real time, or the run is told to end.
        await this.calls.settled(this.options.graceMs, () => this.stopping !== undefined);
        // What the answers started: settled chains, zero delays, maybe further calls.
        await this.clock.flushAsync(this.clock.now());
        continue;
      }
      const next = this.nextDue();
      if (next === undefined) {
        // Scheduled some other way (not through this clock): run it as VirtualClock does.
        if (this.clock.pending > 0) await this.clock.flushAsync();
        return;
      }
      const ready = this.options.prepare?.(next);
      if (ready !== undefined) {
        await ready;
        // What was read may end the data before `next`: look again.
        continue;
      }
      // Nothing in flight: a synchronous step (a synchronous strategy, exchange and store
      // finish a tick within it). Now and then a macrotask, so that the process stays responsive.
      this.clock.flush(next);
      if (performance.now() - yielded > YIELD_EVERY_MS) {
        await this.clock.flushAsync(this.clock.now());
        yielded = performance.now();
      }
    }
  }

  // The earliest due time of a live action, past the current time.
  private nextDue(): number | undefined {
    return this.dues.first((due, action) => !action.closed && due > this.clock.now())?.due;
  }

  private noting<T>(action: SchedulerAction<T>): SchedulerAction<T> {
    return withReschedule(action, (state, delay) => {
      const again = action.schedule(state, delay);
      this.note(this.clock.now() + Math.max(0, delay), action);
      return again;
    });
  }

  private note(due: number, action: Subscription): void {
    this.dues.push(due, action);
  }
}
