import { type MonoTypeOperatorFunction, Observable } from "rxjs";
import { emit } from "../src/events";
import { attempt } from "../src/maybeAsync";
import type { TradeContext } from "../src/tradeContext";

/**
 * Takes the store's lock on the stream's key (when the store has `lock`) before subscribing
 * to the source, and releases it when the stream completes, errors or is unsubscribed — also
 * when it is unsubscribed while `lock` is still pending. Put it outside `retryAfter`: a retried
 * tick keeps the lock. A lock failure (`StoreLockedError`) is reported on `error$` and ends the
 * stream.
 *
 * ```
 * source:        --a--b--|
 * lockKey(ctx):  L-a--b--|R    (L lock taken, R released)
 * ```
 *
 * @example
 * source$.pipe(retryAfter(context.tickMs, context.scheduler), lockKey(context));
 *
 * @param context the stream's `TradeContext` (its store and key)
 */
export function lockKey<T>(context: Pick<TradeContext, "store" | "key">): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      const { store, key } = context;
      if (typeof store.lock !== "function") return source.subscribe(subscriber);
      const lock = store.lock.bind(store);
      const releaseOnce = (fn: () => void) => {
        try {
          fn();
        } catch (error) {
          emit.error(error);
        }
      };
      // The pending lock is never cancelled: when it resolves after an unsubscribe it is released at once.
      attempt(
        () => lock(key),
        (fn) => {
          if (subscriber.closed) {
            releaseOnce(fn);
            return;
          }
          let released = false;
          const release = () => {
            if (released) return;
            released = true;
            releaseOnce(fn);
          };
          // Released before an end is passed on, so whoever hears of it can lock the key again.
          subscriber.add(
            source.subscribe({
              next: (value) => subscriber.next(value),
              error: (error: unknown) => {
                release();
                subscriber.error(error);
              },
              complete: () => {
                release();
                subscriber.complete();
              },
            }),
          );
          // Finalizers run in the order they were added: the source is torn down first.
          subscriber.add(release);
        },
        (error) => {
          emit.error(error);
          subscriber.error(error);
        },
      );
      return undefined;
    });
}
