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

/** A change of position, appended after the store write it follows (fsync'd by durable journals). */
export interface JournalTrade {
  kind: "trade";
  /** The stream's store key, `<symbol>:<strategyName>`. */
  key: string;
  /** The tick's time (ms, the stream's scheduler). */
  at: number;
  result: TickResultScheduled | TickResultOpened | TickResultClosed | TickResultCancelled;
  /**
   * Set on an entry rebuilt at a run's start from the store, because the process that wrote the
   * store was killed before it journaled this change (see `JournalRecovery`). Its `at` and
   * `result.timestamp` are the signal's own (`scheduledAt`, or `pendingAt` for `opened`); its
   * `result.currentPrice` is the signal's `priceOpen`, since the tick's price was lost.
   */
  recovered?: true;
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
 * The engine writes the store first and journals the change after, so a kill between the two
 * (or a torn last line, or appends that failed until the process died) leaves the journal
 * behind the store. At the next start:
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
   * `stop` only: a graceful stop (`stopped`), an error that ended the run (`error`, see
   * `error`), or the stream was unsubscribed (`unsubscribed`). A run with no `stop` entry was
   * killed or crashed.
   */
  reason?: "stopped" | "error" | "unsubscribed";
  /** `stop` with reason `error`: the error that ended the run. */
  error?: JournalErrorInfo;
}

/** One record of a journal, discriminated by `kind`. */
export type JournalEntry = JournalTrade | JournalTick | JournalRun;

/** The last `trade` and `run` entries of a key (either may be missing). */
export interface JournalTail {
  lastTrade?: JournalTrade;
  lastRun?: JournalRun;
}

/**
 * Where streams append what they decided and why; a `LiveOptions.journal`. One journal serves
 * many keys. Implementations: `memoryJournal()` (here), `fileJournal(dir)` (`rxtrade/node`:
 * JSON lines, one file per key), `indexedDbJournal()` (`rxtrade/browser`).
 */
export interface Journal {
  /**
   * Appends one entry. A `trade` or `run` entry is settled only once it is durable (a file
   * journal fsyncs); `tick` entries may be buffered. Called in order; never concurrently for
   * one key. A plain return is a synchronous success, a throw or a rejection a failure.
   */
  append(entry: JournalEntry): void | PromiseLike<void>;
  /** The entries of `key`, oldest first. A torn or unreadable record is skipped, never fatal. */
  read(key: string): AsyncIterable<JournalEntry>;
  /** The keys that have entries. */
  keys(): PromiseLike<string[]> | string[];
  /**
   * Optional: the key's last `trade` and `run` entries, which a stream reads at its start to
   * reconcile the journal with the store. Without it, the stream reads the whole key with
   * `read`. A synchronous answer keeps a synchronous stream synchronous.
   */
  tail?(key: string): JournalTail | PromiseLike<JournalTail>;
}

/**
 * A journal in memory (tests, the browser without IndexedDB, a process that needs no history).
 * Synchronous: a stream on it journals inside `TestScheduler.run` and `VirtualClock.flush`.
 *
 * @example
 * import { liveTrade$, memoryJournal } from "rxtrade";
 * const journal = memoryJournal();
 * liveTrade$("BTCUSDT", strategy, { exchange, journal, journalLevel: "full" }).subscribe();
 * for await (const entry of journal.read("BTCUSDT:momentum")) console.log(entry.kind, entry.at);
 */
export function memoryJournal(): Journal & {
  readonly entries: ReadonlyMap<string, readonly JournalEntry[]>;
  tail(key: string): JournalTail;
} {
  const entries = new Map<string, JournalEntry[]>();
  return {
    entries,
    append(entry) {
      const list = entries.get(entry.key);
      // A copy: what is journaled cannot change afterwards with the caller's object.
      if (list === undefined) entries.set(entry.key, [copyEntry(entry)]);
      else list.push(copyEntry(entry));
    },
    async *read(key) {
      for (const entry of entries.get(key) ?? []) yield copyEntry(entry);
    },
    keys: () => [...entries.keys()],
    tail(key) {
      const list = entries.get(key) ?? [];
      const tail: JournalTail = {};
      for (let i = list.length - 1; i >= 0 && (tail.lastTrade === undefined || tail.lastRun === undefined); i--) {
        const entry = list[i] as JournalEntry;
        if (entry.kind === "trade") tail.lastTrade ??= copyEntry(entry);
        else if (entry.kind === "run") tail.lastRun ??= copyEntry(entry);
      }
      return tail;
    },
  };
}

/**
 * A deep copy of an entry as a JSON round trip would give it (properties set to `undefined`
 * left out), several times faster than `structuredClone` or `JSON.parse(JSON.stringify())`:
 * journals copy every entry they keep.
 */
export function copyEntry<T extends JournalEntry>(entry: T): T {
  return copyJson(entry) as T;
}

function copyJson(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    const copy = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) copy[i] = copyJson(value[i]);
    return copy;
  }
  const copy: Record<string, unknown> = {};
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const field = (value as Record<string, unknown>)[key];
    if (field !== undefined && typeof field !== "function") copy[key] = typeof field === "object" ? copyJson(field) : field;
  }
  return copy;
}

/** The last `trade` and `run` entries among `entries` (a whole key's, oldest first). */
export async function journalTail(entries: AsyncIterable<JournalEntry>): Promise<JournalTail> {
  const tail: JournalTail = {};
  for await (const entry of entries) {
    if (entry.kind === "trade") tail.lastTrade = entry;
    else if (entry.kind === "run") tail.lastRun = entry;
  }
  return tail;
}

/**
 * Why `value` (a parsed record) is not a journal entry of `key`, or `undefined` when it is.
 * Checks the discriminant and the fields every reader relies on, not every nested value.
 */
export function journalEntryProblem(value: unknown, key?: string): string | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return "not an object";
  const entry = value as Partial<Record<string, unknown>>;
  if (entry.kind !== "trade" && entry.kind !== "tick" && entry.kind !== "run") return `kind ${JSON.stringify(entry.kind)} is not trade, tick or run`;
  if (typeof entry.key !== "string") return "no key";
  if (key !== undefined && entry.key !== key) return `it belongs to key ${JSON.stringify(entry.key)}`;
  if (typeof entry.at !== "number" || !Number.isFinite(entry.at)) return `at (${String(entry.at)}) is not a time`;
  switch (entry.kind) {
    case "trade": {
      const result = entry.result as { action?: unknown; signal?: unknown } | null | undefined;
      const actions = ["scheduled", "opened", "closed", "cancelled"];
      if (result === null || typeof result !== "object" || !actions.includes(result.action as string) || typeof result.signal !== "object" || result.signal === null) {
        return "a trade without a scheduled, opened, closed or cancelled result";
      }
      return undefined;
    }
    case "tick":
      return Array.isArray(entry.candles) && typeof entry.action === "string" ? undefined : "a tick without candles or action";
    default:
      return entry.event === "start" || entry.event === "stop" ? undefined : `run event ${JSON.stringify(entry.event)} is not start or stop`;
  }
}

/** An error, as a journal keeps it. */
export function errorInfo(error: unknown): JournalErrorInfo {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: "Error", message: String(error) };
}
