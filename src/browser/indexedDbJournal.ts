import { getLogger } from "../events";
import { ArgumentError, ArgumentRangeError } from "../errors";
import { copyEntry, type Journal, type JournalEntry, journalEntryProblem, type JournalTail } from "../journal";
import { serialByKey } from "../stores/keyed";
import { IdbConnection, type StoreShape } from "./idbConnection";

/** A record of an IndexedDB journal that `read` skipped. */
export interface IndexedDbJournalWarning {
  key: string | undefined;
  /** Its primary key in the object store. */
  id: IDBValidKey;
  reason: "foreign";
  /** Records of this read skipped so far, this one included. */
  skipped: number;
  message: string;
}

/** Options of `indexedDbJournal`. */
export interface IndexedDbJournalOptions {
  /**
   * The IndexedDB database. Default `"rxtrade-journal"`. It may hold other object stores (other
   * journals', an `indexedDbStore`'s, another app's): see `indexedDbJournal`.
   */
  dbName?: string;
  /** Its object store, created (with its index) when missing. Default `"entries"`. */
  storeName?: string;
  /** How long (ms) `tick` entries may wait in memory before they are committed. Default 1000. */
  flushMs?: number;
  /** Told of every record `read` skips. Default: the logger's `warn`. */
  onWarning?: (warning: IndexedDbJournalWarning) => void;
}

/** A `Journal` over IndexedDB, as returned by `indexedDbJournal`. */
export interface IndexedDbJournal extends Journal {
  /** `trade` and `run` entries resolve once their transaction has committed; `tick` entries are buffered (`void`). */
  append(entry: JournalEntry): void | Promise<void>;
  keys(): Promise<string[]>;
  tail(key: string): Promise<JournalTail>;
  /** Commits every buffered `tick` entry. */
  flush(): Promise<void>;
  /** `flush`, then closes the database connection (a later call opens it again). */
  close(): Promise<void>;
}

interface KeyBuffer {
  entries: JournalEntry[];
  timer: ReturnType<typeof setTimeout> | undefined;
}

const KEY_INDEX = "key";

// Entries under auto-incremented ids (the append order), indexed by key.
const JOURNAL_SHAPE: StoreShape = {
  complete: (store) => store.indexNames.contains(KEY_INDEX),
  upgrade(db, storeName, existing) {
    const store = existing ?? db.createObjectStore(storeName, { autoIncrement: true });
    if (!store.indexNames.contains(KEY_INDEX)) store.createIndex(KEY_INDEX, "key");
  },
};

/**
 * A durable `Journal` for the browser, on IndexedDB: one object store of entries with
 * auto-incremented ids (their order is the append order) and an index by key, so a key's
 * entries are read oldest first. A page reload, a crashed tab or a closed browser keeps them.
 *
 * - `trade` and `run` entries are committed in a `strict`-durability transaction before
 *   `append` resolves (Chromium's default, `relaxed`, may lose the last ones to a power cut);
 *   `tick` entries are buffered and committed with the next of those, or `flushMs` later.
 * - A record that is not a journal entry of its key is skipped with a warning, never fatal.
 * - One writer per key: the store's lock (`indexedDbStore` uses Web Locks) makes sure of it.
 * - The database is opened at the version it has, with whatever other object stores it holds;
 *   when the journal's store (or its index) is missing, it is reopened at that version + 1,
 *   whose upgrade creates it. Journals and stores of one database in one page open it one at a
 *   time. A tab that keeps an older version open without closing it on `versionchange` blocks
 *   that upgrade: the call fails with an error naming both versions (close the other tab, or
 *   reload it, and the next call goes on). When another connection upgrades the database, this
 *   one closes (so it blocks nobody) and the next call reopens it; a call that had the connection
 *   as it closed is run again on the new one, so none is lost.
 *
 * @example
 * import { liveTrade$ } from "rxtrade";
 * import { indexedDbJournal, indexedDbStore } from "rxtrade/browser";
 * liveTrade$("BTCUSDT", strategy, { exchange, store: indexedDbStore(), journal: indexedDbJournal() }).subscribe();
 *
 * @param options the database and object store, the tick buffer's bound, where warnings go
 */
export function indexedDbJournal(options: IndexedDbJournalOptions = {}): IndexedDbJournal {
  const { dbName = "rxtrade-journal", storeName = "entries", flushMs = 1000 } = options;
  if (!(Number.isFinite(flushMs) && flushMs >= 0 && flushMs <= 2_147_483_647)) {
    throw new ArgumentRangeError(`indexedDbJournal option flushMs (${flushMs}) must be a number of ms from 0 to 2147483647, e.g. 1000`, { argument: "options.flushMs", value: flushMs });
  }
  const warn = options.onWarning ?? ((warning: IndexedDbJournalWarning) => getLogger().warn(`rxtrade: ${warning.message}`));
  const where = `indexedDB ${dbName}/${storeName}`;
  const serial = serialByKey();
  const buffers = new Map<string, KeyBuffer>();
  // Opened on first use, so that creating the journal (e.g. at module load) touches no database.
  const connection = new IdbConnection(dbName, storeName, JOURNAL_SHAPE);

  // One transaction; resolves with `collect`'s value once it has committed.
  const transact = <T>(mode: IDBTransactionMode, run: (store: IDBObjectStore) => () => T): Promise<T> =>
    connection.transaction(
      mode,
      (store) =>
        new Promise<T>((resolve, reject) => {
          const transaction = store.transaction;
          const collect = run(store);
          transaction.oncomplete = () => resolve(collect());
          transaction.onerror = () => reject(transaction.error ?? new Error(`a transaction on ${where} failed`));
          transaction.onabort = () => reject(transaction.error ?? new Error(`a transaction on ${where} was aborted`));
        }),
      mode === "readwrite" ? { durability: "strict" } : undefined,
    );

  const bufferOf = (key: string): KeyBuffer => {
    let buffer = buffers.get(key);
    if (buffer === undefined) buffers.set(key, (buffer = { entries: [], timer: undefined }));
    return buffer;
  };

  const take = (buffer: KeyBuffer): JournalEntry[] => {
    if (buffer.timer !== undefined) {
      clearTimeout(buffer.timer);
      buffer.timer = undefined;
    }
    const entries = buffer.entries;
    buffer.entries = [];
    return entries;
  };

  // Puts `entries` in one transaction, in order; on failure the buffered ticks among them go
  // back in front of the buffer (a failed transaction commits nothing).
  const commit = (key: string, entries: JournalEntry[], ticks: number): Promise<void> =>
    serial(key, async () => {
      try {
        await transact("readwrite", (store) => {
          for (const entry of entries) store.add(entry);
          return () => undefined;
        });
      } catch (error) {
        const buffer = bufferOf(key);
        buffer.entries.unshift(...entries.slice(0, ticks));
        throw new Error(`cannot append to ${where}: ${(error as Error)?.message ?? String(error)}`, { cause: error });
      }
    });

  const flushKey = (key: string): Promise<void> => {
    const buffer = buffers.get(key);
    if (buffer === undefined || buffer.entries.length === 0) return serial(key, async () => undefined);
    const entries = take(buffer);
    return commit(key, entries, entries.length);
  };

  async function entriesOf(key: string): Promise<JournalEntry[]> {
    await flushKey(key).catch(() => undefined);
    const records = await transact("readonly", (store) => {
      const values: unknown[] = [];
      const ids: IDBValidKey[] = [];
      // Records of one index key come in primary-key order: the order they were appended.
      const cursor = store.index(KEY_INDEX).openCursor(IDBKeyRange.only(key));
      cursor.onsuccess = () => {
        const at = cursor.result;
        if (at === null) return;
        values.push(at.value);
        ids.push(at.primaryKey);
        at.continue();
      };
      return () => ({ values, ids });
    });
    const entries: JournalEntry[] = [];
    let skipped = 0;
    records.values.forEach((value, i) => {
      const problem = journalEntryProblem(value, key);
      if (problem === undefined) {
        // Intents are bookkeeping, not history: `tail` reports the pending one.
        if ((value as JournalEntry).kind !== "intent") entries.push(value as JournalEntry);
        return;
      }
      skipped++;
      const id = records.ids[i] as IDBValidKey;
      warn({ key, id, reason: "foreign", skipped, message: `journal ${where} record ${String(id)}: not a journal entry of ${key} (${problem}): skipped (${skipped} skipped in this read)` });
    });
    return entries;
  }

  const journal: IndexedDbJournal = {
    append(entry) {
      const problem = journalEntryProblem(entry);
      if (problem !== undefined) throw new ArgumentError(`indexedDbJournal.append: not a journal entry (${problem})`, { argument: "entry", value: entry });
      // A copy now: what is journaled is the entry as it was when appended.
      const copy = copyEntry(entry);
      const buffer = bufferOf(entry.key);
      if (entry.kind === "tick") {
        buffer.entries.push(copy);
        buffer.timer ??= setTimeout(() => {
          buffer.timer = undefined;
          flushKey(entry.key).catch((error: unknown) => {
            getLogger().warn(`rxtrade: journal of ${entry.key}: cannot commit its buffered tick entries (${(error as Error).message}); they are kept for the next append`);
          });
        }, flushMs);
        return undefined;
      }
      const entries = take(buffer);
      const ticks = entries.length;
      entries.push(copy);
      return commit(entry.key, entries, ticks);
    },

    async *read(key) {
      yield* await entriesOf(key);
    },

    async tail(key) {
      await flushKey(key).catch(() => undefined);
      return transact("readonly", (store) => {
        const tail: JournalTail = {};
        let settled = false;
        const cursor = store.index(KEY_INDEX).openCursor(IDBKeyRange.only(key), "prev");
        cursor.onsuccess = () => {
          const at = cursor.result;
          if (at === null) return;
          const value = at.value as JournalEntry;
          if (journalEntryProblem(value, key) === undefined) {
            // An intent is pending when no trade or start entry came after it (see TailScan).
            if (value.kind === "intent" && !settled) tail.pendingIntent = value;
            settled ||= value.kind === "trade" || value.kind === "intent" || (value.kind === "run" && value.event === "start");
            if (value.kind === "trade") tail.lastTrade ??= value;
            else if (value.kind === "run") tail.lastRun ??= value;
          }
          if (tail.lastTrade === undefined || tail.lastRun === undefined || !settled) at.continue();
        };
        return () => tail;
      });
    },

    keys() {
      return transact("readonly", (store) => {
        const keys: string[] = [];
        const cursor = store.index(KEY_INDEX).openKeyCursor(null, "nextunique");
        cursor.onsuccess = () => {
          const at = cursor.result;
          if (at === null) return;
          if (typeof at.key === "string") keys.push(at.key);
          at.continue();
        };
        return () => keys;
      });
    },

    async flush() {
      await Promise.all([...buffers.keys()].map((key) => flushKey(key)));
    },

    async close() {
      await journal.flush();
      await connection.close();
    },
  };
  return journal;
}
