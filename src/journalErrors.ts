// The errors of the journal and what reads it: a journal call that fails, a report that cannot
// be written, a journal that cannot be replayed.
import type { JournalEntry } from "./journal";
import { type ErrorContext, RxTradeError } from "./errorBase";

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
