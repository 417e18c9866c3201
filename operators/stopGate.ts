import { type MonoTypeOperatorFunction, Observable, type ObservableInput } from "rxjs";
import type { TickResult } from "../src/model";
import { holdsSignal } from "../src/rules";
import { ChainSubscriber } from "./chainSubscriber";
import { listenStop, type StopListener } from "./stopLatch";

/**
 * The graceful stop: after `stop$` first emits, completes right after the first result that
 * leaves nothing open or scheduled (that result is passed on), or when the source completes.
 * `stop$` is subscribed at once. The source (and a store lock in it) is released before the
 * completion is announced.
 *
 * It does not complete on the stop itself, even when the last result held nothing: a tick may
 * be in flight, its new signal still being written. `tick` ends the stream at once when it
 * knows nothing is in flight; between the two, a stop never strands an unreported signal.
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
      const gate = new StopGateSubscriber(subscriber);
      const leave = listenStop(stop$, gate);
      subscriber.add(leave);
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
    if (this.stopping && !holdsSignal(result)) this.finish();
  }

  // Upstream first, so whoever hears of the completion can start the pair again at once.
  private finish(): void {
    this.unsubscribe();
    this.out.complete();
  }
}
