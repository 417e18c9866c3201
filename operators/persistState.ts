import { type MonoTypeOperatorFunction, Observable } from "rxjs";
import { StoreWriteError } from "../src/errors";
import { attempt } from "../src/maybeAsync";
import type { SignalRow, TickResult } from "../src/model";
import { encodeState } from "../src/stateCodec";
import type { TradeContext } from "../src/tradeContext";
import { invokeCallback } from "./emitEvents";

const NO_WRITE = Symbol("no write");

/** What a result changes in the store: the new value, `null` to clear, or `NO_WRITE`. */
function valueOf(result: TickResult): object | null | typeof NO_WRITE {
  switch (result.action) {
    case "opened":
      return encodeState({ status: "opened", signal: result.signal });
    case "scheduled":
      // Only the tick that created the limit entry writes it; later `scheduled` ticks change nothing.
      return result.timestamp === result.signal.scheduledAt ? encodeState({ status: "scheduled", signal: result.signal }) : NO_WRITE;
    case "closed":
    case "cancelled":
      return null;
    default:
      return NO_WRITE;
  }
}

/**
 * Writes each state change to the store and passes the result on only once the write is
 * confirmed: an open or scheduled signal is durable before anyone hears of it, and cleared
 * when it closes or is cancelled. Results are passed on in order; while a write is pending the
 * later ones wait.
 *
 * A failed write is checked by reading the key back: when it holds what was written the
 * write counts as done; otherwise the stream errors with a `StoreWriteError` and the result is
 * never emitted (a retry then resumes from what the store really holds).
 *
 * ```
 * source:            --o---a---c--
 * persistState(ctx): --o---a---c--   (o written before it is passed on, c cleared)
 * ```
 *
 * @example
 * timer(0, 60_001).pipe(restoreState(context), tick(context), persistState(context));
 *
 * @param context the stream's `TradeContext` (its store and key; `onWrite` is called after each write)
 */
export function persistState(context: Pick<TradeContext, "store" | "key" | "identity" | "strategy">): MonoTypeOperatorFunction<TickResult> {
  return (source) =>
    new Observable<TickResult>((subscriber) => {
      const { store, key } = context;
      const queue: TickResult[] = [];
      let writing = false;
      let ended: { error: unknown } | "complete" | undefined;

      const end = () => {
        if (ended === "complete") subscriber.complete();
        else if (ended !== undefined) subscriber.error(ended.error);
      };
      const drain = () => {
        while (!writing && queue.length > 0 && !subscriber.closed) handle(queue.shift() as TickResult);
        if (!writing && queue.length === 0) end();
      };
      const handle = (result: TickResult) => {
        const value = valueOf(result);
        if (value === NO_WRITE) {
          subscriber.next(result);
          return;
        }
        writing = true;
        const confirmed = () => {
          writing = false;
          invokeCallback(context, "onWrite", (cb) => cb.onWrite?.(context.identity.symbol, value === null ? null : (result.signal as SignalRow)));
          subscriber.next(result);
          drain();
        };
        const failed = (error: unknown) => {
          const writeError = error instanceof StoreWriteError ? error : new StoreWriteError({ key, cause: error });
          const expected = JSON.stringify(value);
          attempt(
            () => store.read(key),
            (stored) => {
              if (JSON.stringify(stored ?? null) === expected) confirmed();
              else subscriber.error(writeError);
            },
            () => subscriber.error(writeError),
          );
        };
        attempt(() => store.write(key, value), confirmed, failed);
      };

      return source.subscribe({
        next(result) {
          if (writing) queue.push(result);
          else handle(result);
        },
        error(error: unknown) {
          ended = { error };
          if (!writing) drain();
        },
        complete() {
          ended = "complete";
          if (!writing) drain();
        },
      });
    });
}
