import { Observable, type OperatorFunction } from "rxjs";
import { StoreReadError } from "../src/errors";
import { emit } from "../src/events";
import { attempt } from "../src/maybeAsync";
import type { SignalState } from "../src/signal";
import { decodeState } from "../src/stateCodec";
import type { TradeContext } from "../src/tradeContext";

/** The state read from the store, delivered to `tick` ahead of the first tick. */
export class RestoredState {
  constructor(readonly state: SignalState | null) {}
}

/**
 * Reads the stream's key from the store on every subscribe, emits what it holds as a
 * `RestoredState` (so `tick` resumes it), then mirrors the source. Resubscribing (as `retry`
 * does) reads again: the store, not memory, is the truth after a failure.
 *
 * - a corrupt value the store quarantined (`StoreReadError` with `quarantinedTo`): reported on
 *   `error$`, the key starts fresh;
 * - any other read failure: the stream errors (a tick failure, retried), never starts fresh;
 * - another stream's value or one the engine does not recognise: `StoreConflictError`.
 *
 * ```
 * source:              ---t---t---
 * restoreState(ctx):   r--t---t---     (r: RestoredState, once the read resolves)
 * ```
 *
 * @example
 * timer(0, context.tickMs, context.scheduler).pipe(restoreState(context), tick(context));
 *
 * @param context the stream's `TradeContext` (its store, key and identity)
 */
export function restoreState<T>(
  context: Pick<TradeContext, "store" | "key" | "identity">,
): OperatorFunction<T, T | RestoredState> {
  return (source: Observable<T>) =>
    new Observable<T | RestoredState>((subscriber) => {
      const { store, key, identity } = context;
      const resume = (stored: unknown) => {
        let state: SignalState | null;
        try {
          state = decodeState(stored, key, identity);
        } catch (conflict) {
          subscriber.error(conflict);
          return;
        }
        subscriber.next(new RestoredState(state));
        subscriber.add(source.subscribe(subscriber));
      };
      const failed = (error: unknown) => {
        if (error instanceof StoreReadError && error.quarantinedTo !== undefined) {
          emit.error(error);
          resume(null);
          return;
        }
        subscriber.error(error instanceof StoreReadError ? error : new StoreReadError({ key, cause: error }));
      };
      const pending = attempt(() => store.read(key), resume, failed);
      if (pending !== undefined) subscriber.add(pending);
    });
}
