import { type MonoTypeOperatorFunction, retry, type SchedulerLike, throwError, timer, asyncScheduler } from "rxjs";
import { isFatal } from "../src/errors";
import { emit } from "../src/events";

/**
 * On an error, reports it on `error$` and resubscribes after `delayMs` (so the stream
 * rehydrates from its store), forever. Errors that retrying cannot fix — `StoreConflictError`,
 * `StoreLockedError`, `ConfigError` — are reported and passed on instead.
 *
 * ```
 * source:               --a--#
 * retryAfter(60001):    --a-- 60001ms --a--#  …
 * ```
 *
 * @example
 * source$.pipe(retryAfter(60_001, scheduler));
 *
 * @param delayMs the wait before resubscribing, ms (liveTrade$ uses its tickMs)
 * @param scheduler where the wait is timed
 */
export function retryAfter<T>(delayMs: number, scheduler: SchedulerLike = asyncScheduler): MonoTypeOperatorFunction<T> {
  return retry({
    delay(error: unknown) {
      emit.error(error);
      return isFatal(error) ? throwError(() => error) : timer(delayMs, scheduler);
    },
  });
}
