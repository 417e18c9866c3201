import { type MonoTypeOperatorFunction, Observable, type SchedulerAction, type SchedulerLike, type Subscriber, type Subscription } from "rxjs";
import { StreamStalledError } from "../src/errors";
import { emit } from "../src/events";
import type { StreamIdentity } from "../src/signal";
import type { TradeContext } from "../src/tradeContext";
import { ChainSubscriber } from "./chainSubscriber";

/**
 * The stall watchdog: every value that passes is a completed tick. When none has passed for
 * `CC_STALL_TICKS` tick periods (on the stream's scheduler) — calls hanging or failing, a
 * retry after a retry — the stream is stalled: a `StreamStalledError` on `error$` and
 * `onHealth(true)`; the next completed tick calls `onHealth(false)`. The stream itself goes
 * on. Put it outside the retry: failed ticks are what it counts.
 *
 * One check per stall period, rescheduled in place; nothing per tick but a read of the clock.
 *
 * ```
 * source:            -t-t-t-----------------t-
 * watchStall(ctx):   -t-t-t----------S------t-     (S: StreamStalledError on error$, 5 periods after the last t)
 * ```
 *
 * @example
 * source$.pipe(retryAfter(context.tickMs, context.scheduler), watchStall(context, (stalled) => console.log({ stalled })));
 *
 * @param context the stream's `TradeContext` (scheduler, tickMs, config, identity)
 * @param onHealth told `true` when the stream stalls, `false` when it recovers
 */
export function watchStall<T>(
  context: Pick<TradeContext, "scheduler" | "limits" | "identity">,
  onHealth?: (stalled: boolean) => void,
): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      source.subscribe(new StallSubscriber(subscriber, context.scheduler, context.limits.stallMs, context.identity, onHealth));
    });
}

class StallSubscriber<T> extends ChainSubscriber<T> {
  private lastTickAt: number;
  private stalled = false;
  private readonly check: Subscription;

  constructor(
    destination: Subscriber<T>,
    private readonly scheduler: SchedulerLike,
    private readonly limitMs: number,
    private readonly identity: StreamIdentity,
    private readonly onHealth: ((stalled: boolean) => void) | undefined,
  ) {
    super(destination);
    this.lastTickAt = scheduler.now();
    this.check = scheduler.schedule(checkStall, limitMs, this);
  }

  protected override _next(value: T): void {
    this.lastTickAt = this.scheduler.now();
    if (this.stalled) {
      this.stalled = false;
      this.onHealth?.(false);
    }
    this.out.next(value);
  }

  override unsubscribe(): void {
    if (this.closed) return;
    this.check.unsubscribe();
    super.unsubscribe();
  }

  /** @internal */
  inspect(action: SchedulerAction<StallSubscriber<T>>): void {
    if (this.closed) return;
    const now = this.scheduler.now();
    // A wall clock that stepped back restarts the count rather than hiding a stall for hours.
    if (now < this.lastTickAt) this.lastTickAt = now;
    const quiet = now - this.lastTickAt;
    if (quiet < this.limitMs) {
      action.schedule(this, this.limitMs - quiet);
      return;
    }
    if (!this.stalled) {
      this.stalled = true;
      emit.error(new StreamStalledError(this.identity, this.lastTickAt, this.limitMs));
      this.onHealth?.(true);
    }
    action.schedule(this, this.limitMs);
  }
}

function checkStall<T>(this: SchedulerAction<StallSubscriber<T>>, watched?: StallSubscriber<T>): void {
  watched?.inspect(this);
}
