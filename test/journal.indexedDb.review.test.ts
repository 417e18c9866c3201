// Review of issue 11: indexedDbJournal opened its database at version 1 always, so a second
// journal (another storeName) in the same database, or a database made by another app or an
// older rxtrade with other stores, found no object store and failed; after a versionchange it
// reopened at version 1 (a VersionError). indexedDbStore (idb-keyval's createStore) had the
// same hole. Both now open at the database's version, upgrade it when their store is missing,
// close on versionchange and reopen on the next call, and say so when an upgrade is blocked.
import "fake-indexeddb/auto";
import { forceCloseDatabase } from "fake-indexeddb";
import { afterEach, describe, expect, it } from "vitest";
import type { JournalEntry, JournalRun, JournalTrade } from "rxtrade";
import { indexedDbJournal, indexedDbStore } from "rxtrade/browser";

let databases = 0;
const freshDb = () => `rxtrade-journal-review-${++databases}`;
const KEY = "BTCUSDT:momentum";

function run(at: number, event: "start" | "stop" = "start"): JournalRun {
  return { kind: "run", key: KEY, at, event, symbol: "BTCUSDT", strategyName: "momentum", exchangeName: "x", level: "trades", tickMs: 60_001 };
}
function trade(at: number, id: string): JournalTrade {
  const signal = { id, position: "long", priceOpen: 100, priceTakeProfit: 102, priceStopLoss: 98, minuteEstimatedTime: 60, note: "", symbol: "BTCUSDT", strategyName: "momentum", exchangeName: "x", scheduledAt: 0, pendingAt: 0 } as const;
  return { kind: "trade", key: KEY, at, result: { action: "opened", symbol: "BTCUSDT", strategyName: "momentum", exchangeName: "x", currentPrice: 100, timestamp: at, backtest: false, signal } };
}
async function ats(entries: AsyncIterable<JournalEntry>): Promise<string[]> {
  const list: string[] = [];
  for await (const entry of entries) list.push(`${entry.kind}@${entry.at}`);
  return list;
}

/** Opens `dbName` at `version` (undefined: as it is), running `upgrade` if it upgrades; records blocked events. */
function open(dbName: string, version?: number, upgrade?: (db: IDBDatabase) => void): Promise<IDBDatabase> & { blocked: number[] } {
  const blocked: number[] = [];
  const promise = new Promise<IDBDatabase>((resolve, reject) => {
    const request = version === undefined ? indexedDB.open(dbName) : indexedDB.open(dbName, version);
    request.onupgradeneeded = () => upgrade?.(request.result);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
    request.onblocked = (event) => blocked.push(event.oldVersion);
  });
  return Object.assign(promise, { blocked });
}
async function shape(dbName: string): Promise<{ version: number; stores: string[] }> {
  const db = await open(dbName);
  const result = { version: db.version, stores: Array.from(db.objectStoreNames) };
  db.close();
  return result;
}
function getAll(db: IDBDatabase, storeName: string): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const request = db.transaction(storeName).objectStore(storeName).getAll();
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

// Connections a test opened by hand, closed after it.
const held: IDBDatabase[] = [];
afterEach(() => {
  for (const db of held.splice(0)) db.close();
});

describe("indexedDbJournal: a database shared with other object stores", () => {
  it("two journals with different storeNames in one database: each creates its store, appends and reads its own entries", async () => {
    const dbName = freshDb();
    const first = indexedDbJournal({ dbName, storeName: "first" });
    const second = indexedDbJournal({ dbName, storeName: "second" });
    await first.append(run(1));
    await second.append(run(10));
    // The first journal's connection was closed by the second's upgrade: its next call reopens.
    await first.append(trade(2, "A"));
    await second.append(run(11, "stop"));
    expect(await ats(first.read(KEY))).toEqual(["run@1", "trade@2"]);
    expect(await ats(second.read(KEY))).toEqual(["run@10", "run@11"]);
    expect(await shape(dbName)).toEqual({ version: 2, stores: ["first", "second"] });
    await Promise.all([first.close(), second.close()]);
    // A reloaded page reads both.
    expect(await ats(indexedDbJournal({ dbName, storeName: "first" }).read(KEY))).toEqual(["run@1", "trade@2"]);
    expect(await ats(indexedDbJournal({ dbName, storeName: "second" }).read(KEY))).toEqual(["run@10", "run@11"]);
  });

  it("two journals of one database opened at once in one page (racing first calls): both stores are created", async () => {
    const dbName = freshDb();
    const journals = ["a", "b", "c"].map((storeName) => indexedDbJournal({ dbName, storeName }));
    await Promise.all(journals.map((journal, i) => journal.append(run(i + 1))));
    for (const [i, journal] of journals.entries()) expect(await ats(journal.read(KEY))).toEqual([`run@${i + 1}`]);
    expect(await shape(dbName)).toEqual({ version: 3, stores: ["a", "b", "c"] });
    await Promise.all(journals.map((journal) => journal.close()));
  });

  it("a database another app made (version 3, other stores with data): the journal adds its store at version 4 and leaves theirs alone", async () => {
    const dbName = freshDb();
    const theirs = await open(dbName, 3, (db) => {
      db.createObjectStore("settings").put("dark", "theme");
      db.createObjectStore("signals");
    });
    theirs.close();
    const journal = indexedDbJournal({ dbName });
    await journal.append(run(1));
    await journal.append(trade(2, "A"));
    expect(await ats(journal.read(KEY))).toEqual(["run@1", "trade@2"]);
    await journal.close();
    const db = await open(dbName);
    held.push(db);
    expect([db.version, Array.from(db.objectStoreNames)]).toEqual([4, ["entries", "settings", "signals"]]);
    expect(await getAll(db, "settings")).toEqual(["dark"]);
  });

  it("an existing store without the key index (another app's \"entries\"): the upgrade adds the index", async () => {
    const dbName = freshDb();
    (await open(dbName, 1, (db) => db.createObjectStore("entries", { autoIncrement: true }))).close();
    const journal = indexedDbJournal({ dbName });
    await journal.append(run(5));
    expect(await ats(journal.read(KEY))).toEqual(["run@5"]);
    await journal.close();
    expect((await shape(dbName)).version).toBe(2);
  });
});

describe("indexedDbJournal: another connection upgrading the database", () => {
  it("a versionchange mid-run (another tab upgrades, and keeps its connection): the journal lets it through, and its next append succeeds", async () => {
    const dbName = freshDb();
    const journal = indexedDbJournal({ dbName });
    await journal.append(run(1));
    const other = open(dbName, 2, (db) => db.createObjectStore("other"));
    held.push(await other);
    expect(other.blocked).toEqual([]);
    await journal.append(trade(2, "A"));
    // An append in flight while a third version is made.
    const appending = journal.append(trade(3, "B"));
    (await other).close();
    const third = open(dbName, 3, (db) => db.createObjectStore("third"));
    held.push(await third);
    await appending;
    await journal.append(run(4, "stop"));
    expect(third.blocked).toEqual([]);
    expect(await ats(journal.read(KEY))).toEqual(["run@1", "trade@2", "trade@3", "run@4"]);
    await journal.close();
  });

  it("a connection closed under calls (by the browser, or just before the call's transaction): each call reopens and runs once", async () => {
    const dbName = freshDb();
    const opened: IDBDatabase[] = [];
    const realOpen = indexedDB.open.bind(indexedDB);
    const spy = (name: string, version?: number) => {
      const request = version === undefined ? realOpen(name) : realOpen(name, version);
      request.addEventListener("success", () => opened.push(request.result));
      return request;
    };
    indexedDB.open = spy as typeof indexedDB.open;
    try {
      const journal = indexedDbJournal({ dbName });
      await journal.append(run(1));
      // Storage cleared: the browser closes the connection (a close event).
      // (fake-indexeddb's types ask for the class, its code takes the connection)
      forceCloseDatabase(opened.at(-1) as unknown as Parameters<typeof forceCloseDatabase>[0]);
      await journal.append(trade(2, "A"));
      // Closed after the call took the connection and before it made its transaction (no event
      // yet): the transaction cannot start there; the call runs again on a new connection.
      const appending = journal.append(trade(3, "B"));
      (opened.at(-1) as IDBDatabase).close();
      await appending;
      const reading = journal.keys();
      (opened.at(-1) as IDBDatabase).close();
      expect(await reading).toEqual([KEY]);
      expect(await ats(journal.read(KEY))).toEqual(["run@1", "trade@2", "trade@3"]);
      expect(opened).toHaveLength(4);
      await journal.close();
    } finally {
      indexedDB.open = realOpen;
    }
  });

  it("an upgrade blocked by a tab that keeps the old version open: the call fails saying so and what to do; once that tab closes, the next call succeeds", async () => {
    const dbName = freshDb();
    const stale = await open(dbName, 1, (db) => db.createObjectStore("signals"));
    stale.onversionchange = () => undefined; // an old page that does not close
    const journal = indexedDbJournal({ dbName });
    await expect(journal.append(run(1))).rejects.toThrow(
      `cannot append to indexedDB ${dbName}/entries: cannot open indexedDB ${dbName}/entries: the object store "entries" needs database "${dbName}" upgraded from version 1 to 2, ` +
        `and another connection keeps version 1 open (another tab or window of this site with an older page, or other code of this origin using "${dbName}"); ` +
        "close the other tabs of this site (or reload them), then try again",
    );
    stale.close();
    await journal.append(run(2));
    expect(await ats(journal.read(KEY))).toEqual(["run@2"]);
    await journal.close();
    expect(await shape(dbName)).toEqual({ version: 2, stores: ["entries", "signals"] });
  });
});

describe("indexedDbStore: a database shared with other object stores", () => {
  it("two stores with different storeNames in one database keep their own keys", async () => {
    const dbName = freshDb();
    const signals = indexedDbStore(dbName, "signals");
    const paper = indexedDbStore(dbName, "paper");
    await signals.write("BTCUSDT:a", { n: 1 });
    await paper.write("BTCUSDT:a", { n: 2 });
    await signals.write("ETHUSDT:a", { n: 3 });
    expect([await signals.read("BTCUSDT:a"), await paper.read("BTCUSDT:a"), await signals.read("ETHUSDT:a"), await paper.read("ETHUSDT:a")]).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, null]);
    expect(await shape(dbName)).toEqual({ version: 2, stores: ["paper", "signals"] });
  });

  it("a store and a journal in one database, either first", async () => {
    for (const storeFirst of [true, false]) {
      const dbName = freshDb();
      const store = indexedDbStore(dbName, "signals");
      const journal = indexedDbJournal({ dbName });
      if (storeFirst) await store.write(KEY, { n: 1 });
      await journal.append(run(1));
      if (!storeFirst) await store.write(KEY, { n: 1 });
      await journal.append(run(2, "stop"));
      expect(await store.read(KEY)).toEqual({ n: 1 });
      expect(await ats(journal.read(KEY))).toEqual(["run@1", "run@2"]);
      expect(await shape(dbName)).toEqual({ version: 2, stores: ["entries", "signals"] });
      await journal.close();
    }
  });

  it("closes on versionchange (an upgrade elsewhere is not blocked) and reopens on its next call", async () => {
    const dbName = freshDb();
    const store = indexedDbStore(dbName, "signals");
    await store.write(KEY, { n: 1 });
    const other = open(dbName, 2, (db) => db.createObjectStore("other"));
    held.push(await other);
    expect(other.blocked).toEqual([]);
    await store.write(KEY, { n: 2 });
    expect(await store.read(KEY)).toEqual({ n: 2 });
  });
});
