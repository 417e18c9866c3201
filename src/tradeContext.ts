import { asyncScheduler, type SchedulerLike } from "rxjs";
import { type Config, getConfig, resolveConfig } from "./config";
import { callWatcherOf, watchedStore } from "./deadline";
import { randomId } from "./ids";
import { type Journal, JOURNAL_LEVELS, type JournalLevel } from "./journal";
import { watchedJournal } from "./journalWriter";
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
  /**
   * The stream's store. Under a scheduler that watches calls (`CallWatcher`, e.g. a
   * `VirtualClock`) it is a decorator of the given store that reports its calls in flight.
   */
  readonly store: SignalStore;
  /** The stream's store key, `${symbol}:${strategyName}`. */
  readonly key: string;
  readonly scheduler: SchedulerLike;
  readonly tickMs: number;
  readonly config: Readonly<Config>;
  /** Minimum time between two `getSignal` calls (the strategy's interval), ms. */
  readonly signalIntervalMs: number;
  readonly newId: () => string;
  /** The time limits in the scheduler's ms (config seconds x the scheduler's `timeScale`, if any). */
  readonly limits: TimeLimits;
  /**
   * The stream's journal, `undefined` at level `off`. Under a scheduler that watches calls it
   * is a decorator of the given journal that reports its calls in flight, as the store is.
   */
  readonly journal: Journal | undefined;
  /** What goes to the journal: `off`, `trades` or `full` (see `LiveOptions.journalLevel`). */
  readonly journalLevel: JournalLevel;
}

/** Time limits of one stream, in its scheduler's ms. */
export interface TimeLimits {
  /** One exchange call: CC_EXCHANGE_TIMEOUT_SECONDS. */
  readonly exchangeMs: number;
  /** One store call: CC_STORE_TIMEOUT_SECONDS. */
  readonly storeMs: number;
  /** One `getSignal` call: CC_MAX_SIGNAL_GENERATION_SECONDS. */
  readonly signalMs: number;
  /** No completed tick for this long is a stall: CC_STALL_TICKS x tickMs. */
  readonly stallMs: number;
}

/**
 * The limits of a stream. A scheduler that runs faster than real time says so with a numeric
 * `timeScale` (as `acceleratedScheduler` does): the limits then keep their wall-clock length,
 * since the calls they bound take real time.
 */
export function timeLimits(config: Readonly<Config>, tickMs: number, scheduler: SchedulerLike): TimeLimits {
  const declared = (scheduler as { timeScale?: unknown }).timeScale;
  const scale = typeof declared === "number" && Number.isFinite(declared) && declared > 1 ? declared : 1;
  return {
    exchangeMs: config.CC_EXCHANGE_TIMEOUT_SECONDS * 1000 * scale,
    storeMs: config.CC_STORE_TIMEOUT_SECONDS * 1000 * scale,
    signalMs: config.CC_MAX_SIGNAL_GENERATION_SECONDS * 1000 * scale,
    stallMs: config.CC_STALL_TICKS * tickMs * scale,
  };
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
  const scheduler = options.scheduler ?? asyncScheduler;
  const config = resolveConfig(getConfig(), options.config);
  const limits = timeLimits(config, tickMs, scheduler);
  const journalLevel = checkJournal(options);
  const journal = journalLevel === "off" ? undefined : (options.journal as Journal);
  // The store calls are made by several operators: they are watched here, once, for all of them.
  const watcher = callWatcherOf(scheduler);
  return {
    identity: { symbol, strategyName: strategySchema.strategyName, exchangeName: exchange.exchangeName },
    strategy: strategySchema,
    exchange,
    store: watcher === undefined ? store : watchedStore(store, watcher, limits.storeMs),
    key: `${symbol}:${strategySchema.strategyName}`,
    scheduler,
    tickMs,
    config,
    signalIntervalMs: intervalMs(strategySchema.interval) as number,
    newId: randomId,
    limits,
    journal: journal === undefined || watcher === undefined ? journal : watchedJournal(journal, watcher, limits.storeMs),
    journalLevel,
  };
}

// The journal level in force: `trades` when a journal is given without a level, `off` without one.
function checkJournal(options: LiveOptions): JournalLevel {
  const { journal, journalLevel } = options;
  if (journalLevel !== undefined && !JOURNAL_LEVELS.includes(journalLevel)) {
    throw new TypeError(`rxtrade: journalLevel (${JSON.stringify(journalLevel)}) must be one of ${JOURNAL_LEVELS.join(", ")}`);
  }
  if (journal === undefined) {
    if (journalLevel !== undefined && journalLevel !== "off") {
      throw new TypeError(
        `rxtrade: journalLevel ${JSON.stringify(journalLevel)} needs a journal: pass journal: memoryJournal() (or fileJournal(dir) from rxtrade/node, indexedDbJournal() from rxtrade/browser)`,
      );
    }
    return "off";
  }
  if (journal === null || typeof journal !== "object" || typeof journal.append !== "function" || typeof journal.read !== "function" || typeof journal.keys !== "function") {
    throw new TypeError("rxtrade: options.journal must have append(entry), read(key) and keys() (see memoryJournal())");
  }
  return journalLevel ?? "trades";
}
