import { type MonoTypeOperatorFunction, tap } from "rxjs";
import { StrategyError } from "../src/errors";
import { emit } from "../src/events";
import type { StrategyCallbacks, TickResult } from "../src/model";
import type { TradeContext } from "../src/tradeContext";

/** Calls one strategy callback; a throw is reported on `error$` and goes no further. */
export function invokeCallback(
  context: Pick<TradeContext, "strategy" | "identity">,
  name: keyof StrategyCallbacks,
  call: (callbacks: Partial<StrategyCallbacks>) => void,
): void {
  const callbacks = context.strategy.callbacks;
  if (callbacks === undefined || callbacks[name] === undefined) return;
  try {
    call(callbacks);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    emit.error(new StrategyError(`callback ${name} of ${context.identity.strategyName} threw: ${why}`, context.identity, error));
  }
}

/**
 * Announces each tick result: the strategy's callbacks (`onIdle`, `onSchedule` when a limit
 * entry is created, `onOpen`, `onActive`, `onClose`, `onCancel`, then `onTick`), then the
 * `signal$` and `signalLive$` events. A callback that throws is reported on `error$`.
 *
 * ```
 * source:           --i--o--a--c--
 * emitEvents(ctx):  --i--o--a--c--   (callbacks and events fire as each passes)
 * ```
 *
 * @example
 * source$.pipe(tick(context), persistState(context), emitEvents(context));
 *
 * @param context the stream's `TradeContext` (its strategy's callbacks)
 */
export function emitEvents(context: Pick<TradeContext, "strategy" | "identity">): MonoTypeOperatorFunction<TickResult> {
  const symbol = context.identity.symbol;
  return tap((result) => {
    if (context.strategy.callbacks !== undefined) {
      switch (result.action) {
        case "idle":
          invokeCallback(context, "onIdle", (cb) => cb.onIdle?.(symbol, result.currentPrice));
          break;
        case "scheduled":
          if (result.timestamp === result.signal.scheduledAt) {
            invokeCallback(context, "onSchedule", (cb) => cb.onSchedule?.(symbol, result.signal, result.currentPrice));
          }
          break;
        case "opened":
          invokeCallback(context, "onOpen", (cb) => cb.onOpen?.(symbol, result.signal, result.currentPrice));
          break;
        case "active":
          invokeCallback(context, "onActive", (cb) => cb.onActive?.(symbol, result.signal, result.currentPrice));
          break;
        case "closed":
          invokeCallback(context, "onClose", (cb) => cb.onClose?.(symbol, result.signal, result.pnl.priceClose));
          break;
        case "cancelled":
          invokeCallback(context, "onCancel", (cb) => cb.onCancel?.(symbol, result.signal, result.currentPrice));
          break;
      }
      invokeCallback(context, "onTick", (cb) => cb.onTick?.(symbol, result));
    }
    emit.signal(result);
  });
}
