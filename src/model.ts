import type { Observable, ObservableInput, SchedulerLike } from "rxjs";
import type { Config } from "./config";
import type { Journal, JournalLevel } from "./journal";

/** Direction of a trade. */
export type Position = "long" | "short";

/** How often a strategy may be asked for a new signal. */
export type SignalInterval = "1m" | "3m" | "5m" | "15m" | "30m" | "1h";

/** Candle widths an exchange can be asked for. */
export type CandleInterval = SignalInterval | "2h" | "4h" | "6h" | "8h";

/** One OHLCV candle; `timestamp` is its open time in ms. */
export interface Candle {
  timestamp: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/** A value, a Promise of it, or an Observable whose first emission is it. */
export type MaybeAsync<T> = T | PromiseLike<T> | Observable<T>;

/** What `getSignal` returns (or `null`: no signal). */
export interface SignalDto {
  id?: string;
  position: Position;
  /** Given => a limit entry: the signal is `scheduled` until the price reaches it. */
  priceOpen?: number;
  priceTakeProfit: number;
  priceStopLoss: number;
  /** Lifetime in minutes, counted from activation (`pendingAt`). */
  minuteEstimatedTime: number;
  note?: string;
}

/** A signal as it is persisted and reported. */
export interface SignalRow extends Required<Omit<SignalDto, "note">> {
  note: string;
  symbol: string;
  strategyName: string;
  exchangeName: string;
  /** When the signal was created (ms). */
  scheduledAt: number;
  /** When the position became active (ms); equal to `scheduledAt` for immediate signals. */
  pendingAt: number;
}

export type CloseReason = "take_profit" | "stop_loss" | "time_expired";
export type CancelReason = "timeout" | "stop_loss";

export interface Pnl {
  pnlPercentage: number;
  priceOpen: number;
  priceClose: number;
}

interface TickResultBase {
  symbol: string;
  strategyName: string;
  exchangeName: string;
  /** The market price of the tick (for `closed`: the close price). */
  currentPrice: number;
  /** Time of the tick (ms, from the stream's scheduler). */
  timestamp: number;
  backtest: false;
}

export interface TickResultIdle extends TickResultBase {
  action: "idle";
  signal: null;
}
export interface TickResultScheduled extends TickResultBase {
  action: "scheduled";
  signal: SignalRow;
}
export interface TickResultOpened extends TickResultBase {
  action: "opened";
  signal: SignalRow;
}
export interface TickResultActive extends TickResultBase {
  action: "active";
  signal: SignalRow;
  /** Progress from the entry towards take profit, in percent (0 at entry, 100 at TP). */
  percentTp: number;
  /** Progress from the entry towards stop loss, in percent (0 at entry, 100 at SL). */
  percentSl: number;
}
export interface TickResultClosed extends TickResultBase {
  action: "closed";
  signal: SignalRow;
  closeReason: CloseReason;
  closeTimestamp: number;
  pnl: Pnl;
}
export interface TickResultCancelled extends TickResultBase {
  action: "cancelled";
  signal: SignalRow;
  cancelReason: CancelReason;
  closeTimestamp: number;
}

/** The outcome of one tick, discriminated by `action`. */
export type TickResult =
  | TickResultIdle
  | TickResultScheduled
  | TickResultOpened
  | TickResultActive
  | TickResultClosed
  | TickResultCancelled;

export type TickAction = TickResult["action"];

/**
 * What a strategy can ask the market for while it decides (the third argument of `getSignal`).
 * Its functions may be destructured (`{ currentPrice, candles$ }`), and may be called only
 * while that `getSignal` call is pending: afterwards they fail with a `StrategyError`.
 */
export interface SignalContext {
  /** The tick's price: the VWAP of the last CC_AVG_PRICE_CANDLES_COUNT closed one-minute candles. */
  currentPrice: number;
  /**
   * The last `limit` closed candles of `interval` as of the tick, oldest first: candles that
   * had not closed by the tick's time are left out, so fewer than `limit` may come back. The
   * request gets CC_GET_CANDLES_RETRY_COUNT attempts, each bounded by
   * CC_EXCHANGE_TIMEOUT_SECONDS; it rejects with an `ExchangeError` (or the `CandleDataError`
   * of unusable candles) after the last, and with a `RangeError` for an unknown interval or a
   * `limit` that is not a positive integer.
   */
  getCandles(interval: CandleInterval, limit: number): Promise<Candle[]>;
  /**
   * The same candles as `getCandles` (same closed-candle rule, attempts, time limit and
   * errors) as an Observable: one emission, then completion. The exchange is asked on
   * subscribe, and when it answers synchronously (a replay, `marbleExchange`) so does
   * `candles$` — which is what lets a strategy that reads candles run inside
   * `TestScheduler.run` and in `VirtualClock.flush`. Unsubscribing abandons the request.
   *
   * ```
   * exchange:                      (candles)
   * candles$("5m", 21):            (c|)
   * ```
   *
   * @example
   * getSignal: (symbol, when, ctx) =>
   *   ctx.candles$("5m", 21).pipe(map((candles) => decide(candles, ctx.currentPrice)))
   */
  candles$(interval: CandleInterval, limit: number): Observable<Candle[]>;
}

export interface StrategyCallbacks {
  onTick(symbol: string, result: TickResult): void;
  onOpen(symbol: string, signal: SignalRow, currentPrice: number): void;
  onActive(symbol: string, signal: SignalRow, currentPrice: number): void;
  onIdle(symbol: string, currentPrice: number): void;
  onClose(symbol: string, signal: SignalRow, priceClose: number): void;
  onSchedule(symbol: string, signal: SignalRow, currentPrice: number): void;
  onCancel(symbol: string, signal: SignalRow, currentPrice: number): void;
  onWrite(symbol: string, signal: SignalRow | null): void;
}

export interface StrategySchema {
  strategyName: string;
  interval: SignalInterval;
  /**
   * Asked for a signal when nothing is open or scheduled, at most once per `interval`. It may
   * answer with a value, a Promise-like or an Observable (its first value; `null` when it
   * completes without one). A throw, a rejection or an Observable's error is a
   * `StrategyError` on `error$`; an answer still pending after CC_MAX_SIGNAL_GENERATION_SECONDS
   * is dropped (an Observable is unsubscribed, as it is when the stream ends). Each costs one
   * `idle` tick.
   *
   * @param symbol the stream's symbol
   * @param when the tick's time (from the stream's scheduler)
   * @param ctx the tick's price and candles (`getCandles`, `candles$`)
   */
  getSignal(symbol: string, when: Date, ctx: SignalContext): MaybeAsync<SignalDto | null>;
  callbacks?: Partial<StrategyCallbacks>;
}

export interface ExchangeSchema {
  exchangeName: string;
  /** Up to `limit` candles with open time >= `since`, oldest first (ccxt `fetchOHLCV` semantics). */
  getCandles(symbol: string, interval: CandleInterval, since: Date, limit: number): MaybeAsync<Candle[]>;
  formatPrice?(symbol: string, price: number): MaybeAsync<string>;
  formatQuantity?(symbol: string, quantity: number): MaybeAsync<string>;
}

/** The persistence port: lowdb-like, keyed like idb-keyval. */
export interface SignalStore {
  /** `null`: nothing stored. */
  read(key: string): MaybeAsync<unknown | null>;
  /** `null` clears the key. Resolves once the value is durable. */
  write(key: string, value: unknown | null): MaybeAsync<void>;
  /** Optional exclusive ownership of a key; resolves to its (synchronous, idempotent) release. */
  lock?(key: string): MaybeAsync<LockRelease>;
}

/**
 * What `lock` returns: the release (synchronous, idempotent, never throws). A store that can
 * tell when a lock it granted is lost (its lock file deleted or replaced, a lease expired) adds
 * `onLost`: the engine then ends the stream at once with the error it is given. Additive to the
 * API: a plain function is a release too.
 */
export type LockRelease = (() => void) & {
  /** Calls `listener` once, if and when the lock is lost; returns a function that stops listening. */
  onLost?(listener: (error: Error) => void): () => void;
};

export interface LiveOptions {
  /** A schema, or a name registered with `addExchange`. */
  exchange: ExchangeSchema | string;
  /** Default: a new `memoryStore()`. */
  store?: SignalStore;
  /** Its first emission requests a graceful stop. */
  stop$?: ObservableInput<unknown>;
  /**
   * Default `asyncScheduler`; a TestScheduler or a `VirtualClock` gives virtual time. A
   * scheduler with a `callStarted` method (`CallWatcher`, as `VirtualClock` has) is told of the
   * stream's exchange, store and strategy calls while they are in flight.
   */
  scheduler?: SchedulerLike;
  /** Default 60 001 ms. */
  tickMs?: number;
  /** Per-stream overrides of the global config. */
  config?: Partial<Config>;
  /**
   * Where the stream appends what it decided (and, at level `full`, why): `memoryJournal()`,
   * `fileJournal(dir)` from `rxtrade/node`, `indexedDbJournal()` from `rxtrade/browser`, or
   * your own. Default: none.
   *
   * Each `trade` entry is appended after the store write it follows and before the result is
   * emitted. Every journal call is bounded by CC_STORE_TIMEOUT_SECONDS; a failure is a
   * `JournalError` on `error$`, and the entry is kept and retried — it does not stop trading:
   * the store, written first, is what the engine trades from, and an open position must still
   * reach its take profit or stop loss while a log's disk is full. At each start the journal is
   * reconciled with the store (see `JournalRecovery`).
   */
  journal?: Journal;
  /**
   * How much goes to `journal`: `trades` (every scheduled, opened, closed and cancelled
   * result, plus a `run` entry at each start and stop) or `full` (also one `tick` entry per
   * tick: its candles, price, the strategy's answer and the action). Default `trades` when a
   * journal is given, `off` without one.
   */
  journalLevel?: JournalLevel;
}

export const MINUTE_MS = 60_000;

const INTERVAL_MINUTES: Readonly<Record<CandleInterval, number>> = {
  "1m": 1,
  "3m": 3,
  "5m": 5,
  "15m": 15,
  "30m": 30,
  "1h": 60,
  "2h": 120,
  "4h": 240,
  "6h": 360,
  "8h": 480,
};

/** Width of a candle interval in ms, or `undefined` for an unknown interval. */
export function intervalMs(interval: string): number | undefined {
  const minutes = (INTERVAL_MINUTES as Record<string, number | undefined>)[interval];
  return minutes === undefined ? undefined : minutes * MINUTE_MS;
}

export const CANDLE_INTERVALS = Object.keys(INTERVAL_MINUTES) as CandleInterval[];
export const SIGNAL_INTERVALS: readonly SignalInterval[] = ["1m", "3m", "5m", "15m", "30m", "1h"];
