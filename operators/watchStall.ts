import { type MonoTypeOperatorFunction, Observable, type SchedulerLike, type Subscriber } from "rxjs";
import { StreamStalledError } from "../src/errors";
import { emit } from "../src/events";
import type { StreamIdentity } from "../src/signal";
import type { TradeContext } from "../src/tradeContext";
import { ChainSubscriber } from "./chainSubscriber";

/**
 * The stall watchdog of one run of a stream (it outlives retries). A stream that has
 * completed no tick for `limits.stallMs` (CC_STALL_TICKS tick periods, on its scheduler) —
 * calls hanging or failing, a retry after a retry — is stalled: a `StreamStalledError` on
 * `error$` and `onHealth(true)`; its next completed tick calls `onHealth(false)`. The stream
 * itself goes on.
 *
 * It owns no timer: the stream's own clock is its heartbeat. Put `clock()` on the tick
 * source (each emission is a moment to look) and `results()` where a result is delivered —
 * after `persistState` and `emitEvents`, before the retry (each result is a completed tick, each
 * error a failed attempt, also a moment to look). The source keeps beating while a tick hangs
 * (it is skipped, not stopped), and a failed attempt is retried every tick period, so a stall
 * is seen within about a tick period of its limit.
 *
 * ```
 * timer:          0--1--2--3--4--5--6--7--8--9--
 * tick results:   i--i--i-----------------------     (ticks 3… hang)
 * stall (5 ticks):                   S               (StreamStalledError at tick 7: 5 periods after tick 2)
 * ```
 *
 * @example
 * const stall = new StallWatch(context, (stalled) => console.log({ stalled }));
 * timer(0, context.tickMs, context.scheduler).pipe(stall.clock(), tick(context), persistState(context), stall.results());
 */
export class StallWatch {
  private readonly scheduler: SchedulerLike;
  private readonly limitMs: number;
  private readonly identity: StreamIdentity;
  private lastTickAt: number;
  private stalled = false;

  /**
   * @param context the stream's `TradeContext` (scheduler, limits, identity)
   * @param onHealth told `true` when the stream stalls, `false` when it recovers
   */
  constructor(
    context: Pick<TradeContext, "scheduler" | "limits" | "identity">,
    private readonly onHealth?: (stalled: boolean) => void,
  ) {
    this.scheduler = context.scheduler;
    this.limitMs = context.limits.stallMs;
    this.identity = context.identity;
    this.lastTickAt = context.scheduler.now();
  }

  /** Passes the tick source through, looking at the time on each emission. */
  clock<T>(): MonoTypeOperatorFunction<T> {
    return (source) =>
      new Observable<T>((subscriber) => {
        source.subscribe(new StallSubscriber(subscriber, this, false)); // chained to subscriber: no teardown to return
      });
  }

  /** Passes results through, each one a completed tick. */
  results<T>(): MonoTypeOperatorFunction<T> {
    return (source) =>
      new Observable<T>((subscriber) => {
        source.subscribe(new StallSubscriber(subscriber, this, true)); // chained to subscriber: no teardown to return
      });
  }

  /** @internal */
  look(): void {
    const now = this.scheduler.now();
    // A wall clock that stepped back restarts the count rather than hiding a stall for hours.
    if (now < this.lastTickAt) this.lastTickAt = now;
    if (this.stalled || now - this.lastTickAt < this.limitMs) return;
    this.stalled = true;
    emit.error(new StreamStalledError(this.identity, this.lastTickAt, this.limitMs));
    this.onHealth?.(true);
  }

  /** @internal */
  completed(): void {
    this.lastTickAt = this.scheduler.now();
    if (!this.stalled) return;
    this.stalled = false;
    this.onHealth?.(false);
  }
}

class StallSubscriber<T> extends ChainSubscriber<T> {
  constructor(
    destination: Subscriber<T>,
    private readonly watch: StallWatch,
    private readonly completes: boolean,
  ) {
    super(destination);
  }

  protected override _next(value: T): void {
    if (this.completes) this.watch.completed();
    else this.watch.look();
    this.out.next(value);
  }

  // A failed attempt is a moment to look too: a read or a tick that fails every time is a stall.
  protected override _error(error: unknown): void {
    this.watch.look();
    super._error(error);
  }
}
