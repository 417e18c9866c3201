import { type MonoTypeOperatorFunction, Observable, type ObservableInput, type Subscriber } from "rxjs";
import type { TickResult } from "../src/model";
import { holdsSignal } from "../src/rules";
import { ChainSubscriber } from "./chainSubscriber";
import { listenStop, StopLatch, type StopListener } from "./stopLatch";

/**
 * The graceful stop: after `stop$` first emits, completes right after the first result that
 * leaves nothing open or scheduled (that result is passed on), or when the source completes.
 * `stop$` is subscribed at once. The source (and a store lock in it) is released before the
 * completion is announced.
 *
 * On the stop itself it completes only when the last result held nothing and `tick` (through a
 * shared `StopLatch`) vouches that no tick is in flight — a new signal may still be being
 * written. `tick` ends the stream at once when it knows nothing is in flight; between the
 * two, a stop never strands an unreported signal.
 *
 * ```
 * stop$:          -----s-------
 * source:         --a--a--a--c--a--
 * stopGate(s$):   --a--a--a--c|
 * ```
 *
 * @example
 * source$.pipe(stopGate(fromEvent(process, "SIGTERM")));
 *
 * @param stop$ its first emission requests the stop
 */
export function stopGate(stop$: ObservableInput<unknown>): MonoTypeOperatorFunction<TickResult> {
  return (source) =>
    new Observable<TickResult>((subscriber) => {
      const gate = new StopGateSubscriber(subscriber, stop$ instanceof StopLatch ? stop$ : undefined);
      const leave = listenStop(stop$, gate);
      subscriber.add(leave);
      if (!subscriber.closed) source.subscribe(gate);
    });
}

class StopGateSubscriber extends ChainSubscriber<TickResult> implements StopListener {
  private stopping = false;
  private holds: boolean | undefined;

  constructor(
    destination: Subscriber<TickResult>,
    private readonly latch: StopLatch | undefined,
  ) {
    super(destination);
  }

  onStop(): void {
    this.stopping = true;
    // At once only when `tick` vouches that nothing is held or in flight (say, a retry is
    // waiting) and the last result agrees: no write can still be on its way.
    if (this.holds === false && this.latch?.quiet === true) this.finish();
  }

  protected override _next(result: TickResult): void {
    this.holds = holdsSignal(result);
    this.out.next(result);
    if (this.stopping && !this.holds) this.finish();
  }

  // Upstream first, so whoever hears of the completion can start the pair again at once.
  private finish(): void {
    this.unsubscribe();
    this.out.complete();
  }
}
