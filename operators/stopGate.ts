import { from, type MonoTypeOperatorFunction, Observable, type ObservableInput, type Subscription } from "rxjs";
import type { TickResult } from "../src/model";
import { holdsSignal } from "../src/rules";

/**
 * The graceful stop: after `stop$` first emits, completes as soon as no signal is open or
 * scheduled — at once when the last result held nothing, otherwise right after the result
 * that closes or cancels it (that result is passed on). `stop$` is subscribed at once; a stop
 * that arrives before the first result takes effect with it.
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
      let stopping = false;
      let holds: boolean | undefined;
      let upstream: Subscription | undefined;
      // The source (and the store lock in it) is released before completion is announced, so
      // whoever hears of it can start the pair again at once.
      const finish = () => {
        upstream?.unsubscribe();
        subscriber.complete();
      };
      const stopSubscription: Subscription = from(stop$).subscribe(() => {
        if (stopping) return;
        stopping = true;
        if (holds === false) finish();
      });
      subscriber.add(stopSubscription);
      if (subscriber.closed) return undefined;
      upstream = source.subscribe({
        next(result) {
          holds = holdsSignal(result);
          subscriber.next(result);
          if (stopping && !holds) finish();
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
      subscriber.add(upstream);
      return undefined;
    });
}
