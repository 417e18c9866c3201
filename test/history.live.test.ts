// History across restarts (issue 11, item 2) for the library: readLiveHistory / journalStatistics
// read a key's trades from a journal, each signal's action once; Live.getData, getReport, dump
// and Performance read the pair's journal when one is configured (LiveContext.journal or
// setDefaultJournal), and give the same numbers as the in-memory path for the same run.
//
// A "process" here is a fresh copy of the rxtrade module graph (vi.resetModules + import): its
// own registries, pairs and default store/journal, as a restarted process has. Fixture timing:
// one tick every 60001 ms on a VirtualClock; with CC_AVG_PRICE_CANDLES_COUNT 1 and flat candles
// starting at -60000 ms, the tick at k x 60001 ms sees the price of minute k.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import type { Subscription } from "rxjs";
import { type Journal, type JournalEntry, type LiveStatistics, memoryJournal, type SignalDto, type SignalStore, type TickResult } from "rxtrade";
import * as rxtrade from "rxtrade";
import { candlesFromPrices, VirtualClock } from "rxtrade/testing";

type Rx = typeof rxtrade;
const TICK = 60_001;
const SYMBOL = "BTCUSDT";
const config = { CC_AVG_PRICE_CANDLES_COUNT: 1 };

/** A new "process": a fresh module graph of rxtrade. */
async function freshProcess(): Promise<Rx> {
  vi.resetModules();
  const fresh = (await import("rxtrade")) as Rx;
  fresh.setLogger({ warn: () => {}, error: () => {} });
  return fresh;
}

// A price that swings ±3 around 100 with a period of about 40 minutes: longs at the tick price
// with TP +2 % and SL -2 % and a 30-minute lifetime close by take profit, stop loss and time.
const PRICES = Array.from({ length: 600 }, (_, m) => Math.round((100 + 3 * Math.sin(m / 6.5) + (m % 7) * 0.1) * 100) / 100);

/**
 * Registers the scenario's exchange and strategy in `rx` and runs one loop of it from minute
 * `fromMinute` for `minutes` (then a graceful stop), to the end. Every 3rd signal is a limit
 * entry 1 % below the price (scheduled, then opened or cancelled). Signal ids are `<tag>-<n>`.
 * Returns every tick result the loop produced.
 */
function runScenario(
  rx: Rx,
  options: { name: string; tag: string; store: SignalStore; fromMinute?: number; from?: number; minutes: number; journal?: Journal | null; until?: number; crash?: (clock: VirtualClock, subscription: Subscription) => void },
): TickResult[] {
  const { name, tag } = options;
  const clock = new VirtualClock(options.from ?? (options.fromMinute ?? 0) * TICK);
  const exchangeName = `${name}-ex`;
  rx.addExchange(rx.replayExchange(candlesFromPrices(PRICES, { start: -60_000 }), clock, { exchangeName }));
  try {
    rx.getStrategy(name);
  } catch {
    let n = 0;
    rx.addStrategy({
      strategyName: name,
      interval: "5m",
      getSignal: (_symbol, _when, { currentPrice }): SignalDto => {
        n++;
        const limit = n % 3 === 0;
        const entry = limit ? Math.round(currentPrice * 0.99 * 100) / 100 : currentPrice;
        return {
          id: `${currentTag}-${n}`,
          position: "long",
          ...(limit ? { priceOpen: entry } : {}),
          priceTakeProfit: Math.round(entry * 1.02 * 100) / 100,
          priceStopLoss: Math.round(entry * 0.98 * 100) / 100,
          minuteEstimatedTime: 30,
        };
      },
    });
  }
  currentTag = tag;
  const results: TickResult[] = [];
  const off = rx.listenSignalLive((result) => result.strategyName === name && results.push(result));
  const ctx = { strategyName: name, exchangeName, scheduler: clock, config, store: options.store, ...(options.journal === undefined ? {} : { journal: options.journal }) } as rxtrade.LiveContext;
  const subscription = rx.Live.run(SYMBOL, ctx).subscribe({ error: () => {} });
  options.crash?.(clock, subscription);
  if (options.until !== undefined) {
    clock.flush(options.until); // the loop goes on running, for the caller to look at
    off();
    return results;
  }
  clock.schedule(() => void rx.Live.stop(SYMBOL, name), options.minutes * TICK);
  clock.flush();
  off();
  return results;
}
let currentTag = "";

/** The trade entries a journal at level `trades` holds for `results` (state changes only). */
function tradeEntries(results: readonly TickResult[]): JournalEntry[] {
  const entries: JournalEntry[] = [];
  for (const result of results) {
    if (result.action === "idle" || result.action === "active") continue;
    if (result.action === "scheduled" && result.timestamp !== result.signal.scheduledAt) continue;
    entries.push({ kind: "trade", key: `${result.symbol}:${result.strategyName}`, at: result.timestamp, result });
  }
  return entries;
}

function runEntry(key: string, at: number, event: "start" | "stop"): JournalEntry {
  const [symbol, strategyName] = [key.slice(0, key.lastIndexOf(":")), key.slice(key.lastIndexOf(":") + 1)];
  return { kind: "run", key, at, event, symbol, strategyName, exchangeName: "x", level: "trades", tickMs: TICK };
}

/** Everything but the event list, which at level `trades` holds no active row of a closed signal. */
function numbers(stats: LiveStatistics) {
  const { eventList: _eventList, totalEvents: _totalEvents, ...rest } = stats;
  return rest;
}

const work = await mkdtemp(join(tmpdir(), "rxtrade-history-"));
afterAll(() => rm(work, { recursive: true, force: true }));
// The last "process" made here stays the module graph of the files that share this worker
// (vitest.config.ts, project "shared"): its default journal, registries and pairs would be
// theirs (test/live.facade.test.ts's statistics read that journal). They get a fresh one.
afterAll(() => vi.resetModules());

describe("readLiveHistory", () => {
  const key = `${SYMBOL}:h`;
  const signal = (id: string, pendingAt: number) => ({
    id, position: "long" as const, priceOpen: 100, priceTakeProfit: 102, priceStopLoss: 98, minuteEstimatedTime: 60, note: "",
    symbol: SYMBOL, strategyName: "h", exchangeName: "x", scheduledAt: pendingAt, pendingAt,
  });
  const base = { symbol: SYMBOL, strategyName: "h", exchangeName: "x", backtest: false as const };
  const opened = (id: string, at: number): TickResult => ({ ...base, action: "opened", currentPrice: 100, timestamp: at, signal: signal(id, at) });
  const closed = (id: string, openAt: number, at: number, pnl: number): TickResult => ({
    ...base, action: "closed", currentPrice: 102, timestamp: at, signal: signal(id, openAt),
    closeReason: "take_profit", closeTimestamp: at, pnl: { pnlPercentage: pnl, priceOpen: 100, priceClose: 102 },
  });

  it("reads each signal's action once, in journal order, and counts the runs, repeats and unreadable records", async () => {
    const journal = memoryJournal();
    const entries: JournalEntry[] = [
      runEntry(key, 0, "start"),
      ...tradeEntries([opened("A", 1000), closed("A", 1000, 5000, 1.5)]),
      // killed after the close was journaled, before it was emitted: the next run closes it again
      runEntry(key, 6000, "start"),
      ...tradeEntries([closed("A", 1000, 7000, 1.5), opened("B", 8000)]),
      { kind: "trade", key, at: 8500, result: { action: "closed", signal: { id: "B" } } as never }, // not a closed result: no pnl
      { kind: "tick", key, at: 9000, candles: [], price: 99, action: "active", signalId: "B" },
      ...tradeEntries([closed("B", 8000, 9500, -2)]),
      // the demo started over at an earlier simulated time: journal order, not time order
      runEntry(key, 100, "start"),
      ...tradeEntries([opened("C", 200), closed("C", 200, 300, 0.5)]),
    ];
    for (const entry of entries) await journal.append(entry);

    const history = await rxtrade.readLiveHistory(journal, key);
    expect(history.results.map((r) => `${r.action} ${r.signal?.id} ${r.timestamp}`)).toEqual([
      "opened A 1000", "closed A 5000", "opened B 8000", "closed B 9500", "opened C 200", "closed C 300",
    ]);
    expect(history).toMatchObject({ key, runs: 3, firstAt: 1000, lastAt: 300, duplicates: 1, unreadable: 1 });

    const stats = await rxtrade.journalStatistics(journal, key);
    expect(stats).toMatchObject({ totalClosed: 3, winCount: 2, lossCount: 1, totalEvents: 6 });
    expect(stats.totalPnl).toBeCloseTo(0, 12);
    expect(stats.eventList.map((r) => `${r.action} ${r.signal?.id}`)).toEqual(["closed C", "opened C", "closed B", "opened B", "closed A", "opened A"]);
  });

  it("since: only the trades of ticks at or after it, and the runs started since", async () => {
    const journal = memoryJournal();
    for (const entry of [runEntry(key, 0, "start"), ...tradeEntries([opened("A", 1000), closed("A", 1000, 5000, 1.5)]), runEntry(key, 6000, "start"), ...tradeEntries([opened("B", 8000), closed("B", 8000, 9500, -2)])]) {
      await journal.append(entry);
    }
    const history = await rxtrade.readLiveHistory(journal, key, { since: 5000 });
    expect(history.results.map((r) => `${r.action} ${r.signal?.id}`)).toEqual(["closed A", "opened B", "closed B"]);
    expect(history).toMatchObject({ runs: 1, firstAt: 5000, lastAt: 9500 });
    expect(await rxtrade.journalStatistics(journal, key, { since: 9501 })).toMatchObject({ totalClosed: 0, totalEvents: 0, totalPnl: 0, avgPnl: null });
    expect(await rxtrade.journalStatistics(journal, key, { since: 8000 })).toMatchObject({ totalClosed: 1, lossCount: 1, totalPnl: -2 });
  });

  it("a signal whose end died with its process (JournalRecovery.endedSignal) is listed, and in no statistic", async () => {
    const journal = memoryJournal();
    const restart: JournalEntry = { ...runEntry(key, 9000, "start"), recovery: { unfinishedRun: true, endedSignal: { signalId: "A", status: "opened", since: 1000 } } } as JournalEntry;
    for (const entry of [runEntry(key, 0, "start"), ...tradeEntries([opened("A", 1000)]), restart]) await journal.append(entry);
    const history = await rxtrade.readLiveHistory(journal, key);
    expect(history).toMatchObject({ runs: 2, endedUnrecorded: [{ signalId: "A", status: "opened", since: 1000 }] });
    expect(await rxtrade.journalStatistics(journal, key)).toMatchObject({ totalClosed: 0, totalEvents: 1 });
    expect((await rxtrade.readLiveHistory(journal, key, { since: 1001 })).endedUnrecorded).toEqual([]);
  });

  it("a key the journal does not know: no trades, no runs", async () => {
    expect(await rxtrade.readLiveHistory(memoryJournal(), "ETHUSDT:none")).toEqual({
      key: "ETHUSDT:none", results: [], runs: 0, firstAt: null, lastAt: null, duplicates: 0, unreadable: 0, endedUnrecorded: [],
    });
  });
});

describe("Live reads the journal", () => {
  it("setDefaultJournal refuses what is not a journal, and takes null for none", async () => {
    const rx = await freshProcess();
    expect(() => rx.setDefaultJournal({ append() {} } as never)).toThrow(
      "rxtrade: setDefaultJournal needs a journal with append(entry), read(key) and keys() (e.g. memoryJournal()), or null for none",
    );
    expect(() => rx.setDefaultJournal(null)).not.toThrow();
  });

  it("the same run gives the same statistics from the journal as from memory; a later process reports it from the journal alone", async () => {
    // Process 1: the run, statistics in memory (no journal configured: today's behaviour).
    const rx1 = await freshProcess();
    const results = runScenario(rx1, { name: "eq", tag: "p1", store: rx1.memoryStore(), fromMinute: 10, minutes: 400 });
    const inMemory = await rx1.Live.getData(SYMBOL, "eq");
    expect(inMemory.totalClosed).toBeGreaterThanOrEqual(6);
    expect(inMemory.winCount).toBeGreaterThan(0);
    expect(inMemory.lossCount).toBeGreaterThan(0);
    expect(inMemory.eventList.some((r) => r.action === "cancelled" || r.action === "scheduled")).toBe(true);

    // Its journal at level `trades`, with the close of one trade journaled twice (a crash
    // between the append and the emission, then the close again by the next run).
    const journal = memoryJournal();
    const entries = tradeEntries(results);
    const firstClose = entries.findIndex((e) => e.kind === "trade" && e.result.action === "closed");
    entries.splice(firstClose + 1, 0, runEntry(`${SYMBOL}:eq`, 0, "start"), entries[firstClose] as JournalEntry);
    for (const entry of entries) await journal.append(entry);

    // Process 2: nothing ran here; the statistics come from the journal.
    const rx2 = await freshProcess();
    rx2.addStrategy({ strategyName: "eq", interval: "5m", getSignal: () => null });
    expect((await rx2.Live.getData(SYMBOL, "eq")).eventList).toEqual([]); // no journal: in memory, empty
    rx2.setDefaultJournal(journal);
    const fromJournal = await rx2.Live.getData(SYMBOL, "eq");
    expect(numbers(fromJournal)).toEqual(numbers(inMemory)); // exactly: same closed PnLs, same order
    // The event list: the same rows but the active rows of closed signals (not journaled).
    expect(fromJournal.eventList).toEqual(inMemory.eventList.filter((r) => r.action !== "active"));
    expect(await rx2.Live.getReport(SYMBOL, "eq")).toBe(rx1.liveReport("eq", fromJournal));
    expect(await rx2.Live.getReport(SYMBOL, "eq")).toContain(`**Closed signals:** ${inMemory.totalClosed}`);

    const dir = join(work, "dump-eq");
    await rx2.Live.dump(SYMBOL, "eq", dir);
    expect(await readFile(join(dir, `${SYMBOL}_eq.md`), "utf8")).toBe(await rx2.Live.getReport(SYMBOL, "eq"));
  });

  it("the same run journaled by the loop (LiveContext.journal, then setDefaultJournal): the in-memory numbers, every trade once", async () => {
    const rx1 = await freshProcess();
    runScenario(rx1, { name: "same", tag: "s", store: rx1.memoryStore(), fromMinute: 10, minutes: 300 });
    const inMemory = await rx1.Live.getData(SYMBOL, "same");
    expect(inMemory.totalClosed).toBeGreaterThanOrEqual(5);

    const journal = memoryJournal();
    const rx2 = await freshProcess();
    runScenario(rx2, { name: "same", tag: "s", store: rx2.memoryStore(), fromMinute: 10, minutes: 300, journal });
    const journaled = await rx2.Live.getData(SYMBOL, "same");
    expect(numbers(journaled)).toEqual(numbers(inMemory));
    expect(journaled.eventList).toEqual(inMemory.eventList.filter((r) => r.action !== "active"));

    // The facade's default journal gives the same in a process that did not run the pair.
    const rx3 = await freshProcess();
    rx3.addStrategy({ strategyName: "same", interval: "5m", getSignal: () => null });
    rx3.setDefaultJournal(journal);
    expect(await rx3.Live.getData(SYMBOL, "same")).toEqual(journaled);
  });

  it("while a signal is open, the journal's trades and then the open signal's latest active row", async () => {
    const rx = await freshProcess();
    const journal = memoryJournal();
    const results = runScenario(rx, { name: "open", tag: "o", store: rx.memoryStore(), fromMinute: 10, minutes: 0, journal, until: 75 * TICK });
    const last = results.at(-1);
    expect(last?.action).toBe("active");
    const stats = await rx.Live.getData(SYMBOL, "open");
    expect(stats.eventList[0]).toEqual(last);
    expect(stats.eventList.slice(1)).toEqual(rx.liveStatistics(results).eventList.slice(1).filter((r) => r.action !== "active"));
    expect((await rx.Live.list()).find((p) => p.id === `${SYMBOL}:open`)?.status).toBe("running");
  });

  it("a pair whose loop ran with journal null keeps its statistics in memory, whatever the default", async () => {
    const rx = await freshProcess();
    const journal = memoryJournal();
    await journal.append(runEntry(`${SYMBOL}:mem`, 0, "start"));
    rx.setDefaultJournal(journal);
    runScenario(rx, { name: "mem", tag: "m", store: rx.memoryStore(), fromMinute: 10, minutes: 120, journal: null });
    const stats = await rx.Live.getData(SYMBOL, "mem");
    expect(stats.totalClosed).toBeGreaterThan(0);
    expect(stats.eventList.some((r) => r.action === "active")).toBe(true); // the in-memory list
  });
});

describe("two Live runs on one journal, a crash between them", () => {
  it("the second process reports the trades of both runs, each once, with the numbers of both runs' results", async () => {
    const journal = memoryJournal();
    const store = rxtrade.memoryStore(); // what survives the crash, with the journal
    const key = `${SYMBOL}:crash`;

    // Process 1 journals through a journal that, once, says an append of a close failed after
    // it was kept (a timed-out fsync): the writer appends it again. After two closes, the
    // process is killed between the store write of an open and its journal append: that
    // entry and every later one are lost, no stop entry is written, the store keeps the open.
    const closes = new Set<string>();
    let failedOnce = false;
    let dead = false;
    let killedAt = 0;
    let kill = () => {};
    const rx1 = await freshProcess();
    const faulty: Journal = {
      append(entry) {
        if (dead) return;
        if (entry.kind === "trade" && entry.result.action === "opened" && closes.size >= 2) {
          dead = true;
          killedAt = entry.at;
          kill();
          return;
        }
        journal.append(entry);
        if (entry.kind === "trade" && entry.result.action === "closed") {
          closes.add(entry.result.signal.id);
          if (!failedOnce) {
            failedOnce = true;
            throw new Error("fsync timed out");
          }
        }
      },
      read: (k) => journal.read(k),
      keys: () => journal.keys(),
      tail: (k) => journal.tail(k), // synchronous: the run's start stays inside clock.flush()
    };
    const first = runScenario(rx1, {
      name: "crash",
      tag: "c",
      store,
      fromMinute: 10,
      minutes: 400,
      journal: faulty,
      // The kill: the loop is torn down at the clock's next step after the lost append.
      crash: (clock, subscription) => {
        kill = () => void clock.schedule(() => subscription.unsubscribe());
      },
    });
    const killed = first.filter((r) => r.timestamp <= killedAt);
    const stored = (await store.read(key)) as { status: string; signal: { id: string } } | null;
    expect(stored?.status).toBe("opened");
    expect(killed.at(-1)).toMatchObject({ action: "opened", signal: { id: stored?.signal.id } });
    expect(killed.filter((r) => r.action === "closed")).toHaveLength(2);
    const raw = [];
    for await (const entry of journal.read(key)) raw.push(entry);
    expect(raw.filter((e) => e.kind === "trade" && e.result.action === "closed")).toHaveLength(3); // the first close twice
    expect(raw.some((e) => e.kind === "run" && e.event === "stop")).toBe(false);

    // Process 2: the same store and journal; it resumes the open signal, trades on, stops.
    const rx2 = await freshProcess();
    const second = runScenario(rx2, { name: "crash", tag: "d", store, from: killedAt + 1, minutes: 200, journal });
    expect(second.find((r) => r.action === "closed")?.signal?.id).toBe(stored?.signal.id);
    expect(await store.read(key)).toBeNull();

    const stats = await rx2.Live.getData(SYMBOL, "crash");
    const both = new rxtrade.TradeLedger();
    for (const result of [...killed, ...second]) both.add(result);
    const closedIds = both.results.filter((r) => r.action === "closed").map((r) => r.signal.id);
    expect(closedIds.length).toBeGreaterThanOrEqual(4);
    expect(new Set(closedIds).size).toBe(closedIds.length);
    expect(stats.totalClosed).toBe(closedIds.length);
    expect(numbers(stats)).toEqual(numbers(rxtrade.liveStatistics(both.results)));
    // The lost open came back from the store (recovered), once; every trade of both runs is listed once.
    expect(stats.eventList.map((r) => `${r.action} ${r.signal?.id}`).reverse()).toEqual(both.results.map((r) => `${r.action} ${r.signal.id}`));
    const history = await rx2.readLiveHistory(journal, key);
    expect(history).toMatchObject({ runs: 2, duplicates: 1, endedUnrecorded: [] });
  });
});

describe("Performance reads the journal's tick durations", () => {
  it("count, durations and waits (measured within a run) over every run's ticks", async () => {
    const rx = await freshProcess();
    rx.addStrategy({ strategyName: "perf", interval: "5m", getSignal: () => null });
    const key = `${SYMBOL}:perf`;
    const journal = memoryJournal();
    const tick = (at: number, duration?: number): JournalEntry =>
      ({ kind: "tick", key, at, candles: [], price: 100, action: "idle", ...(duration === undefined ? {} : { duration }) }) as JournalEntry;
    for (const entry of [runEntry(key, 0, "start"), tick(0, 2), tick(60_000, 4), runEntry(key, 500_000, "start"), tick(500_000, 6), tick(530_000, 8)]) {
      await journal.append(entry);
    }
    // Without a journal: this process's loop measured nothing.
    expect(await rx.Performance.getData(SYMBOL, "perf")).toMatchObject({ count: 0, avgDuration: null });
    rx.setDefaultJournal(journal);
    expect(await rx.Performance.getData(SYMBOL, "perf")).toMatchObject({
      count: 4, totalDuration: 20, avgDuration: 5, minDuration: 2, maxDuration: 8, avgWait: 45_000, minWait: 30_000, maxWait: 60_000,
    });
    // Tick entries without a duration (level trades has none at all): this process's own ticks.
    const plain = memoryJournal();
    await plain.append(tick(0));
    rx.setDefaultJournal(plain);
    expect(await rx.Performance.getData(SYMBOL, "perf")).toMatchObject({ count: 0 });
  });
});
