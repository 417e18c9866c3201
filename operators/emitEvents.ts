import { type MonoTypeOperatorFunction, Observable, type Subscriber } from "rxjs";
import { StrategyError } from "../src/errors";
import { emit } from "../src/events";
import type { StrategyCallbacks, TickResult } from "../src/model";
import { createdSignal } from "../src/rules";
import type { TradeContext } from "../src/tradeContext";
import { ChainSubscriber } from "./chainSubscriber";

type EventContext = Pick<TradeContext, "strategy" | "identity">;

/** Calls one strategy callback; a throw is reported on `error$` and goes no further. */
export function invokeCallback(context: EventContext, name: keyof StrategyCallbacks, call: (callbacks: Partial<StrategyCallbacks>) => void): void {
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
export function emitEvents(context: EventContext): MonoTypeOperatorFunction<TickResult> {
  return (source) =>
    new Observable<TickResult>((subscriber) => {
      source.subscribe(new EmitEventsSubscriber(subscriber, context));
    });
}

class EmitEventsSubscriber extends ChainSubscriber<TickResult> {
  // The strategy is shared by every stream of it; the context is this stream's alone.
  private readonly strategy: EventContext["strategy"];

  constructor(
    destination: Subscriber<TickResult>,
    private readonly context: EventContext,
  ) {
    super(destination);
    this.strategy = context.strategy;
  }

  protected override _next(result: TickResult): void {
    if (this.strategy.callbacks !== undefined) callbacksOf(this.context, result);
    emit.signal(result);
    this.out.next(result);
  }
}

function callbacksOf(context: EventContext, result: TickResult): void {
  const symbol = context.identity.symbol;
  switch (result.action) {
    case "idle":
      invokeCallback(context, "onIdle", (cb) => cb.onIdle?.(symbol, result.currentPrice));
      break;
    case "scheduled":
      if (createdSignal(result)) {
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
