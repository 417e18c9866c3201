import { type MonoTypeOperatorFunction, Observable, type ObservableInput } from "rxjs";
import type { TickResult } from "../src/model";
import { holdsSignal } from "../src/rules";
import { ChainSubscriber } from "./chainSubscriber";
import { listenStop, type StopListener } from "./stopLatch";

/**
 * The graceful stop: after `stop$` first emits, completes as soon as no signal is open or
 * scheduled — at once when the last result held nothing, otherwise right after the result
 * that closes or cancels it (that result is passed on). `stop$` is subscribed at once; a stop
 * that arrives before the first result takes effect with it. The source (and a store lock in
 * it) is released before the completion is announced.
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
  private holds: boolean | undefined;

  onStop(): void {
    this.stopping = true;
    if (this.holds === false) this.finish();
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
