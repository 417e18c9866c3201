// indexedDbJournal (rxtrade/browser) on fake-indexeddb: append order per key, buffered tick
// entries, tail, keys, records that are not entries skipped with a warning, a second instance
// (a reloaded page) reading the history, and a stream on indexedDbStore + indexedDbJournal.
import "fake-indexeddb/auto";
import { Subject } from "rxjs";
import { describe, expect, it } from "vitest";
import { liveTrade$, replayExchange, type JournalEntry, type JournalRun, type JournalTick, type JournalTrade, type SignalDto } from "rxtrade";
import { indexedDbJournal, indexedDbStore, type IndexedDbJournalWarning } from "rxtrade/browser";
import { candlesFromPrices, scriptedStrategy, VirtualClock } from "rxtrade/testing";

let databases = 0;
const freshDb = () => `rxtrade-journal-test-${++databases}`;
const KEY = "BTCUSDT:momentum";
const OTHER = "ETHUSDT:momentum";

function run(key: string, at: number, event: "start" | "stop" = "start"): JournalRun {
  return { kind: "run", key, at, event, symbol: "BTCUSDT", strategyName: "momentum", exchangeName: "x", level: "full", tickMs: 60_001 };
}
function trade(key: string, at: number, id: string): JournalTrade {
  const signal = { id, position: "long", priceOpen: 100, priceTakeProfit: 102, priceStopLoss: 98, minuteEstimatedTime: 60, note: "", symbol: "BTCUSDT", strategyName: "momentum", exchangeName: "x", scheduledAt: 0, pendingAt: 0 } as const;
  return { kind: "trade", key, at, result: { action: "opened", symbol: "BTCUSDT", strategyName: "momentum", exchangeName: "x", currentPrice: 100, timestamp: at, backtest: false, signal } };
}
function tick(key: string, at: number): JournalTick {
  return { kind: "tick", key, at, candles: [], price: 1, action: "idle" };
}
async function all(entries: AsyncIterable<JournalEntry>): Promise<JournalEntry[]> {
  const list: JournalEntry[] = [];
  for await (const entry of entries) list.push(entry);
  return list;
}
const ats = (entries: readonly JournalEntry[]) => entries.map((e) => `${e.kind}@${e.at}`);

/** The raw records of the journal's object store, in id order. */
function records(dbName: string): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(dbName);
    request.onerror = () => reject(request.error);
    request.onsuccess = () => {
      const all = request.result.transaction("entries").objectStore("entries").getAll();
      all.onsuccess = () => {
        request.result.close();
        resolve(all.result);
      };
    };
  });
}

describe("indexedDbJournal", () => {
  it("keeps each key's entries in append order; tick entries wait for the next trade or run entry (or flushMs)", async () => {
    const dbName = freshDb();
    const journal = indexedDbJournal({ dbName, flushMs: 20 });
    await journal.append(run(KEY, 1));
    expect(journal.append(tick(KEY, 2))).toBeUndefined();
    await journal.append(run(OTHER, 3));
    expect((await records(dbName)).map((r) => (r as JournalEntry).at)).toEqual([1, 3]);
    await journal.append(trade(KEY, 4, "A"));
    expect((await records(dbName)).map((r) => (r as JournalEntry).at)).toEqual([1, 3, 2, 4]);
    journal.append(tick(KEY, 5));
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect((await records(dbName)).map((r) => (r as JournalEntry).at)).toEqual([1, 3, 2, 4, 5]);
    journal.append(tick(KEY, 6));
    expect(ats(await all(journal.read(KEY)))).toEqual(["run@1", "tick@2", "trade@4", "tick@5", "tick@6"]);
    expect(ats(await all(journal.read(OTHER)))).toEqual(["run@3"]);
    expect(await journal.keys()).toEqual([OTHER, KEY].sort());
    expect(await journal.tail(KEY)).toEqual({ lastTrade: trade(KEY, 4, "A"), lastRun: run(KEY, 1) });
    expect(await journal.tail("nothing:here")).toEqual({});
    await journal.close();
  });

  it("a new instance on the same database (a reloaded page) reads the history and appends after it", async () => {
    const dbName = freshDb();
    const first = indexedDbJournal({ dbName });
    await first.append(run(KEY, 1));
    await first.append(trade(KEY, 2, "A"));
    first.append(tick(KEY, 3)); // buffered, then the page goes away: close() commits it
    await first.close();
    const second = indexedDbJournal({ dbName });
    expect(ats(await all(second.read(KEY)))).toEqual(["run@1", "trade@2", "tick@3"]);
    await second.append(run(KEY, 10));
    expect(ats(await all(second.read(KEY)))).toEqual(["run@1", "trade@2", "tick@3", "run@10"]);
    await second.close();
  });

  it("skips a record that is not an entry of its key, with a warning; refuses a non-entry on append", async () => {
    const dbName = freshDb();
    const warnings: IndexedDbJournalWarning[] = [];
    const journal = indexedDbJournal({ dbName, onWarning: (w) => warnings.push(w) });
    await journal.append(run(KEY, 1));
    await new Promise<void>((resolve, reject) => {
      const request = indexedDB.open(dbName);
      request.onsuccess = () => {
        const tx = request.result.transaction("entries", "readwrite");
        tx.objectStore("entries").add({ key: KEY, kind: "trade", at: 2 });
        tx.oncomplete = () => (request.result.close(), resolve());
        tx.onerror = () => reject(tx.error);
      };
    });
    await journal.append(run(KEY, 3, "stop"));
    expect(ats(await all(journal.read(KEY)))).toEqual(["run@1", "run@3"]);
    expect(warnings.map((w) => [w.id, w.reason, w.skipped, w.message])).toEqual([
      [2, "foreign", 1, `journal indexedDB ${dbName}/entries record 2: not a journal entry of ${KEY} (a trade without a scheduled, opened, closed or cancelled result): skipped (1 skipped in this read)`],
    ]);
    expect(() => journal.append({ kind: "trade", key: KEY } as unknown as JournalEntry)).toThrow("rxtrade: indexedDbJournal.append: not a journal entry (at (undefined) is not a time)");
    await journal.close();
  });

  it("journals a stream on indexedDbStore, in virtual time", async () => {
    const dbName = freshDb();
    const clock = new VirtualClock(0);
    const prices = Array.from({ length: 100 }, (_, i) => (i < 13 ? 100 : 102));
    const LONG: SignalDto = { id: "I1", position: "long", priceTakeProfit: 102, priceStopLoss: 98, minuteEstimatedTime: 15 };
    const stop$ = new Subject<void>();
    const results: string[] = [];
    liveTrade$("BTCUSDT", scriptedStrategy("idb-run", [LONG]), {
      exchange: replayExchange(candlesFromPrices(prices, { start: -10 * 60_000 }), clock),
      store: indexedDbStore(dbName, "signals"),
      journal: indexedDbJournal({ dbName: `${dbName}-journal` }),
      scheduler: clock,
      stop$,
      config: { CC_AVG_PRICE_CANDLES_COUNT: 1 },
    }).subscribe((r) => results.push(`${r.action}@${r.timestamp}`));
    clock.schedule(() => stop$.next(), 300_000);
    await clock.flushAsync(400_000);
    expect(results).toEqual(["opened@0", "closed@240004"]);
    const entries = await all(indexedDbJournal({ dbName: `${dbName}-journal` }).read("BTCUSDT:idb-run"));
    expect(entries.map((e) => (e.kind === "trade" ? `trade ${e.result.action}@${e.at}` : e.kind === "run" ? `run ${e.event}@${e.at}` : "tick"))).toEqual([
      "run start@0",
      "trade opened@0",
      "trade closed@240004",
      "run stop@300000",
    ]);
  });
});
