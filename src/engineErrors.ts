// The errors of a running stream: a signal or config that breaks the rules, an exchange or a
// strategy that fails, a call or a stream that hangs, candles that cannot be used, the
// registries' names, and a listener that throws.
import { showValue } from "./showValue";
import { type ErrorContext, RxTradeError } from "./errorBase";

/** A signal from `getSignal` broke one or more rules; `problems` lists each, with its value. */
export class InvalidSignalError extends RxTradeError {
  override readonly name = "InvalidSignalError";
  constructor(
    readonly problems: readonly string[],
    readonly signal: unknown,
    context: ErrorContext = {},
  ) {
    super(`rxtrade: invalid signal${where(context)}: ${problems.join("; ")}`, context);
  }
}

/** A config value is out of range; `problems` lists each, with its value. */
export class ConfigError extends RxTradeError {
  override readonly name = "ConfigError";
  constructor(readonly problems: readonly string[]) {
    super(`rxtrade: invalid config: ${problems.join("; ")}`);
  }
}

/** The exchange failed or returned candles that cannot be priced. */
export class ExchangeError extends RxTradeError {
  override readonly name = "ExchangeError";
  constructor(message: string, context: ErrorContext = {}, cause?: unknown) {
    super(`rxtrade: ${message}`, context, cause);
  }
}

/** The strategy's `getSignal` threw or did not settle in time, or one of its callbacks threw. */
export class StrategyError extends RxTradeError {
  override readonly name = "StrategyError";
  constructor(message: string, context: ErrorContext = {}, cause?: unknown) {
    super(`rxtrade: ${message}`, context, cause);
  }
}

/**
 * A call out (exchange, store, strategy) did not settle within its time limit. It is the
 * `cause` of the typed error the engine reports (`ExchangeError`, `StoreReadError`, …).
 * (Additive to the API's error list.)
 */
export class CallTimeoutError extends RxTradeError {
  override readonly name = "CallTimeoutError";
  constructor(
    /** What was called, e.g. `getCandles(BTCUSDT, 1m)`. */
    readonly call: string,
    /** The config key that sets the limit. */
    readonly limitKey: string,
    readonly limitMs: number,
  ) {
    super(`rxtrade: ${call} did not settle within ${limitKey} (${limitMs / 1000} s)`);
  }
}

/**
 * A stream has completed no tick for `CC_STALL_TICKS` tick periods (on its scheduler): its
 * calls are hanging or failing. Reported on `error$`; the stream goes on and recovers on its
 * next completed tick. (Additive to the API's error list.)
 */
export class StreamStalledError extends RxTradeError {
  override readonly name = "StreamStalledError";
  constructor(
    context: ErrorContext,
    /** Scheduler time of the last completed tick (or of the start), ms. */
    readonly lastTickAt: number,
    /** The stall limit, ms: CC_STALL_TICKS x tickMs. */
    readonly limitMs: number,
  ) {
    super(
      `rxtrade: ${context.strategyName ?? "a stream"} on ${context.symbol ?? "its symbol"} is stalled: no completed tick for ` +
        `${Math.round(limitMs / 1000)} s (CC_STALL_TICKS tick periods); check the exchange and the store (see error$)`,
      context,
    );
  }
}

/**
 * Candles that cannot be used: a candle file's row that is not a candle (`path`, 1-based
 * `line`), or candles from an exchange that repeat an open time or are impossible (high < low,
 * open or close outside [low, high]). (Additive to the API's error list.)
 */
export class CandleDataError extends RxTradeError {
  override readonly name = "CandleDataError";
  readonly path: string | undefined;
  readonly line: number | undefined;
  constructor(options: { path?: string; line?: number; message: string; cause?: unknown; context?: ErrorContext }) {
    const where = options.path === undefined ? "" : `${options.path}${options.line === undefined ? "" : `:${options.line}`}: `;
    super(`rxtrade: ${where}${options.message}`, options.context ?? {}, options.cause);
    this.path = options.path;
    this.line = options.line;
  }
}

/**
 * The registries (`addStrategy`, `addExchange`, `getStrategy`, `getExchange`, and the names a
 * `Live` call or `liveTrade$` is given): a name that is not registered, or already is.
 * `strategyName` or `exchangeName` is the name; `registered` lists the names of that kind in
 * the registry. (Additive to the API's error list.)
 */
export class RegistryError extends RxTradeError {
  override readonly name = "RegistryError";
  constructor(
    message: string,
    context: ErrorContext,
    /** The names of the same kind (strategies or exchanges) registered when it was thrown. */
    readonly registered: readonly string[],
  ) {
    super(`rxtrade: ${message}`, context);
  }
}

/**
 * A listener given to `listenSignal`, `listenSignalLive`, `listenPerformance`, `listenDoneLive`
 * or `listenExit` threw. Reported on `error$`, with what it threw in `cause`; the listener stays
 * subscribed and the loop goes on. (Additive to the API's error list.)
 */
export class ListenerError extends RxTradeError {
  override readonly name = "ListenerError";
  /** The function the listener was given to, e.g. `listenSignal`. */
  readonly listener: string;
  constructor(listener: string, cause: unknown) {
    super(
      `rxtrade: a ${listener} listener threw: ${cause instanceof Error ? cause.message : showValue(cause)}; it stays subscribed (catch inside the listener to handle its own errors)`,
      {},
      cause,
    );
    this.listener = listener;
  }
}

function where(context: ErrorContext): string {
  const parts = [context.strategyName, context.symbol].filter((part) => part !== undefined);
  return parts.length === 0 ? "" : ` from ${parts.join(" on ")}`;
}
