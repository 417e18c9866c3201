import { type SchedulerAction, type SchedulerLike, Subscription } from "rxjs";
import type { CallWatcher } from "../deadline";
import { ArgumentRangeError } from "../errors";
import { showValue } from "../showValue";

/** Options of a `VirtualClock`. */
export interface VirtualClockOptions {
  /**
   * How long (real ms) `flushAsync` waits for one call in flight — an exchange, store or
   * strategy call that answered with a Promise — before it moves virtual time on without it.
   * Default 1000. A call that never settles costs this once; then virtual time runs on to the
   * call's time limit, as it would live. A test of calls that hang on purpose passes a small
   * value (e.g. 10), so that each costs that little real time.
   */
  callGraceMs?: number;
}

interface CallInFlight {
  readonly call: string;
  /** Real time (ms) after which `flushAsync` no longer waits for it. */
  readonly until: number;
  /** Virtual time at which its time limit has passed: the engine gave up on it (a `CallTimeoutError`). */
  readonly timesOutAt: number;
}

/**
 * A virtual-time scheduler for long replays and many streams. Unlike rxjs's
 * `VirtualTimeScheduler`, a periodic action (`timer(0, p)`) reschedules itself in place — it
 * does not chain a new child action per period, so a run of millions of ticks neither grows
 * the stack nor leaks — and the queue is a binary heap (O(log n) per schedule).
 *
 * `flush()` runs synchronously: right for synchronous strategies, exchanges and stores.
 * `flushAsync()` lets pending Promises settle between time steps, so `async` strategies run in
 * virtual time too, and waits for every call of the engine in flight (it is a `CallWatcher`),
 * each for at most `callGraceMs` of real time — so a store or exchange doing real I/O
 * (`fileStore`, HTTP) or a strategy that awaits a real timer runs in virtual time too.
 *
 * @example
 * const clock = new VirtualClock(Date.parse("2023-03-01T00:10:00Z"));
 * liveTrade$("BTCUSDT", strategy, { exchange: replayExchange(candles, clock), scheduler: clock, stop$ })
 *   .subscribe(console.log);
 * clock.flush(Date.parse("2023-03-02T00:00:00Z"));
 */
export class VirtualClock implements SchedulerLike, CallWatcher {
  private time: number;
  private readonly heap: VirtualAction<any>[] = [];
  private sequence = 0;
  private readonly graceMs: number;
  private readonly calls = new Set<CallInFlight>();
  /** Wakes a `flushAsync` waiting for calls. */
  private wake: (() => void) | undefined;

  /**
   * @param startTime the clock's initial `now()`, ms
   * @param options how long `flushAsync` waits for a call in flight
   */
  constructor(startTime = 0, options: VirtualClockOptions = {}) {
    if (typeof startTime !== "number" || !Number.isFinite(startTime)) {
      const shown = typeof startTime === "string" ? JSON.stringify(startTime) : String(startTime);
      throw new ArgumentRangeError(`VirtualClock startTime (${shown}) must be a finite time in ms, e.g. 0 or Date.parse("2023-03-01T00:00:00Z")`, {
        argument: "startTime",
        value: startTime,
      });
    }
    const { callGraceMs = 1000 } = options;
    if (!(callGraceMs >= 0 && callGraceMs <= 2_147_483_647)) {
      throw new ArgumentRangeError(
        `VirtualClock option callGraceMs (${showValue(callGraceMs)}) must be a number of ms from 0 to 2147483647, e.g. 10 for a test whose calls never settle (default 1000)`,
        { argument: "options.callGraceMs", value: callGraceMs },
      );
    }
    this.time = startTime;
    this.graceMs = callGraceMs;
  }

  now(): number {
    return this.time;
  }

  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    return new VirtualAction<T>(this, work).schedule(state, delay);
  }

  /** Actions waiting to run. */
  get pending(): number {
    return this.heap.length;
  }

  /**
   * What the engine is waiting for: its calls in flight (e.g. `lock(BTCUSDT:momentum)`), oldest
   * first. A call whose time limit has passed on this clock is not among them: the engine gave
   * up on it.
   */
  get callsInFlight(): string[] {
    this.dropTimedOut();
    return [...this.calls].map((entry) => entry.call);
  }

  /**
   * `CallWatcher`: the engine made a call that did not answer synchronously; `flushAsync` waits
   * for it until it settles, `callGraceMs` of real time has passed, or its time limit
   * (`limitMs`) has passed on this clock.
   */
  callStarted(call: string, limitMs: number): () => void {
    const timesOutAt = limitMs >= 0 ? this.time + limitMs : Number.POSITIVE_INFINITY;
    const entry: CallInFlight = { call, until: realNow() + this.graceMs, timesOutAt };
    this.calls.add(entry);
    return () => {
      if (this.calls.delete(entry)) this.wake?.();
    };
  }

  /**
   * Runs every action due at or before `until`, in time order (FIFO within a time), then
   * sets the clock to `until` when it is finite. With `until = Infinity` it runs until nothing
   * is scheduled: an endless `timer` never ends, so give the stream a stop or a bound.
   *
   * @returns the number of actions run
   */
  flush(until = Infinity): number {
    let ran = 0;
    for (let next = this.heap[0]; next !== undefined && next.due <= until; next = this.heap[0]) {
      this.pop();
      if (next.due > this.time) this.time = next.due;
      ran++;
      next.execute();
    }
    if (Number.isFinite(until) && until > this.time) this.time = until;
    return ran;
  }

  /**
   * Like `flush`, but before each time step (and at the end) it waits a macrotask, so every
   * Promise chain started by the previous step — an async `getSignal`, a Promise exchange —
   * settles before virtual time moves on. It also waits for every call of the engine in flight
   * (see `callsInFlight`) — a `fileStore` lock, read or write, an HTTP request, a strategy that
   * awaits a real timer: real time that no macrotask covers —, each until it settles, at most
   * `callGraceMs` of real time from its start: a call that never settles still lets virtual
   * time reach its time limit.
   *
   * @returns the number of actions run
   */
  async flushAsync(until = Infinity): Promise<number> {
    let ran = 0;
    await macrotask();
    for (;;) {
      let next = this.heap[0];
      // Time is about to move on (or the flush to end): first let the calls in flight settle.
      if (this.calls.size > 0 && (next === undefined || next.due > this.time)) {
        await this.callsSettled();
        next = this.heap[0];
      }
      if (next === undefined || next.due > until) break;
      const step = next.due;
      if (step > this.time) this.time = step;
      while (next !== undefined && next.due <= step) {
        this.pop();
        ran++;
        next.execute();
        next = this.heap[0];
      }
      await macrotask();
    }
    if (Number.isFinite(until) && until > this.time) this.time = until;
    return ran;
  }

  // Resolves once no call in flight is still worth waiting for: each one settled (and the
  // macrotask after it ran, so that what it started is in flight or scheduled in turn), ran
  // out of grace, or timed out. Whether a call waits for I/O, a real timer or nothing at all
  // cannot be told reliably from here, so every call gets its grace.
  private async callsSettled(): Promise<void> {
    for (;;) {
      this.dropTimedOut();
      const now = realNow();
      let first = Number.POSITIVE_INFINITY;
      for (const entry of this.calls) if (entry.until > now && entry.until < first) first = entry.until;
      if (first === Number.POSITIVE_INFINITY) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => this.wake?.(), first - now);
        this.wake = () => {
          this.wake = undefined;
          clearTimeout(timer);
          resolve();
        };
      });
      await macrotask();
    }
  }

  // Calls whose time limit has passed in virtual time: the engine has given up on them (a store
  // call that never settles is never ended by it), so nothing waits for them any more.
  private dropTimedOut(): void {
    for (const entry of this.calls) if (entry.timesOutAt <= this.time) this.calls.delete(entry);
  }

  /** @internal */
  enqueue(action: VirtualAction<any>, due: number): void {
    action.due = due;
    action.order = this.sequence++;
    if (action.index >= 0) {
      this.siftDown(this.siftUp(action.index));
      return;
    }
    action.index = this.heap.length;
    this.heap.push(action);
    this.siftUp(action.index);
  }

  /** @internal */
  remove(action: VirtualAction<any>): void {
    const i = action.index;
    if (i < 0) return;
    action.index = -1;
    const last = this.heap.pop() as VirtualAction<any>;
    if (i < this.heap.length) {
      this.heap[i] = last;
      last.index = i;
      this.siftDown(this.siftUp(i));
    }
  }

  private pop(): void {
    this.remove(this.heap[0] as VirtualAction<any>);
  }

  private before(a: VirtualAction<any>, b: VirtualAction<any>): boolean {
    return a.due < b.due || (a.due === b.due && a.order < b.order);
  }

  private siftUp(i: number): number {
    const heap = this.heap;
    const item = heap[i] as VirtualAction<any>;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as VirtualAction<any>;
      if (!this.before(item, p)) break;
      heap[i] = p;
      p.index = i;
      i = parent;
    }
    heap[i] = item;
    item.index = i;
    return i;
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const item = heap[i] as VirtualAction<any>;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.before(heap[right] as VirtualAction<any>, heap[left] as VirtualAction<any>) ? right : left;
      const c = heap[child] as VirtualAction<any>;
      if (!this.before(c, item)) break;
      heap[i] = c;
      c.index = i;
      i = child;
    }
    heap[i] = item;
    item.index = i;
  }
}

class VirtualAction<T> extends Subscription implements SchedulerAction<T> {
  due = 0;
  order = 0;
  index = -1;
  private state: T | undefined;

  constructor(
    private readonly clock: VirtualClock,
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

// Real time, for the grace of calls in flight only: virtual time is `now()`.
function realNow(): number {
  return globalThis.performance.now();
}

let pendingYield: (() => Promise<void>) | undefined;

// A macrotask boundary: every microtask (Promise reaction) queued before it has run. Resolved
// lazily so that loading this module touches no runtime-specific global.
function macrotask(): Promise<void> {
  if (pendingYield === undefined) {
    const g = globalThis as { setImmediate?: (fn: () => void) => unknown; MessageChannel?: typeof MessageChannel };
    if (typeof g.setImmediate === "function") {
      const setImmediate = g.setImmediate;
      pendingYield = () => new Promise((resolve) => setImmediate(resolve));
    } else if (typeof g.MessageChannel === "function") {
      const channel = new g.MessageChannel();
      const waiting: Array<() => void> = [];
      channel.port1.onmessage = () => waiting.shift()?.();
      pendingYield = () =>
        new Promise((resolve) => {
          waiting.push(resolve);
          channel.port2.postMessage(0);
        });
    } else {
      pendingYield = () => new Promise((resolve) => setTimeout(resolve, 0));
    }
  }
  return pendingYield();
}
