import { type MonoTypeOperatorFunction, Observable, type Subscriber, type Subscription } from "rxjs";
import { CallTimeoutError, RxTradeError, StoreLockedError, StoreWriteError } from "../src/errors";
import { emit } from "../src/events";
import { attempt } from "../src/maybeAsync";
import type { LockRelease, SignalStore } from "../src/model";
import { showValue } from "../src/showValue";
import type { TradeContext } from "../src/tradeContext";
import { ChainSubscriber } from "./chainSubscriber";

/**
 * Takes the store's lock on the stream's key (when the store has `lock`) before subscribing
 * to the source, and releases it when the stream completes, errors or is unsubscribed — also
 * when it is unsubscribed while `lock` is still pending. Put it outside `retryAfter`: a retried
 * tick keeps the lock. A refusal (`StoreLockedError`: another holder), a `lock` that has not
 * settled within CC_STORE_TIMEOUT_SECONDS (`StoreLockedError`), a `lock` that threw or rejected
 * with an error of its own or returned something other than a release function
 * (`StoreWriteError`, the original in `cause`) is reported on `error$` and ends the stream. The
 * lock is released before an end is passed on, so whoever hears of it can lock the key again.
 *
 * A lock the store reports lost (`LockRelease.onLost`: its lock file deleted or replaced, a
 * lease expired) ends the stream at once with that error, on `error$` too: the source is torn
 * down before anything else can be written.
 *
 * In one process, a `lock` call on a key whose earlier `lock` call on the same store is still
 * pending waits for it (and for its release, when its stream has already left): `subscribe();
 * unsubscribe(); subscribe()` in one turn locks the key, it does not find it held by itself.
 *
 * ```
 * source:        --a--b--|
 * lockKey(ctx):  L-a--b--|R    (L lock taken, R released)
 * ```
 *
 * @example
 * source$.pipe(retryAfter(context.tickMs, context.scheduler), lockKey(context));
 *
 * @param context the stream's `TradeContext` (its store, key, scheduler and config)
 */
export function lockKey<T>(context: Pick<TradeContext, "store" | "key" | "scheduler" | "limits">): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      const { store, key, scheduler, limits } = context;
      if (typeof store.lock !== "function") return source.subscribe(subscriber);
      const lock = store.lock.bind(store);
      const limitMs = limits.storeMs;
      afterPendingLock(store, key, (settled) => {
        if (subscriber.closed) {
          settled();
          return;
        }
        let timedOut = false;
        let timer: Subscription | undefined;
        const settle = () => {
          timer?.unsubscribe();
          settled();
        };
        // The pending lock is never cancelled: when it resolves after the stream left, it is released at once.
        const pending = attempt(
          () => lock(key),
          (release) => {
            if (typeof release !== "function") {
              settle();
              if (timedOut) return;
              const error = new StoreWriteError({
                key,
                message:
                  `cannot lock ${key}: store.lock returned ${showValue(release)}; it must return (or resolve to) the release, ` +
                  "a function that unlocks the key (LockRelease); the stream ends",
              });
              emit.error(error);
              subscriber.error(error);
              return;
            }
            // Released before the next in line is woken: it must find the key free.
            if (subscriber.closed || timedOut) releaseSafely(release, key);
            settle();
            if (!subscriber.closed && !timedOut) source.subscribe(new LockSubscriber(subscriber, release, key));
          },
          (failure) => {
            settle();
            if (timedOut) return;
            // A refusal from the store (StoreLockedError) stays as it is; a failure of its own is typed.
            const error =
              failure instanceof RxTradeError
                ? failure
                : new StoreWriteError({ key, cause: failure, message: `cannot lock ${key}: store.lock failed: ${describe(failure)}; the stream ends (check the store)` });
            emit.error(error);
            subscriber.error(error);
          },
        );
        if (pending === undefined) return; // settled synchronously: no time limit needed
        // Not torn down with the stream: a stream that leaves while its lock hangs must not hold up
        // the next one in line for longer than the limit.
        timer = scheduler.schedule(() => {
          timedOut = true;
          if (!subscriber.closed) {
            const cause = new CallTimeoutError(`lock(${key})`, "CC_STORE_TIMEOUT_SECONDS", limitMs);
            const error = new StoreLockedError({ key, cause, message: `${cause.message.replace(/^rxtrade: /, "")}: the store is not answering; the stream ends` });
            emit.error(error);
            subscriber.error(error);
          }
          settled(); // the next stream may try: a late lock is released when it comes
        }, limitMs);
      });
      return undefined;
    });
}

// The lock calls of this process still pending, per store and key, and who waits for them. A
// store may name the locks it shares with other instances (`lockScope`, e.g. fileStore's folder):
// two `fileStore(dir)` of one folder are one queue.
const pendingLocks = new WeakMap<SignalStore, Map<string, Array<() => void>>>();
const pendingScopedLocks = new Map<string, Map<string, Array<() => void>>>();

function queuesOf(store: SignalStore): Map<string, Array<() => void>> {
  const scope = (store as { lockScope?: unknown }).lockScope;
  const byScope = typeof scope === "string";
  let keys = byScope ? pendingScopedLocks.get(scope) : pendingLocks.get(store);
  if (keys === undefined) {
    keys = new Map();
    if (byScope) pendingScopedLocks.set(scope, keys);
    else pendingLocks.set(store, keys);
  }
  return keys;
}

/** Runs `call` once no earlier `lock` call of this process on the same store and key is pending. */
function afterPendingLock(store: SignalStore, key: string, call: (settled: () => void) => void): void {
  const keys = queuesOf(store);
  const waiting = keys.get(key);
  if (waiting !== undefined) {
    waiting.push(() => afterPendingLock(store, key, call));
    return;
  }
  const queue: Array<() => void> = [];
  keys.set(key, queue);
  let done = false;
  call(() => {
    if (done) return;
    done = true;
    keys.delete(key);
    for (const next of queue) next();
  });
}

class LockSubscriber<T> extends ChainSubscriber<T> {
  private held = true;
  private readonly stopWatching: (() => void) | undefined;

  constructor(
    destination: Subscriber<T>,
    private readonly release: LockRelease,
    private readonly key: string,
  ) {
    super(destination);
    if (typeof release.onLost === "function") {
      try {
        this.stopWatching = release.onLost((error) => this.lost(error));
      } catch (error) {
        emit.error(
          new StoreWriteError({
            key,
            cause: error,
            message: `cannot watch the lock of ${key}: its release's onLost threw: ${describe(error)}; trading goes on, but a loss of the lock will not be noticed`,
          }),
        );
      }
    }
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

  // The key is someone else's now: stop trading it before anything else happens.
  private lost(loss: unknown): void {
    if (this.closed) return;
    const out = this.out;
    this.unsubscribe();
    const error =
      loss instanceof RxTradeError
        ? loss
        : new StoreLockedError({ key: this.key, cause: loss, message: `${this.key} lost its lock: ${describe(loss)}; the stream ends (another holder may own the key now)` });
    emit.error(error);
    out.error(error);
  }

  private unlock(): void {
    if (!this.held) return;
    this.held = false;
    this.stopWatching?.();
    releaseSafely(this.release, this.key);
  }
}

function releaseSafely(release: () => void, key: string): void {
  try {
    release();
  } catch (error) {
    emit.error(
      new StoreWriteError({ key, cause: error, message: `cannot unlock ${key}: its release threw: ${describe(error)}; the key may stay locked until the store frees it` }),
    );
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : showValue(error);
}
