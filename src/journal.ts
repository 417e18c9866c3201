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

/** A change of position, appended after the store write it follows (fsync'd by durable journals). */
export interface JournalTrade {
  kind: "trade";
  /** The stream's store key, `<symbol>:<strategyName>`. */
  key: string;
  /** The tick's time (ms, the stream's scheduler). */
  at: number;
  result: TickResultScheduled | TickResultOpened | TickResultClosed | TickResultCancelled;
}

/** One candle request a tick made and the candles it got (closed ones, oldest first). */
export interface JournalCandles {
  interval: CandleInterval;
  /** The open time of the first candle asked for (ms). */
  since: number;
  limit: number;
  candles: Candle[];
}

/** What the strategy answered on a tick that asked it. */
export type JournalAnswer =
  | { signal: SignalDto | null }
  | { error: { name: string; message: string } };

/** What one tick saw and decided (level `full`). */
export interface JournalTick {
  kind: "tick";
  key: string;
  at: number;
  /** Every candle request of the tick: the pricing one first, then the strategy's, in order. */
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
}

/** One record of a journal, discriminated by `kind`. */
export type JournalEntry = JournalTrade | JournalTick | JournalRun;

/**
 * Where streams append what they decided and why; a `LiveOptions.journal`. One journal serves
 * many keys. Implementations: `memoryJournal()` (here), `fileJournal(dir)` (`rxtrade/node`:
 * JSON lines, one file per key), `indexedDbJournal()` (`rxtrade/browser`).
 */
export interface Journal {
  /**
   * Appends one entry. A `trade` or `run` entry is settled only once it is durable (a file
   * journal fsyncs); `tick` entries may be buffered. Called in order; never concurrently for
   * one key.
   */
  append(entry: JournalEntry): void | PromiseLike<void>;
  /** The entries of `key`, oldest first. A torn or unreadable record is skipped, never fatal. */
  read(key: string): AsyncIterable<JournalEntry>;
  /** The keys that have entries. */
  keys(): PromiseLike<string[]> | string[];
}

/** A journal in memory (tests, the browser without IndexedDB, a process that needs no history). */
export function memoryJournal(): Journal & { readonly entries: ReadonlyMap<string, readonly JournalEntry[]> } {
  const entries = new Map<string, JournalEntry[]>();
  return {
    entries,
    append(entry) {
      const list = entries.get(entry.key);
      // A structured copy: what is journaled cannot change afterwards with the caller's object.
      if (list === undefined) entries.set(entry.key, [structuredClone(entry)]);
      else list.push(structuredClone(entry));
    },
    async *read(key) {
      for (const entry of entries.get(key) ?? []) yield structuredClone(entry);
    },
    keys: () => [...entries.keys()],
  };
}
