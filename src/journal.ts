import type {
  Candle,
  CandleInterval,
  SignalDto,
  TickAction,
  TickResultCancelled,
  TickResultClosed,
  TickResultOpened,
  TickResultScheduled,
} from "./model";

/**
 * How much a stream writes to its journal: nothing, its changes of position (`trades`), or
 * also every tick's inputs and decision (`full`, what `replayJournal$` needs).
 */
export type JournalLevel = "off" | "trades" | "full";

/** The levels, in order of detail. */
export const JOURNAL_LEVELS: readonly JournalLevel[] = ["off", "trades", "full"];

/** An error as a journal keeps it: JSON-safe. */
export interface JournalErrorInfo {
  name: string;
  message: string;
}

/** The result of a change of position: scheduled, opened, closed or cancelled. */
export type JournalTradeResult = TickResultScheduled | TickResultOpened | TickResultClosed | TickResultCancelled;

/**
 * A change of position, appended after the store write it follows and before the result is
 * emitted. Its `intent` entry, appended (durably) before the store write, makes it survive a
 * kill between the two, so a durable journal may write this entry without an fsync of its own.
 */
export interface JournalTrade {
  kind: "trade";
  /** The stream's store key, `<symbol>:<strategyName>`. */
  key: string;
  /** The tick's time (ms, the stream's scheduler). */
  at: number;
  result: JournalTradeResult;
  /**
   * Set on an entry rebuilt at a run's start from the store, because the process that wrote the
   * store was killed before it journaled this change and no intent of it was journaled either
   * (the journal was failing; see `JournalRecovery`). Its `at` and `result.timestamp` are the
   * signal's own (`scheduledAt`, or `pendingAt` for `opened`); its `result.currentPrice` is the
   * signal's `priceOpen`, since the tick's price was lost.
   */
  recovered?: true;
  /**
   * Set on an entry appended at a run's start from the previous run's `intent`: that run wrote
   * the store, then was killed (or its journal failed) before it appended this entry. The
   * result is the one that run computed, complete (price, PnL, reason); `at` is its tick's.
   */
  fromIntent?: true;
}

/**
 * A change of position about to be written to the store (write-ahead): appended, and durable
 * once `append` settles, before the store write, with the full result the run emits once the
 * write is confirmed. The `trade` entry after it confirms it. A run killed between the two
 * (or stopped while its store write was in flight) leaves the intent pending
 * (`JournalTail.pendingIntent`); the next start confirms it (appends its `trade`, `fromIntent`)
 * when the store holds what it says, and voids it when the store still holds what came before
 * (see `JournalRecovery.intent`). Bookkeeping, not history: the built-in journals' `read`
 * leaves intents out.
 */
export interface JournalIntent {
  kind: "intent";
  key: string;
  /** The tick's time (ms). */
  at: number;
  result: JournalTradeResult;
}

/**
 * Tick entries a run dropped (level `full`): its journal was failing, or fell behind by more
 * than the writer keeps queued. Written once the journal takes entries again, before the next
 * tick entry (or at the run's end), so a replay knows these ticks are missing, not idle.
 * Changes of position are never dropped.
 */
export interface JournalGap {
  kind: "gap";
  key: string;
  /** When the gap was written (ms, the stream's scheduler). */
  at: number;
  /** The `at` of the first and the last tick dropped. */
  from: number;
  to: number;
  /** How many tick entries were dropped. */
  ticks: number;
  /**
   * `failing`: appends failed or hung; `behind`: the journal was slower than the ticks.
   * `unrecorded`: written by a run's start (before its `start` entry, `ticks` 0) that found an
   * earlier run of the key ended while its journal was failing (`fileJournal`'s marker): changes of
   * position between `from` (its first failed append) and `to` (this start) may be missing, so
   * the ledger is incomplete there (`rxtrade report` says so).
   */
  reason: "failing" | "behind" | "unrecorded";
}

/** One candle request a tick made and the candles it got (closed ones, oldest first). */
export interface JournalCandles {
  interval: CandleInterval;
  /** The open time of the first candle asked for (ms). */
  since: number;
  limit: number;
  /**
   * The candles the engine used: for the pricing request, those of the VWAP window; for a
   * strategy's request, what `getCandles`/`candles$` gave it. Empty when the request failed.
   */
  candles: Candle[];
  /**
   * The request failed after its last attempt (`ExchangeError`, `CandleDataError`, a time
   * limit), or had not been answered when the tick ended (`name` "Unanswered").
   */
  error?: JournalErrorInfo;
}

/**
 * What the strategy answered on a tick that asked it: a signal (as the engine took it: `id`
 * is the signal's, generated when the strategy gave none; `priceOpen` only for a limit entry),
 * `null`, or the error (a throw, a rejection, a time limit: `StrategyError`; a signal that
 * broke a rule: `InvalidSignalError`).
 */
export type JournalAnswer = { signal: SignalDto | null } | { error: JournalErrorInfo };

/** What one tick saw and decided (level `full`). */
export interface JournalTick {
  kind: "tick";
  key: string;
  at: number;
  /** Every candle request of the tick: the pricing one first, then the strategy's, in the order it made them. */
  candles: JournalCandles[];
  /** The VWAP the tick priced with; `null` when pricing failed (the tick then failed). */
  price: number | null;
  /** The strategy's answer; absent when it was not asked (a signal was open, or its interval had not passed). */
  answer?: JournalAnswer;
  /** What the tick decided, or `error` for a tick that failed (and was retried). */
  action: TickAction | "error";
  /** The id of the signal the tick ended with, if any. */
  signalId?: string;
}

/**
 * What a run found at its start when it compared the journal's last entries of its key with
 * the store (the store is the truth). Present on a `start` entry when anything was found.
 *
 * The engine journals a change's `intent`, writes the store, then journals its `trade`, so a
 * kill between the two leaves the intent last; at the next start it is confirmed or voided by
 * the store (`intent`). Without an intent (appends that failed until the process died, a torn
 * last line) the journal can be behind the store:
 * - the store holds a signal whose state (`scheduled` or `opened`) the journal's last trade does
 *   not show: a `trade` entry rebuilt from the stored signal (`recovered: true`) is appended
 *   just before the `start` entry, and its id is `recoveredSignalId`;
 * - the journal's last trade left a signal scheduled or open that the store no longer holds: it
 *   was closed or cancelled (or the key was cleared by hand) after that entry; how, when and at
 *   what price died with that process. It is `endedSignal`, so no open position is left
 *   dangling in the history.
 */
export interface JournalRecovery {
  /** The journal's previous run of this key has no `stop` entry: it was killed or crashed, or its last appends failed. */
  unfinishedRun: boolean;
  /**
   * The previous run's last `intent` had no `trade` after it: the store, read at this start,
   * decided it. `confirmed`: the store holds the change, so its `trade` entry (`fromIntent`,
   * the full result) was appended just before this one; `voided`: the store still holds what
   * came before, so the change never happened (the run was killed before its store write).
   */
  intent?: { signalId: string; action: JournalTradeResult["action"]; at: number; outcome: "confirmed" | "voided" };
  /** The stored signal that was journaled by a `recovered` trade entry just before this one. */
  recoveredSignalId?: string;
  /** The signal the journal last showed as held, which the store no longer holds: ended after `since` (ms, that entry's `at`), unrecorded. */
  endedSignal?: { signalId: string; status: "scheduled" | "opened"; since: number };
}

/** A run of a stream started or stopped. */
export interface JournalRun {
  kind: "run";
  key: string;
  at: number;
  event: "start" | "stop";
  symbol: string;
  strategyName: string;
  exchangeName: string;
  level: JournalLevel;
  tickMs: number;
  /** The signal found in the store at the start, resumed by this run. */
  resumedSignalId?: string;
  /** `start` only: what the run reconciled between the journal and the store (see `JournalRecovery`). */
  recovery?: JournalRecovery;
  /**
   * `start` only: the run's clock went back to this time (ms), at or before entries already
   * journaled — `rxtrade demo` restarted after a kill runs again the ticks after the store's last
   * write. The `tick` and `gap` entries before this one whose time (`at`; a gap's `from`) is at or
   * after it are superseded: readers and replays go by this run's instead. Trade entries are never
   * superseded (each is a store write that landed; a restart never goes back before the last).
   */
  rewoundTo?: number;
  /**
   * `stop` only: a graceful stop (`stopped`), an error that ended the run (`error`, see
   * `error`), or the stream was unsubscribed (`unsubscribed`). A run with no `stop` entry was
   * killed or crashed.
   */
  reason?: "stopped" | "error" | "unsubscribed";
  /** `stop` with reason `error`: the error that ended the run. */
  error?: JournalErrorInfo;
}

/** One record of a journal, discriminated by `kind`. */
export type JournalEntry = JournalTrade | JournalTick | JournalRun | JournalIntent | JournalGap;

/** The last `trade` and `run` entries of a key (either may be missing), and its unconfirmed intent. */
export interface JournalTail {
  lastTrade?: JournalTrade;
  lastRun?: JournalRun;
  /** The key's last `intent`, when no `trade` entry (its confirmation) or `start` entry (a start that decided it) came after it. */
  pendingIntent?: JournalIntent;
}

/**
 * Where streams append what they decided and why; a `LiveOptions.journal`. One journal serves
 * many keys. Implementations: `memoryJournal()` (here), `fileJournal(dir)` (`rxtrade/node`:
 * JSON lines, one file per key), `indexedDbJournal()` (`rxtrade/browser`).
 */
export interface Journal {
  /**
   * Appends one entry. An `intent`, `run` or `gap` entry is settled only once it is durable (a
   * file journal fsyncs); so is a `trade` entry, unless it confirms the intent appended just
   * before it (that intent already makes it survive a kill); `tick` entries may be buffered.
   * Called in order; never concurrently for one key. A plain return is a synchronous success, a
   * throw or a rejection a failure.
   */
  append(entry: JournalEntry): void | PromiseLike<void>;
  /**
   * The entries of `key`, oldest first. A torn or unreadable record is skipped, never fatal.
   * `intent` entries may be left out (the built-in journals do: they are bookkeeping, and
   * `tail` reports the one that matters); a journal without `tail` must yield them.
   */
  read(key: string): AsyncIterable<JournalEntry>;
  /** The keys that have entries. */
  keys(): PromiseLike<string[]> | string[];
  /**
   * Optional: the key's last `trade` and `run` entries and its pending intent, which a stream
   * reads at its start to reconcile the journal with the store. Without it, the stream reads
   * the whole key with `read`. A synchronous answer keeps a synchronous stream synchronous.
   */
  tail?(key: string): JournalTail | PromiseLike<JournalTail>;
}

export { copyEntry, errorInfo, journalEntryProblem, journalTail, TailScan } from "./journalEntries";
export { memoryJournal } from "./memoryJournal";
