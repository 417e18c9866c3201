import { asyncScheduler, type MonoTypeOperatorFunction, Observable, type ObservableInput, race, retry, type SchedulerLike, timer } from "rxjs";
import { emit } from "../src/events";
import { isFatalError } from "./isFatalError";
import { StopRequest } from "./stopRequest";
import { stopRequested$ } from "./stopRequested";

/**
 * On an error, reports it on `error$` and resubscribes after `delayMs` (so the stream
 * rehydrates from its store), forever. Errors that retrying cannot fix (`isFatalError`:
 * `StoreConflictError`, `StoreLockedError`, `ConfigError`) are reported and passed on instead.
 * When `stop$` fires during the wait, it resubscribes at once: the store, read again, tells
 * whether anything is still open (then it runs to its end) or not (then the stream ends). Once
 * the stop has been requested, a failure waits its whole `delayMs`: a failing store or exchange
 * is not hammered.
 *
 * It is rxjs's `retry({ delay })`, as `liveTrade$` spells it out in its pipeline: the delay
 * reports the error, rethrows a fatal one and otherwise is `timer(delayMs, scheduler)`, raced by
 * the stop while none has been requested. Kept for pipelines of your own.
 *
 * ```
 * source:               --a--#
 * retryAfter(60001):    --a-- 60001ms --a--#  …
 * ```
 *
 * @example
 * import { retryAfter } from "rxtrade/operators";
 * source$.pipe(retryAfter(60_001, scheduler));
 *
 * @param delayMs the wait before resubscribing, ms (liveTrade$ uses its tickMs)
 * @param scheduler where the wait is timed
 * @param stop$ a graceful stop cuts a wait short; a `StopRequest` is shared, any other input is
 *   subscribed once per subscription of the result
 */
export function retryAfter<T>(
  delayMs: number,
  scheduler: SchedulerLike = asyncScheduler,
  stop$?: ObservableInput<unknown> | StopRequest,
): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      const stop = stop$ === undefined || stop$ instanceof StopRequest ? stop$ : new StopRequest(stop$);
      if (stop !== stop$) subscriber.add(() => stop?.close());
      const delay = (error: unknown) => {
        emit.error(error);
        if (isFatalError(error)) throw error;
        const wait$ = timer(delayMs, scheduler);
        return stop === undefined || stop.requested ? wait$ : race(wait$, stopRequested$(stop));
      };
      return source.pipe(retry({ delay })).subscribe(subscriber);
    });
}
