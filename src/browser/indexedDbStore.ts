import { del, set, type UseStore } from "idb-keyval";
import { StoreLockedError, StoreReadError, StoreWriteError } from "../errors";
import type { SignalStore } from "../model";
import { keyLocks, serialByKey } from "../stores/keyed";
import { IdbConnection, type StoreShape } from "./idbConnection";

/** The format version of a stored entry. */
const FORMAT = 1;

/** What an entry holds, as JSON text: the value, and the exact key it belongs to. */
interface Envelope {
  rxtrade: typeof FORMAT;
  key: string;
  value: unknown;
}

/** A `SignalStore` over IndexedDB, as returned by `indexedDbStore`. */
export interface IndexedDbStore extends SignalStore {
  read(key: string): Promise<unknown | null>;
  write(key: string, value: unknown | null): Promise<void>;
  lock(key: string): Promise<() => void>;
}

interface WebLocks {
  request(name: string, options: { ifAvailable: boolean }, callback: (lock: unknown) => Promise<void> | void): Promise<unknown>;
}

// Without the Web Locks API, keys are locked per database and object store in this realm.
const heldInMemory = new Map<string, Set<string>>();
// Web Locks are released asynchronously; a lock request of this realm waits for its own
// pending release, so that a key can be locked again as soon as `release()` has returned.
const releasing = new Map<string, Promise<unknown>>();

// idb-keyval's layout: values under out-of-line keys.
const KEYVAL_SHAPE: StoreShape = {
  upgrade(db, storeName, existing) {
    if (existing === undefined) db.createObjectStore(storeName);
  },
};

/**
 * A durable `SignalStore` for the browser, on IndexedDB (idb-keyval's layout and calls): one
 * entry per key holding the value as JSON text; a write resolves once its transaction has
 * committed. Writes to one key are applied in call order; `write(key, null)` deletes the entry.
 *
 * An entry that is not the store's own (not JSON text of `{ rxtrade: 1, key, value }` for this
 * key) is moved, in the same transaction, to the key `<key>.corrupt-<timestamp>` and `read`
 * throws a `StoreReadError` with `quarantinedTo`; the next read returns `null`.
 *
 * `lock(key)` uses the Web Locks API where the browser has it (exclusive across tabs and
 * workers of the origin), else a lock per database and object store in this page.
 *
 * The database is opened as `indexedDbJournal` opens its own (not with idb-keyval's
 * `createStore`, which opens at whatever version the database has and never creates a missing
 * store): it may hold other object stores — other stores', a journal's, another app's — and a
 * missing store is created by an upgrade to the next version; a tab that keeps an older version
 * open blocks it, and the call fails saying so. This connection closes when another one upgrades
 * the database, and the next call reopens it.
 *
 * @example
 * import { liveTrade$ } from "rxtrade";
 * import { indexedDbStore } from "rxtrade/browser";
 * liveTrade$("BTCUSDT", strategy, { exchange, store: indexedDbStore() }).subscribe();
 *
 * @param dbName the IndexedDB database (default `"rxtrade"`)
 * @param storeName its object store (default `"signals"`)
 */
export function indexedDbStore(dbName = "rxtrade", storeName = "signals"): IndexedDbStore {
  // Opened on first use, so that creating the store (e.g. at module load) touches no database.
  const connection = new IdbConnection(dbName, storeName, KEYVAL_SHAPE);
  const database: UseStore = (mode, callback) => connection.transaction(mode, callback);
  const path = `indexedDB ${dbName}/${storeName}`;
  // Reads (which may quarantine) and writes of a key run in call order.
  const serial = serialByKey();

  return {
    read(key) {
      return serial(key, async () => {
        let outcome: ReadOutcome;
        try {
          outcome = await database("readwrite", (store) => readOrQuarantine(store, key));
        } catch (cause) {
          throw new StoreReadError({ key, path, cause });
        }
        if ("value" in outcome) return outcome.value;
        throw new StoreReadError({
          key,
          path,
          quarantinedTo: outcome.quarantinedTo,
          cause: new Error(outcome.problem),
          message: `not an rxtrade entry: ${outcome.problem}`,
        });
      });
    },

    write(key, value) {
      return serial(key, async () => {
        try {
          if (value === null) {
            await del(key, database);
            return;
          }
          if (value === undefined || typeof value === "function" || typeof value === "symbol") {
            throw new TypeError(`the value (${typeof value}) is not JSON; write null to clear the key`);
          }
          const envelope: Envelope = { rxtrade: FORMAT, key, value };
          await set(key, JSON.stringify(envelope), database);
        } catch (cause) {
          throw new StoreWriteError({ key, path, cause });
        }
      });
    },

    async lock(key) {
      const locks = (globalThis as { navigator?: { locks?: WebLocks } }).navigator?.locks;
      if (locks !== undefined && typeof locks.request === "function") {
        return webLock(locks, `rxtrade:${dbName}/${storeName}:${key}`, key);
      }
      const scope = `${dbName}/${storeName}`;
      let held = heldInMemory.get(scope);
      if (held === undefined) heldInMemory.set(scope, (held = new Set()));
      return keyLocks(held)(key);
    },
  };
}

type ReadOutcome = { value: unknown } | { quarantinedTo: string; problem: string };

/** In one transaction: the key's value, or the corrupt entry moved to a fresh `.corrupt-` key. */
function readOrQuarantine(store: IDBObjectStore, key: string): Promise<ReadOutcome> {
  // Plain request callbacks, not awaits: the transaction must stay active between the steps.
  return new Promise<ReadOutcome>((resolve, reject) => {
    const transaction = store.transaction;
    let outcome: ReadOutcome | undefined;
    const get = store.get(key);
    get.onsuccess = () => {
      const raw: unknown = get.result;
      if (raw === undefined) {
        outcome = { value: null };
        return;
      }
      const decoded = decode(raw, key);
      if ("value" in decoded) {
        outcome = decoded;
        return;
      }
      const base = `${key}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}`;
      const probe = (n: number) => {
        const target = n === 0 ? base : `${base}-${n}`;
        const existing = store.getKey(target);
        existing.onsuccess = () => {
          if (existing.result !== undefined) {
            probe(n + 1);
            return;
          }
          store.put(raw, target);
          store.delete(key);
          outcome = { quarantinedTo: target, problem: decoded.problem };
        };
      };
      probe(0);
    };
    transaction.oncomplete = () => {
      if (outcome === undefined) reject(new Error("the transaction completed without a result"));
      else resolve(outcome);
    };
    transaction.onabort = () => reject(transaction.error ?? new Error("the transaction was aborted"));
  });
}

function decode(raw: unknown, key: string): { value: unknown } | { problem: string } {
  if (typeof raw !== "string") return { problem: `expected JSON text, found a ${describeType(raw)}` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    return { problem: raw.length === 0 ? "the entry is empty" : `the entry is not JSON (${(error as Error).message})` };
  }
  const envelope = parsed as Partial<Envelope> | null;
  if (envelope === null || typeof envelope !== "object" || envelope.rxtrade !== FORMAT || !("value" in envelope)) {
    return { problem: `expected { rxtrade: ${FORMAT}, key, value }, found ${raw.length > 120 ? `${raw.slice(0, 120)}…` : raw}` };
  }
  if (envelope.key !== key) return { problem: `the entry belongs to key ${JSON.stringify(envelope.key)}` };
  return { value: envelope.value ?? null };
}

function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value === "object" ? (value.constructor?.name ?? "object") : typeof value;
}

async function webLock(locks: WebLocks, name: string, key: string): Promise<() => void> {
  const pending = releasing.get(name);
  if (pending !== undefined) await pending;
  return new Promise<() => void>((resolve, reject) => {
    let unlock!: () => void;
    const held = new Promise<void>((done) => (unlock = done));
    const request = locks.request(name, { ifAvailable: true }, (lock) => {
      if (lock === null) {
        reject(new StoreLockedError({ key }));
        return;
      }
      let released = false;
      resolve(() => {
        if (released) return;
        released = true;
        releasing.set(name, settled);
        unlock();
      });
      // The lock is held until this promise settles.
      return held;
    });
    const settled: Promise<unknown> = request.then(
      () => {
        if (releasing.get(name) === settled) releasing.delete(name);
      },
      (error: unknown) => {
        if (releasing.get(name) === settled) releasing.delete(name);
        reject(error);
      },
    );
  });
}
