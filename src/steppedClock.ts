import type { SchedulerAction, Subscription } from "rxjs";

// What the backtest's and the replay's clocks share: both move a `VirtualClock` one time step
// at a time (each learns the due time of every action scheduled through it), and hold it still
// while a call of the engine that answered with a Promise is in flight.

/** Real ms of synchronous steps between two macrotasks, so that the process stays responsive. */
export const YIELD_EVERY_MS = 20;

/**
 * The engine's calls in flight (what a clock that is a `CallWatcher` is told of), and the wait
 * for them: each until it settles, or its time limit (or the grace) has passed in real time.
 */
export class CallsInFlight {
  private readonly calls = new Set<{ settled: Promise<void>; limitMs: number }>();
  /** Ends a wait under way at once (the run is told to end). */
  private wake: (() => void) | undefined;

  get size(): number {
    return this.calls.size;
  }

  /** A call started with its time limit; the function returned is called when it settles (`CallWatcher.callStarted`). */
  started(limitMs: number): () => void {
    let end!: () => void;
    const entry = { settled: new Promise<void>((resolve) => (end = resolve)), limitMs };
    this.calls.add(entry);
    return () => {
      this.calls.delete(entry);
      end();
    };
  }

  /**
   * Waits for each call until it settles, or until its time limit or `graceMs` has passed in real
   * time since the wait began (it is then let go: virtual time moves on to the engine's own time
   * limit of the call); or until `wakeUp()`, or `stopped()` between two calls.
   */
  async settled(graceMs = Number.POSITIVE_INFINITY, stopped: () => boolean = () => false): Promise<void> {
    const started = performance.now();
    for (const call of [...this.calls]) {
      if (stopped()) return;
      const wait = Math.min(call.limitMs, graceMs) - (performance.now() - started);
      if (wait <= 0) {
        this.calls.delete(call);
        continue;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = await Promise.race([
        call.settled.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), wait);
          this.wake = () => resolve(false);
        }),
      ]);
      clearTimeout(timer);
      this.wake = undefined;
      if (late) this.calls.delete(call);
    }
  }

  /** Ends the wait under way, if any. */
  wakeUp(): void {
    this.wake?.();
  }
}

/** A min-heap of items by due time (ms). */
export class DueHeap<T> {
  private readonly heap: Array<{ due: number; item: T }> = [];

  push(due: number, item: T): void {
    const heap = this.heap;
    const entry = { due, item };
    let i = heap.length;
    heap.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const above = heap[parent] as { due: number; item: T };
      if (above.due <= due) break;
      heap[i] = above;
      i = parent;
    }
    heap[i] = entry;
  }

  /** The earliest entry that `live` keeps; those before it that it does not keep are dropped. */
  first(live: (due: number, item: T) => boolean): { due: number; item: T } | undefined {
    for (let top = this.heap[0]; top !== undefined; top = this.heap[0]) {
      if (live(top.due, top.item)) return top;
      this.pop();
    }
    return undefined;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && (heap[right] as { due: number }).due < (heap[left] as { due: number }).due ? right : left;
      const below = heap[child] as { due: number; item: T };
      if (below.due >= last.due) break;
      heap[i] = below;
      i = child;
    }
    heap[i] = last;
  }
}

/**
 * The action as its work sees it (`this` in the work): the same action, but its reschedules
 * (`this.schedule(state, period)`, as rxjs's `timer` does every period) go through `reschedule`,
 * so that the clock learns their due times too.
 */
export function withReschedule<T>(action: SchedulerAction<T>, reschedule: (state: T | undefined, delay: number) => Subscription): SchedulerAction<T> {
  return new Proxy(action, {
    get: (target, property) => {
      if (property === "schedule") return (state?: T, delay = 0) => reschedule(state, delay);
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
