import type { JournalEntry } from "./journal";
import { showValue } from "./showValue";

/**
 * One class per failure mode. Each has a stable `name` (safe across bundles and minifiers),
 * the context it happened in, and the original error in `cause`.
 */

/** Where in the engine an error happened. */
export interface ErrorContext {
  symbol?: string;
  strategyName?: string;
  exchangeName?: string;
}

// Marks the prototypes of rxtrade's errors; `instanceof RxTradeError` looks for it (see below).
const RXTRADE_ERROR = Symbol("rxtrade error");

/**
 * The base of every error rxtrade throws or reports, so one check catches them all:
 *
 * @example
 * import { RxTradeError } from "rxtrade";
 * try { addStrategy(schema); } catch (error) { if (error instanceof RxTradeError) console.error(error.name, error.message); }
 *
 * `instanceof RxTradeError` is also true of `SchemaError`, which extends `TypeError` (what 0.1.0
 * threw for a broken schema) instead of this class: the check looks for a mark that every
 * rxtrade error's prototype carries. `instanceof` any other class works as usual.
 */
export abstract class RxTradeError extends Error {
  readonly symbol?: string;
  readonly strategyName?: string;
  readonly exchangeName?: string;

  constructor(message: string, context: ErrorContext = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    setContext(this, context);
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== RxTradeError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === "object" && value !== null && (value as { [RXTRADE_ERROR]?: unknown })[RXTRADE_ERROR] === true;
  }
}
Object.defineProperty(RxTradeError.prototype, RXTRADE_ERROR, { value: true });

function setContext(error: { symbol?: string; strategyName?: string; exchangeName?: string }, context: ErrorContext): void {
  if (context.symbol !== undefined) error.symbol = context.symbol;
  if (context.strategyName !== undefined) error.strategyName = context.strategyName;
  if (context.exchangeName !== undefined) error.exchangeName = context.exchangeName;
}

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
 * A stored value could not be read. When `quarantinedTo` is set, the corrupt value was moved
 * aside there and the key now reads as empty (the engine starts it fresh); otherwise the read
 * failed (I/O, permissions) and is retried.
 */
export class StoreReadError extends RxTradeError {
  override readonly name = "StoreReadError";
  readonly key: string;
  readonly path: string | undefined;
  readonly quarantinedTo: string | undefined;
  constructor(options: { key: string; path?: string; quarantinedTo?: string; cause?: unknown; message?: string }) {
    const moved = options.quarantinedTo ? `; moved aside to ${options.quarantinedTo}, the key starts fresh` : "";
    super(
      `rxtrade: cannot read ${options.key}${options.path ? ` (${options.path})` : ""}: ${options.message ?? describe(options.cause)}${moved}`,
      {},
      options.cause,
    );
    this.key = options.key;
    this.path = options.path;
    this.quarantinedTo = options.quarantinedTo;
  }
}

/**
 * A write did not become durable — or a store's `lock` (the write that claims a key) failed:
 * it threw, rejected or returned something that is not a release, as `fileStore`'s own lock
 * does when its lock file cannot be written. `message` (when given) replaces the default text.
 */
export class StoreWriteError extends RxTradeError {
  override readonly name = "StoreWriteError";
  readonly key: string;
  readonly path: string | undefined;
  constructor(options: { key: string; path?: string; cause?: unknown; message?: string }) {
    super(
      `rxtrade: ${options.message ?? `cannot write ${options.key}${options.path ? ` (${options.path})` : ""}: ${describe(options.cause)}`}`,
      {},
      options.cause,
    );
    this.key = options.key;
    this.path = options.path;
  }
}

/**
 * Another stream or process holds the key, or this stream lost its lock. `message` (when given)
 * replaces the default text; `hostname` and `path` name the holder's host and the lock file.
 */
export class StoreLockedError extends RxTradeError {
  override readonly name = "StoreLockedError";
  readonly key: string;
  readonly pid: number | undefined;
  readonly hostname: string | undefined;
  readonly path: string | undefined;
  constructor(options: { key: string; pid?: number; hostname?: string; path?: string; message?: string; cause?: unknown }) {
    super(
      options.message === undefined
        ? `rxtrade: ${options.key} is locked by ${options.pid === undefined ? "another stream" : `process ${options.pid}`}; ` +
            `stop that stream first (one stream per symbol and strategy per store)`
        : `rxtrade: ${options.message}`,
      {},
      options.cause,
    );
    this.key = options.key;
    this.pid = options.pid;
    this.hostname = options.hostname;
    this.path = options.path;
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
 * The store holds, under this stream's key, a value that is not this stream's: another
 * strategy's or exchange's signal, or a value the engine does not recognise. It is neither
 * traded nor overwritten; the stream ends with this error. (Additive to the API's error list.)
 */
export class StoreConflictError extends RxTradeError {
  override readonly name = "StoreConflictError";
  readonly key: string;
  readonly found: unknown;
  constructor(options: { key: string; found: unknown; reason: string; context?: ErrorContext }) {
    super(
      `rxtrade: ${options.key} holds ${options.reason}; it is left untouched. ` +
        `Resume it with the stream that wrote it, use another store, or clear the key (store.write(key, null)) if it is obsolete`,
      options.context ?? {},
    );
    this.key = options.key;
    this.found = options.found;
  }
}

function where(context: ErrorContext): string {
  const parts = [context.strategyName, context.symbol].filter((part) => part !== undefined);
  return parts.length === 0 ? "" : ` from ${parts.join(" on ")}`;
}

function describe(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  return String(cause);
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
 * A journal call failed: an `append` threw, rejected or did not settle within
 * CC_STORE_TIMEOUT_SECONDS; a read failed or did not answer within it (`operation` "read": the
 * read of the key's last entries at a run's start, to reconcile the journal with the store, and
 * every history reader — `Live.getData`, `getReport`, `dump`, `Performance.getData`,
 * `readLiveHistory`, `rxtrade report`, `replayJournal$`/`runReplay` of a journal); or a run ended
 * with entries it could not append (`operation` "end"). `fileJournal` also throws one, naming the
 * path, for a segment that is not a regular file (a FIFO, a device), which it never opens.
 * In a run it is reported on `error$`, once per failure streak; trading goes on. The entries
 * are kept, in order, and retried every tick period (tick entries are dropped instead, and
 * marked by a `gap` entry); at the end of a run those still not appended are handed over in
 * `unappended` (their signals in `signalIds`), since nothing else holds them any more. A
 * history reader falls back to the current loop's statistics (`historyUnavailable`), or
 * rejects with it. (Additive to the API's error list.)
 */
export class JournalError extends RxTradeError {
  override readonly name = "JournalError";
  readonly key: string;
  /** What failed: an `append`; a `read` (the key's last entries at a run's start, or a history reader's); or the `end` of a run with entries left. */
  readonly operation: "append" | "read" | "end";
  /** The entry whose append failed (`append`). */
  readonly entry: JournalEntry | undefined;
  /** Entries kept in memory, waiting to be appended (the failed one included). */
  readonly waiting: number;
  /** `end`: the entries this run could not append, oldest first. */
  readonly unappended: readonly JournalEntry[];
  /** `end`: the signals of the `trade` and `intent` entries among `unappended`, each once, in order. */
  readonly signalIds: readonly string[];
  constructor(options: {
    key: string;
    operation: "append" | "read" | "end";
    message: string;
    entry?: JournalEntry;
    waiting?: number;
    unappended?: readonly JournalEntry[];
    cause?: unknown;
    context?: ErrorContext;
  }) {
    super(`rxtrade: ${options.message}`, options.context ?? {}, options.cause);
    this.key = options.key;
    this.operation = options.operation;
    this.entry = options.entry;
    this.waiting = options.waiting ?? 0;
    this.unappended = options.unappended ?? [];
    this.signalIds = [...new Set(this.unappended.flatMap((entry) => (entry.kind === "trade" || entry.kind === "intent" ? [entry.result.signal.id] : [])))];
  }
}

/** A report could not be written. (Additive to the API's error list.) */
export class ReportWriteError extends RxTradeError {
  override readonly name = "ReportWriteError";
  readonly path: string;
  constructor(options: { path: string; message: string; cause?: unknown }) {
    super(`rxtrade: ${options.path}: ${options.message}`, {}, options.cause);
    this.path = options.path;
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
 * A strategy or exchange schema that cannot run: not an object, a missing or empty name, a
 * missing function, an unknown interval. `problems` lists each, with its value. It extends
 * `TypeError` (as 0.1.0's error for a broken schema was) and is an `RxTradeError` too.
 * (Additive to the API's error list.)
 */
export class SchemaError extends TypeError {
  override readonly name = "SchemaError";
  readonly symbol?: string;
  readonly strategyName?: string;
  readonly exchangeName?: string;
  constructor(
    /** Which kind of schema. */
    readonly kind: "strategy" | "exchange",
    readonly problems: readonly string[],
    readonly schema: unknown,
    /** The schema's name, when it has a usable one. */
    name?: string,
  ) {
    super(`rxtrade: invalid ${kind} schema${name === undefined ? "" : ` ${JSON.stringify(name)}`}: ${problems.join("; ")}`);
    if (name !== undefined) setContext(this, kind === "strategy" ? { strategyName: name } : { exchangeName: name });
  }
}
markAsRxTradeError(SchemaError);

// A class that extends a built-in error (for 0.1.0's `instanceof TypeError`/`RangeError`/
// `SyntaxError`) instead of RxTradeError is made one by the mark its instances inherit.
function markAsRxTradeError(errorClass: { prototype: object }): void {
  Object.defineProperty(errorClass.prototype, RXTRADE_ERROR, { value: true });
}

/** What the argument errors share: which argument was wrong, and its value. */
export interface ArgumentProblem {
  /** The argument or option, as the caller wrote it: `options.tickMs`, `symbol`, `speed`. */
  argument: string;
  /** The value given (`undefined` when it was missing). */
  value: unknown;
}

/**
 * A function was called with an argument or option of the wrong type or shape (a missing
 * `options.exchange`, a store without `read`, a `stop$` that is not an `ObservableInput`, …).
 * Thrown at once, by the call. It extends `TypeError` (what 0.1.0 threw for these) and is an
 * `RxTradeError` too; `argument` names the argument, `value` holds what was given, and the
 * message says what to give instead. (Additive to the API's error list.)
 *
 * @example
 * import { ArgumentError, liveTrade$ } from "rxtrade";
 * try { liveTrade$("BTCUSDT", strategy, { exchange, tickMs: 0 }); }
 * catch (error) { if (error instanceof ArgumentError) console.error(error.argument, error.value); } // "options.tickMs", 0
 */
export class ArgumentError extends TypeError implements ArgumentProblem {
  override readonly name = "ArgumentError";
  readonly argument: string;
  readonly value: unknown;
  constructor(message: string, problem: ArgumentProblem) {
    super(`rxtrade: ${message}`);
    this.argument = problem.argument;
    this.value = problem.value;
  }
}
markAsRxTradeError(ArgumentError);

/**
 * An argument or option of the right type but out of range (a `speed` of 0, an unknown candle
 * interval, a `fileMode` above 0o777, …). It extends `RangeError` (what 0.1.0 threw for these)
 * and is an `RxTradeError` too, with `argument` and `value` as `ArgumentError`'s. (Additive to
 * the API's error list.)
 */
export class ArgumentRangeError extends RangeError implements ArgumentProblem {
  override readonly name = "ArgumentRangeError";
  readonly argument: string;
  readonly value: unknown;
  constructor(message: string, problem: ArgumentProblem) {
    super(`rxtrade: ${message}`);
    this.argument = problem.argument;
    this.value = problem.value;
  }
}
markAsRxTradeError(ArgumentRangeError);

/**
 * A string argument written in a small language that does not parse: a price marble
 * (`candlesFromMarble`, `marbleExchange`) with a character its `values` do not define. It
 * extends `SyntaxError` (what 0.1.0 threw) and is an `RxTradeError` too, with `argument` and
 * `value` as `ArgumentError`'s. (Additive to the API's error list.)
 */
export class ArgumentSyntaxError extends SyntaxError implements ArgumentProblem {
  override readonly name = "ArgumentSyntaxError";
  readonly argument: string;
  readonly value: unknown;
  constructor(message: string, problem: ArgumentProblem) {
    super(`rxtrade: ${message}`);
    this.argument = problem.argument;
    this.value = problem.value;
  }
}
markAsRxTradeError(ArgumentSyntaxError);

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

/**
 * A store folder could not be listed (`listFileStore` of `rxtrade/node`): it does not exist
 * (`code` `ENOENT`), is a file (`ENOTDIR`) or cannot be read (`EACCES`, …). `path` is the
 * folder, absolute; the system error is in `cause`. (Additive to the API's error list.)
 */
export class StoreListError extends RxTradeError {
  override readonly name = "StoreListError";
  readonly path: string;
  /** The system error's code (`ENOENT`, `ENOTDIR`, `EACCES`, …), when it has one. */
  readonly code: string | undefined;
  constructor(options: { path: string; message: string; code?: string; cause?: unknown }) {
    super(`rxtrade: cannot list the store folder ${options.path}: ${options.message}`, {}, options.cause);
    this.path = options.path;
    this.code = options.code;
  }
}

/**
 * A journal that cannot be replayed (`replayJournal$`, `runReplay`, `rxtrade replay`): it has no
 * entries (`empty`), entries of several keys (`keys`), or no run recorded at level `full`
 * (`not-full`: it has the trades, not the ticks' inputs a replay needs; record with
 * `journalLevel: "full"` or `--journal full`). (Additive to the API's error list.)
 */
export class ReplayError extends RxTradeError {
  override readonly name = "ReplayError";
  readonly reason: "empty" | "keys" | "not-full";
  /** The journal's key, when it has one. */
  readonly key: string | undefined;
  constructor(options: { reason: "empty" | "keys" | "not-full"; message: string; key?: string; context?: ErrorContext }) {
    super(`rxtrade: ${options.message}`, options.context ?? {});
    this.reason = options.reason;
    this.key = options.key;
  }
}
