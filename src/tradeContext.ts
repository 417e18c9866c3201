import { asyncScheduler, from, type SchedulerLike } from "rxjs";
import { type Config, getConfig, resolveConfig } from "./config";
import { ArgumentError } from "./errors";
import { callWatcherOf, watchedStore } from "./deadline";
import { randomId } from "./ids";
import { type Journal, JOURNAL_LEVELS, type JournalLevel } from "./journal";
import { watchedJournal } from "./journalWriter";
import type { ExchangeSchema, LiveOptions, SignalStore, StrategySchema } from "./model";
import { intervalMs } from "./model";
import { checkExchange, checkStrategy, getExchange, getStrategy } from "./registry";
import type { StreamIdentity } from "./signal";
import { showValue } from "./showValue";
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
 * Throws at once for an unknown name (`RegistryError`), a broken schema (`SchemaError`), config
 * out of range (`ConfigError`), or an argument or option of the wrong kind (`ArgumentError`: the
 * symbol, the options, `exchange`, `tickMs`, `store`, `stop$`, `scheduler`, the journal).
 *
 * @example
 * const context = tradeContext("BTCUSDT", strategy, { exchange, scheduler });
 * timer(0, context.tickMs, context.scheduler).pipe(tick(context));
 */
export function tradeContext(symbol: string, strategy: StrategySchema | string, options: LiveOptions): TradeContext {
  if (typeof symbol !== "string" || symbol.length === 0) {
    throw new ArgumentError(`symbol (${JSON.stringify(symbol)}) must be a non-empty string, e.g. "BTCUSDT"`, { argument: "symbol", value: symbol });
  }
  if (options === null || typeof options !== "object") {
    throw new ArgumentError(`options are required: liveTrade$(symbol, strategy, { exchange }); got ${showValue(options)}`, {
      argument: "options",
      value: options,
    });
  }
  const strategySchema = typeof strategy === "string" ? getStrategy(strategy) : strategy;
  checkStrategy(strategySchema);
  if (options.exchange === undefined) {
    throw new ArgumentError("options.exchange is required (an ExchangeSchema or a name registered with addExchange)", {
      argument: "options.exchange",
      value: undefined,
    });
  }
  const exchange = typeof options.exchange === "string" ? getExchange(options.exchange) : options.exchange;
  checkExchange(exchange);
  const tickMs = options.tickMs ?? DEFAULT_TICK_MS;
  if (!Number.isFinite(tickMs) || tickMs <= 0) {
    throw new ArgumentError(`tickMs (${showValue(tickMs)}) must be a finite number of ms > 0, e.g. ${DEFAULT_TICK_MS} (the default)`, {
      argument: "options.tickMs",
      value: tickMs,
    });
  }
  const store = options.store ?? memoryStore();
  if (typeof store?.read !== "function" || typeof store.write !== "function") {
    throw new ArgumentError(
      `options.store must have read(key) and write(key, value); got ${showValue(store)}${missingMethods(store, ["read", "write"])}. ` +
        "Give memoryStore(), fileStore(dir) from rxtrade/node, or leave it out for a memory store",
      { argument: "options.store", value: store },
    );
  }
  checkStop(options.stop$);
  const scheduler = options.scheduler ?? asyncScheduler;
  if (typeof scheduler?.now !== "function" || typeof scheduler.schedule !== "function") {
    throw new ArgumentError(
      `options.scheduler must be an rxjs scheduler with now() and schedule(work, delay); got ${showValue(scheduler)}${missingMethods(scheduler, ["now", "schedule"])}. ` +
        "Give asyncScheduler (the default, real time), a TestScheduler or new VirtualClock() from rxtrade/testing",
      { argument: "options.scheduler", value: scheduler },
    );
  }
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

// A `stop$` that rxjs cannot subscribe to is refused here, not when the stream starts.
function checkStop(stop$: unknown): void {
  if (stop$ === undefined) return;
  try {
    from(stop$ as never); // lazy: nothing is subscribed or consumed
  } catch {
    throw new ArgumentError(
      `options.stop$ (${showValue(stop$)}) must be an Observable, a Promise or another ObservableInput whose first emission stops the stream gracefully, ` +
        'e.g. fromEvent(process, "SIGINT") or a Subject; leave it out to run until unsubscribed',
      { argument: "options.stop$", value: stop$ },
    );
  }
}

// `, which has no read or write` for an object without them; nothing for other values.
function missingMethods(value: unknown, names: readonly string[]): string {
  if (typeof value !== "object" || value === null) return "";
  const missing = names.filter((name) => typeof (value as Record<string, unknown>)[name] !== "function");
  return missing.length === 0 ? "" : `, which has no ${missing.join(" or ")}`;
}

// The journal level in force: `trades` when a journal is given without a level, `off` without one.
function checkJournal(options: LiveOptions): JournalLevel {
  const { journal, journalLevel } = options;
  if (journalLevel !== undefined && !JOURNAL_LEVELS.includes(journalLevel)) {
    throw new ArgumentError(`journalLevel (${JSON.stringify(journalLevel)}) must be one of ${JOURNAL_LEVELS.join(", ")}`, {
      argument: "options.journalLevel",
      value: journalLevel,
    });
  }
  if (journal === undefined) {
    if (journalLevel !== undefined && journalLevel !== "off") {
      throw new ArgumentError(
        `journalLevel ${JSON.stringify(journalLevel)} needs a journal: pass journal: memoryJournal() (or fileJournal(dir) from rxtrade/node, indexedDbJournal() from rxtrade/browser)`,
        { argument: "options.journal", value: journal },
      );
    }
    return "off";
  }
  if (journal === null || typeof journal !== "object" || typeof journal.append !== "function" || typeof journal.read !== "function" || typeof journal.keys !== "function") {
    throw new ArgumentError(
      `options.journal must have append(entry), read(key) and keys() (see memoryJournal()); got ${showValue(journal)}${missingMethods(journal, ["append", "read", "keys"])}`,
      { argument: "options.journal", value: journal },
    );
  }
  return journalLevel ?? "trades";
}
