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
import { type JournalEntry, type LiveStatistics, memoryJournal, type SignalDto, type SignalStore, type TickResult } from "rxtrade";
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
function runScenario(rx: Rx, options: { name: string; tag: string; store: SignalStore; fromMinute: number; minutes: number; journal?: unknown; crashAt?: number }): TickResult[] {
  const { name, tag } = options;
  const clock = new VirtualClock(options.fromMinute * TICK);
  const exchangeName = `${name}-ex-${tag}`;
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
  if (options.crashAt === undefined) {
    clock.schedule(() => void rx.Live.stop(SYMBOL, name), options.minutes * TICK);
    clock.flush();
  } else {
    // A crash: the loop is torn down mid-run, as by kill -9 (what is open stays in the store).
    clock.schedule(() => subscription.unsubscribe(), options.crashAt * TICK);
    clock.flush();
  }
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
