import { type SchedulerAction, type SchedulerLike, Subscription } from "rxjs";

/**
 * A real-time scheduler for thousands of streams: actions due at the same millisecond share
 * one timer of the runtime. With rxjs's `asyncScheduler` every `timer(0, tickMs)` owns a
 * runtime timer, and the runtime fires each one on its own (in Node, each with its own
 * microtask checkpoint); here the streams started in the same millisecond tick from one
 * callback. Time and delays are exactly those of `asyncScheduler` (wall-clock ms); only the
 * dispatch is batched. A periodic action reschedules itself in place.
 *
 * @example
 * const scheduler = batchedScheduler();
 * for (const symbol of symbols) liveTrade$(symbol, strategy, { exchange, scheduler }).subscribe();
 */
export function batchedScheduler(): SchedulerLike {
  return new BatchedScheduler();
}

class BatchedScheduler implements SchedulerLike {
  private readonly buckets = new Map<number, BatchedAction<any>[]>();

  now(): number {
    return Date.now();
  }

  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    return new BatchedAction<T>(this, work).schedule(state, delay);
  }

  /** @internal */
  enqueue(action: BatchedAction<any>, due: number): void {
    let bucket = this.buckets.get(due);
    if (bucket === undefined) {
      bucket = [];
      this.buckets.set(due, bucket);
      setTimeout(() => this.run(due), Math.max(0, due - Date.now()));
    }
    bucket.push(action);
  }

  private run(due: number): void {
    const bucket = this.buckets.get(due);
    this.buckets.delete(due);
    if (bucket === undefined) return;
    for (const action of bucket) {
      // Skipped: cancelled, or rescheduled for another time since it was queued here.
      if (action.closed || action.due !== due) continue;
      try {
        action.execute();
      } catch (error) {
        // As rxjs reports an error no subscriber can take: thrown on its own, the batch goes on.
        setTimeout(() => {
          throw error;
        });
      }
    }
  }
}

class BatchedAction<T> extends Subscription implements SchedulerAction<T> {
  due = Number.NaN;
  private state: T | undefined;

  constructor(
    private readonly scheduler: BatchedScheduler,
    private readonly work: (this: SchedulerAction<T>, state?: T) => void,
  ) {
    super();
  }

  schedule(state?: T, delay = 0): Subscription {
    if (this.closed) return this;
    this.state = state;
    const due = Date.now() + Math.max(0, delay);
    if (due === this.due) return this; // already queued for that millisecond
    this.due = due;
    this.scheduler.enqueue(this, due);
    return this;
  }

  execute(): void {
    this.due = Number.NaN;
    this.work(this.state);
  }
}
