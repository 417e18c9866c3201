import { asyncScheduler, type SchedulerLike } from "rxjs";
import { type Config, getConfig, resolveConfig } from "./config";
import { randomId } from "./ids";
import type { ExchangeSchema, LiveOptions, SignalStore, StrategySchema } from "./model";
import { intervalMs } from "./model";
import { checkExchange, checkStrategy, getExchange, getStrategy } from "./registry";
import type { StreamIdentity } from "./signal";
import { memoryStore } from "./stores/memoryStore";

/** Everything the operators of one stream share: who it is, its services and its settings. */
export interface TradeContext {
  readonly identity: StreamIdentity;
  readonly strategy: StrategySchema;
  readonly exchange: ExchangeSchema;
  readonly store: SignalStore;
  /** The stream's store key, `${symbol}:${strategyName}`. */
  readonly key: string;
  readonly scheduler: SchedulerLike;
  readonly tickMs: number;
  readonly config: Readonly<Config>;
  /** Minimum time between two `getSignal` calls (the strategy's interval), ms. */
  readonly signalIntervalMs: number;
  readonly newId: () => string;
}

export const DEFAULT_TICK_MS = 60_001;

/**
 * Resolves and checks the arguments of `liveTrade$` into the context its operators share.
 * Throws at once for an unknown name, a broken schema, a bad `tickMs` or config.
 *
 * @example
 * const context = tradeContext("BTCUSDT", strategy, { exchange, scheduler });
 * timer(0, context.tickMs, context.scheduler).pipe(tick(context));
 */
export function tradeContext(symbol: string, strategy: StrategySchema | string, options: LiveOptions): TradeContext {
  if (typeof symbol !== "string" || symbol.length === 0) {
    throw new TypeError(`rxtrade: symbol (${JSON.stringify(symbol)}) must be a non-empty string, e.g. "BTCUSDT"`);
  }
  if (options === null || typeof options !== "object") {
    throw new TypeError("rxtrade: options are required: liveTrade$(symbol, strategy, { exchange })");
  }
  const strategySchema = typeof strategy === "string" ? getStrategy(strategy) : strategy;
  checkStrategy(strategySchema);
  if (options.exchange === undefined) {
    throw new TypeError("rxtrade: options.exchange is required (an ExchangeSchema or a name registered with addExchange)");
  }
  const exchange = typeof options.exchange === "string" ? getExchange(options.exchange) : options.exchange;
  checkExchange(exchange);
  const tickMs = options.tickMs ?? DEFAULT_TICK_MS;
  if (!Number.isFinite(tickMs) || tickMs <= 0) {
    throw new TypeError(`rxtrade: tickMs (${String(tickMs)}) must be a finite number of ms > 0`);
  }
  const store = options.store ?? memoryStore();
  if (typeof store?.read !== "function" || typeof store.write !== "function") {
    throw new TypeError("rxtrade: options.store must have read(key) and write(key, value)");
  }
  return {
    identity: { symbol, strategyName: strategySchema.strategyName, exchangeName: exchange.exchangeName },
    strategy: strategySchema,
    exchange,
    store,
    key: `${symbol}:${strategySchema.strategyName}`,
    scheduler: options.scheduler ?? asyncScheduler,
    tickMs,
    config: resolveConfig(getConfig(), options.config),
    signalIntervalMs: intervalMs(strategySchema.interval) as number,
    newId: randomId,
  };
}
