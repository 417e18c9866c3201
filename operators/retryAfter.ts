import { asyncScheduler, type MonoTypeOperatorFunction, Observable, type ObservableInput, type SchedulerLike, type Subscriber, type Subscription } from "rxjs";
import { ConfigError, StoreConflictError, StoreLockedError } from "../src/errors";
import { emit } from "../src/events";
import { ChainSubscriber } from "./chainSubscriber";
import { listenStop, type StopRequest } from "./stopRequest";

/**
 * On an error, reports it on `error$` and resubscribes after `delayMs` (so the stream
 * rehydrates from its store), forever. Errors that retrying cannot fix — `StoreConflictError`,
 * `StoreLockedError`, `ConfigError` — are reported and passed on instead. When `stop$` (the
 * run's `StopRequest`) fires during the wait, it resubscribes at once: the store, read again,
 * tells whether anything is still open (then it runs to its end) or not (then the stream ends).
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
 * @param stop$ a graceful stop cuts the wait short
 */
export function retryAfter<T>(
  delayMs: number,
  scheduler: SchedulerLike = asyncScheduler,
  stop$?: ObservableInput<unknown> | StopRequest,
): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      const attempt = () => {
        source.subscribe(new RetrySubscriber(subscriber, failed));
      };
      const failed = (error: unknown) => {
        emit.error(error);
        if (isFatal(error)) {
          subscriber.error(error);
          return;
        }
        let leaveStop: (() => void) | undefined;
        const resume = () => {
          if (subscriber.closed || waiting === undefined) return;
          subscriber.remove(waiting);
          waiting.unsubscribe();
          waiting = undefined;
          if (leaveStop !== undefined) {
            subscriber.remove(leaveStop);
            leaveStop();
          }
          attempt();
        };
        let waiting: Subscription | undefined = scheduler.schedule(resume, delayMs);
        subscriber.add(waiting);
        if (stop$ !== undefined) {
          // Only a stop that arrives during the wait cuts it short: once the stop is requested,
          // failures keep their delay (a failing store or exchange is not hammered).
          let waitingForStop = false;
          leaveStop = listenStop(stop$, { onStop: () => waitingForStop && resume() });
          waitingForStop = true;
          subscriber.add(leaveStop);
        }
      };
      attempt();
    });
}

/** Errors that end a stream instead of being retried: retrying cannot fix them. */
function isFatal(error: unknown): boolean {
  return error instanceof StoreConflictError || error instanceof StoreLockedError || error instanceof ConfigError;
}

// One subscriber per attempt (not rxjs's `retry`, whose closures cost a kilobyte per stream).
class RetrySubscriber<T> extends ChainSubscriber<T> {
  constructor(
    destination: Subscriber<T>,
    private readonly failed: (error: unknown) => void,
  ) {
    super(destination);
  }

  protected override _error(error: unknown): void {
    this.unsubscribe();
    this.failed(error);
  }
}
