import { type MonoTypeOperatorFunction, Observable, type Subscriber } from "rxjs";
import { emit } from "../src/events";
import { attempt } from "../src/maybeAsync";
import type { TradeContext } from "../src/tradeContext";
import { ChainSubscriber } from "./chainSubscriber";

/**
 * Takes the store's lock on the stream's key (when the store has `lock`) before subscribing
 * to the source, and releases it when the stream completes, errors or is unsubscribed — also
 * when it is unsubscribed while `lock` is still pending. Put it outside `retryAfter`: a retried
 * tick keeps the lock. A lock failure (`StoreLockedError`) is reported on `error$` and ends the
 * stream. The lock is released before an end is passed on, so whoever hears of it can lock
 * the key again.
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
      // The pending lock is never cancelled: when it resolves after an unsubscribe it is released at once.
      attempt(
        () => lock(key),
        (release) => {
          if (subscriber.closed) releaseSafely(release);
          else source.subscribe(new LockSubscriber(subscriber, release));
        },
        (error) => {
          emit.error(error);
          subscriber.error(error);
        },
      );
      return undefined;
    });
}

class LockSubscriber<T> extends ChainSubscriber<T> {
  private held = true;

  constructor(
    destination: Subscriber<T>,
    private readonly release: () => void,
  ) {
    super(destination);
  }

  protected override _error(error: unknown): void {
    this.unlock();
    super._error(error);
  }

  protected override _complete(): void {
    this.unlock();
    super._complete();
  }

  override unsubscribe(): void {
    if (this.closed) return;
    super.unsubscribe();
    // After the source is torn down.
    this.unlock();
  }

  private unlock(): void {
    if (!this.held) return;
    this.held = false;
    releaseSafely(this.release);
  }
}

function releaseSafely(release: () => void): void {
  try {
    release();
  } catch (error) {
    emit.error(error);
  }
}
