import { from, Observable, type ObservableInput, type Unsubscribable } from "rxjs";
import { attemptWithin } from "../src/deadline";
import { StoreReadError } from "../src/errors";
import { emit } from "../src/events";
import type { SignalState } from "../src/signal";
import { decodeState } from "../src/stateCodec";
import type { TradeContext } from "../src/tradeContext";

/**
 * Reads the stream's key from the store on every subscribe and hands what it holds to
 * `project`, whose stream it then mirrors — so a resubscription (a retry) resumes from the
 * store, the truth after a failure, and the tick stage gets its starting state as an argument.
 *
 * - a corrupt value the store quarantined (`StoreReadError` with `quarantinedTo`): reported on
 *   `error$`, the key starts fresh;
 * - any other read failure, or a read that has not settled within CC_STORE_TIMEOUT_SECONDS:
 *   the stream errors (a tick failure, retried), never starts fresh;
 * - another stream's value or one the engine does not recognise: `StoreConflictError`.
 *
 * ```
 * store:                     (read)-s
 * restoreState(ctx, p):      -------p(s)----…
 * ```
 *
 * @example
 * restoreState(context, (restored) => timer(0, context.tickMs, context.scheduler).pipe(tick(context, { restored })));
 *
 * @param context the stream's `TradeContext` (its store, key, identity, scheduler and config)
 * @param project builds the stream to run from the restored state (`null`: nothing stored)
 */
export function restoreState<R>(
  context: Pick<TradeContext, "store" | "key" | "identity" | "scheduler" | "limits">,
  project: (restored: SignalState | null) => ObservableInput<R>,
): Observable<R> {
  return new Observable<R>((subscriber) => {
    const { store, key, identity, scheduler, limits } = context;
    let pending: Unsubscribable | undefined;
    const resume = (stored: unknown) => {
      // The read is over: its way out is dropped, so that the one finalizer a subscriber of the
      // engine keeps in a field (see CompactSubscriber) is free for the stage that runs next.
      if (pending !== undefined) subscriber.remove(pending);
      pending = undefined;
      let state: SignalState | null;
      try {
        state = decodeState(stored, key, identity);
      } catch (conflict) {
        subscriber.error(conflict);
        return;
      }
      if (!subscriber.closed) subscriber.add(from(project(state)).subscribe(subscriber));
    };
    const failed = (error: unknown) => {
      if (error instanceof StoreReadError && error.quarantinedTo !== undefined) {
        emit.error(error);
        resume(null);
        return;
      }
      subscriber.error(error instanceof StoreReadError ? error : new StoreReadError({ key, cause: error }));
    };
    const limit = { scheduler, ms: limits.storeMs, call: `read(${key})`, key: "CC_STORE_TIMEOUT_SECONDS" };
    pending = attemptWithin(() => store.read(key), limit, resume, failed);
    if (pending !== undefined) subscriber.add(pending);
  });
}
