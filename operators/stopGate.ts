import { type MonoTypeOperatorFunction, Observable, type ObservableInput, type Subscriber } from "rxjs";
import type { TickResult } from "../src/model";
import { holdsSignal } from "../src/rules";
import { ChainSubscriber } from "./chainSubscriber";
import { listenStop, type StopListener, type StopRequest } from "./stopRequest";

/**
 * The graceful stop, as seen from the results: once `stop$` has fired, completes right after
 * the first result that leaves nothing open or scheduled (that result is passed on first), or
 * when the source completes. `stop$` is subscribed at once. The source (and a store lock in
 * it) is released before the completion is announced.
 *
 * Unlike `takeWhile`, the condition is not on a value alone: a result that holds a signal lets
 * the stream run on after the stop (an open position runs to its close), and the stop itself
 * ends nothing — a new signal may still be on its way to the store. Inside `liveTrade$`, `tick`
 * ends the stream when nothing is held (a stop with nothing open ends it at once); this gate
 * is the same rule for pipelines composed without `tick`.
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
 * @param stop$ its first emission requests the stop (a `StopRequest` is shared, not resubscribed)
 */
export function stopGate(stop$: ObservableInput<unknown> | StopRequest): MonoTypeOperatorFunction<TickResult> {
  return (source) =>
    new Observable<TickResult>((subscriber) => {
      const gate = new StopGateSubscriber(subscriber);
      subscriber.add(listenStop(stop$, gate));
      if (!subscriber.closed) source.subscribe(gate);
    });
}

class StopGateSubscriber extends ChainSubscriber<TickResult> implements StopListener {
  private stopping = false;

  onStop(): void {
    this.stopping = true;
  }

  protected override _next(result: TickResult): void {
    this.out.next(result);
    if (this.stopping && !holdsSignal(result) && !this.closed) {
      // Upstream first, so whoever hears of the completion can start the pair again at once.
      this.unsubscribe();
      this.out.complete();
    }
  }
}
