import { asyncScheduler, type MonoTypeOperatorFunction, Observable, type SchedulerLike, type Subscriber, type Subscription } from "rxjs";
import { ConfigError, StoreConflictError, StoreLockedError } from "../src/errors";
import { emit } from "../src/events";
import { ChainSubscriber } from "./chainSubscriber";

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
        const wait: Subscription = scheduler.schedule(() => {
          subscriber.remove(wait);
          attempt();
        }, delayMs);
        subscriber.add(wait);
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
