import { getLogger } from "../events";
import { ArgumentError, ArgumentRangeError } from "../errors";
import { copyEntry, type Journal, type JournalEntry, journalEntryProblem, type JournalTail } from "../journal";
import { serialByKey } from "../stores/keyed";

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
  /** The IndexedDB database, its own (not `indexedDbStore`'s). Default `"rxtrade-journal"`. */
  dbName?: string;
  /** Its object store. Default `"entries"`. */
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
  let opened: Promise<IDBDatabase> | undefined;

  // Opened on first use, so that creating the journal (e.g. at module load) touches no database.
  const database = (): Promise<IDBDatabase> => {
    opened ??= new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open(dbName, 1);
      request.onupgradeneeded = () => {
        const store = request.result.createObjectStore(storeName, { autoIncrement: true });
        store.createIndex(KEY_INDEX, "key");
      };
      request.onsuccess = () => {
        const db = request.result;
        // Another page upgrading the database: let it, and open again next time.
        db.onversionchange = () => {
          db.close();
          opened = undefined;
        };
        resolve(db);
      };
      request.onerror = () => reject(request.error ?? new Error(`cannot open ${where}`));
      request.onblocked = () => reject(new Error(`cannot open ${where}: blocked by another page that holds an older version open`));
    }).catch((error: unknown) => {
      opened = undefined;
      throw error;
    });
    return opened;
  };

  // One transaction; resolves with `collect`'s value once it has committed.
  const transact = async <T>(mode: IDBTransactionMode, run: (store: IDBObjectStore) => () => T): Promise<T> => {
    const db = await database();
    return new Promise<T>((resolve, reject) => {
      const transaction = mode === "readwrite" ? db.transaction(storeName, mode, { durability: "strict" }) : db.transaction(storeName, mode);
      const collect = run(transaction.objectStore(storeName));
      transaction.oncomplete = () => resolve(collect());
      transaction.onerror = () => reject(transaction.error ?? new Error(`a transaction on ${where} failed`));
      transaction.onabort = () => reject(transaction.error ?? new Error(`a transaction on ${where} was aborted`));
    });
  };

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
      const pending = opened;
      opened = undefined;
      (await pending?.catch(() => undefined))?.close();
    },
  };
  return journal;
}
