// Holes a hostile review found in history across restarts (issue 11, item 2), each a regression
// test that failed before the fix:
// 1. journal reads were not time-limited: Live.getData/getReport/dump, Performance, the command
//    line's final statistics and `rxtrade report` hung forever on a journal whose read never
//    settles (a user journal's bug; a FIFO in place of a journal file). Now each step of a read
//    is bounded by CC_STORE_TIMEOUT_SECONDS: a JournalError (what, and the limit) on error$, and
//    the statistics of the current loop with `historyUnavailable` saying why;
// 3. a signal that ended unrecorded was said only in the terminal's text: now in
//    LiveStatistics.endedUnrecorded (Live.getData, report --json) and in the Markdown report;
// 5. Live.getData(symbol, name) needed the strategy registered even when the journal has its
//    history: now it reads by name what the default journal holds.
//
// A "process" is a fresh copy of the rxtrade module graph (vi.resetModules + import): its own
// registries, pairs and default journal. Each hang is bounded here by a short limit (0.2 s of
// real time) and the test by `settles` (3 s), so a hang fails fast instead of at vitest's limit.
import { execFileSync } from "node:child_process";
import { closeSync, constants, openSync } from "node:fs";
import { mkdtemp, readFile, rm, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { type Journal, type JournalEntry, type SignalDto, type TickResult } from "rxtrade";
import * as rxtrade from "rxtrade";
import { fileJournal } from "rxtrade/node";
import { candlesFromPrices, VirtualClock } from "rxtrade/testing";
import { finish } from "../src/cli/session";
import { Terminal } from "../src/cli/terminal";

type Rx = typeof rxtrade;
const SYMBOL = "BTCUSDT";
const TICK = 60_001;
const LIMIT_S = 0.2;

async function freshProcess(): Promise<{ rx: Rx; errors: Error[] }> {
  vi.resetModules();
  const rx = (await import("rxtrade")) as Rx;
  rx.setLogger({ warn: () => {}, error: () => {} });
  const errors: Error[] = [];
  rx.listenError((error) => errors.push(error));
  return { rx, errors };
}

/** `promise`, or a failure once it is still pending after `ms` (a hang fails fast). */
async function settles<T>(promise: Promise<T>, ms = 3000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms: the read hangs`)), ms)));
  try {
    return await Promise.race([promise, hung]);
  } finally {
    clearTimeout(timer);
  }
}

/** A journal that appends and lists in memory, and whose `read` never gives an entry. */
function hangingRead(): Journal {
  const memory = rxtrade.memoryJournal();
  return {
    append: (entry) => memory.append(entry),
    read: () => ({ [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<JournalEntry>>(() => {}) }) }),
    keys: () => memory.keys(),
    tail: (key) => memory.tail(key),
  };
}

const PRICES = Array.from({ length: 400 }, (_, m) => Math.round((100 + 3 * Math.sin(m / 6.5) + (m % 7) * 0.1) * 100) / 100);

/** Runs `name` for `minutes` on a VirtualClock with `journal`; resolves to its tick results. */
function runLoop(rx: Rx, name: string, minutes: number, journal: Journal): TickResult[] {
  const clock = new VirtualClock(0);
  rx.addExchange(rx.replayExchange(candlesFromPrices(PRICES, { start: -60_000 }), clock, { exchangeName: `${name}-ex` }));
  rx.addStrategy({
    strategyName: name,
    interval: "5m",
    getSignal: (_symbol, _when, { currentPrice }): SignalDto => ({
      position: "long",
      priceTakeProfit: Math.round(currentPrice * 1.02 * 100) / 100,
      priceStopLoss: Math.round(currentPrice * 0.98 * 100) / 100,
      minuteEstimatedTime: 30,
    }),
  });
  const results: TickResult[] = [];
  const off = rx.listenSignalLive((result) => result.strategyName === name && results.push(result));
  rx.Live.run(SYMBOL, { strategyName: name, exchangeName: `${name}-ex`, scheduler: clock, journal, config: { CC_AVG_PRICE_CANDLES_COUNT: 1 } }).subscribe({ error: () => {} });
  clock.schedule(() => void rx.Live.stop(SYMBOL, name), minutes * TICK);
  clock.flush();
  off();
  return results;
}

// Crafted entries of key `<SYMBOL>:<name>`: a closed signal A, then B opened, then a restart that
// found B gone from the store (its end died with its process).
const signal = (name: string, id: string, at: number) => ({
  id, position: "long" as const, priceOpen: 100, priceTakeProfit: 102, priceStopLoss: 98, minuteEstimatedTime: 60, note: "",
  symbol: SYMBOL, strategyName: name, exchangeName: "x", scheduledAt: at, pendingAt: at,
});
function endedUnrecordedEntries(name: string): JournalEntry[] {
  const key = `${SYMBOL}:${name}`;
  const base = { symbol: SYMBOL, strategyName: name, exchangeName: "x", backtest: false as const };
  const run = (at: number) => ({ kind: "run" as const, key, at, event: "start" as const, symbol: SYMBOL, strategyName: name, exchangeName: "x", level: "trades" as const, tickMs: TICK });
  const trade = (result: TickResult) => ({ kind: "trade", key, at: result.timestamp, result }) as JournalEntry;
  return [
    run(0),
    trade({ ...base, action: "opened", currentPrice: 100, timestamp: 60_000, signal: signal(name, "sig-A", 60_000) }),
    trade({
      ...base, action: "closed", currentPrice: 102, timestamp: 600_000, signal: signal(name, "sig-A", 60_000),
      closeReason: "take_profit", closeTimestamp: 600_000, pnl: { pnlPercentage: 1.8, priceOpen: 100, priceClose: 102 },
    }),
    trade({ ...base, action: "opened", currentPrice: 100, timestamp: 1_200_000, signal: signal(name, "sig-B", 1_200_000) }),
    { ...run(3_600_000), recovery: { unfinishedRun: true, endedSignal: { signalId: "sig-B", status: "opened", since: 1_200_000 } } } as JournalEntry,
  ];
}

const work = await mkdtemp(join(tmpdir(), "rxtrade-history-review-"));
const fifos: string[] = [];

/** A store folder whose journal file of `key` is a FIFO nobody writes to: opening it for reading blocks. */
async function fifoStore(name: string, key: string): Promise<string> {
  const store = join(work, name);
  const journal = fileJournal(store);
  const [symbol, strategyName] = [key.slice(0, key.lastIndexOf(":")), key.slice(key.lastIndexOf(":") + 1)];
  await journal.append({ kind: "run", key, at: 0, event: "start", symbol, strategyName, exchangeName: "x", level: "trades", tickMs: TICK });
  await journal.close();
  const [file] = (await journal.segmentsOf(key)) as [string];
  await unlink(file);
  execFileSync("mkfifo", [file]);
  fifos.push(file);
  return store;
}

afterEach(() => {
  rxtrade.setConfig({ CC_STORE_TIMEOUT_SECONDS: 30 });
  // A reader blocked in open() on a FIFO holds a thread of libuv's pool: a writer releases it.
  for (const fifo of fifos.splice(0)) {
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // no reader waiting
    }
  }
});
afterAll(() => rm(work, { recursive: true, force: true }));
// The last "process" made here stays the module graph of the files that share this worker
// (vitest.config.ts, project "shared"): its default journal, registries and pairs would be
// theirs (test/live.facade.test.ts's statistics read that journal). They get a fresh one.
afterAll(() => vi.resetModules());

describe("a journal whose read hangs (hole 1)", () => {
  it("Live.getData, getReport and dump fall back to the loop's statistics within CC_STORE_TIMEOUT_SECONDS, saying why; a JournalError on error$", async () => {
    const { rx, errors } = await freshProcess();
    const results = runLoop(rx, "hang", 150, hangingRead());
    const closed = results.filter((r) => r.action === "closed").length;
    expect(closed).toBeGreaterThan(2);
    rx.setConfig({ CC_STORE_TIMEOUT_SECONDS: LIMIT_S });

    const started = performance.now();
    const stats = await settles(rx.Live.getData(SYMBOL, "hang"));
    expect(performance.now() - started).toBeLessThan(1500);
    expect(stats.totalClosed).toBe(closed);
    const why = `journal.read("${SYMBOL}:hang") did not answer within CC_STORE_TIMEOUT_SECONDS (${LIMIT_S} s) after 0 entries: the journal hangs (a read that never settles, a FIFO or a stalled mount in place of a file)`;
    expect(stats.historyUnavailable).toBe(`history unavailable: ${why}; statistics of the current loop, from memory`);
    const failure = errors.find((error) => error.name === "JournalError") as InstanceType<Rx["JournalError"]>;
    expect(failure).toBeInstanceOf(rx.JournalError);
    expect(failure).toMatchObject({ key: `${SYMBOL}:hang`, operation: "read" });
    expect(failure.cause).toMatchObject({ name: "CallTimeoutError", limitKey: "CC_STORE_TIMEOUT_SECONDS", limitMs: LIMIT_S * 1000 });

    const report = await settles(rx.Live.getReport(SYMBOL, "hang"));
    expect(report.split("\n").slice(0, 3)).toEqual(["# Live Trading Report: hang", "", `> **History unavailable: ${why}; statistics of the current loop, from memory**`]);
    expect(report).toContain(`**Closed signals:** ${closed}`);
    await settles(rx.Live.dump(SYMBOL, "hang", join(work, "dump-hang")));
    expect(await readFile(join(work, "dump-hang", `${SYMBOL}_hang.md`), "utf8")).toBe(report);
    await settles(rx.Performance.getData(SYMBOL, "hang"));
  });

  it("a FIFO in place of a journal file: Live.getData falls back at once (fileJournal refuses it unopened)", async () => {
    const { rx, errors } = await freshProcess();
    const store = await fifoStore("fifo-live", `${SYMBOL}:fifo`);
    rx.setConfig({ CC_STORE_TIMEOUT_SECONDS: LIMIT_S });
    rx.setDefaultJournal(fileJournal(store));
    rx.addStrategy({ strategyName: "fifo", interval: "1m", getSignal: () => null });
    const stats = await settles(rx.Live.getData(SYMBOL, "fifo"));
    expect(stats).toMatchObject({ totalClosed: 0, totalEvents: 0 });
    expect(stats.historyUnavailable).toMatch(/^history unavailable: journal\.read\("BTCUSDT:fifo"\) failed: journal \S+ is a FIFO, not a regular file: it is not read/);
    expect(errors.map((error) => error.name)).toContain("JournalError");
  });

  it("the command line's end: its final statistics are the run's, with a warning (a FIFO in place of the journal file, refused unopened)", async () => {
    rxtrade.setConfig({ CC_STORE_TIMEOUT_SECONDS: LIMIT_S });
    const store = await fifoStore("fifo-cli", `${SYMBOL}:momentum`);
    let out = "";
    let err = "";
    const terminal = new Terminal({ write: (text: string) => (out += text) }, { write: (text: string) => (err += text) });
    const end = { stats: rxtrade.liveStatistics([]), trades: [] };
    const file = await settles(finish(terminal, end, SYMBOL, "momentum", join(work, "fifo-cli-reports"), store));
    expect(file).toBe(join(work, "fifo-cli-reports", `${SYMBOL}_momentum.md`));
    expect(out).toContain("Statistics of this run");
    expect(err).toMatch(/^warning: the journal \S+ could not be read \(journal \S+ is a FIFO, not a regular file: it is not read .*\); the statistics below are this run's alone\n$/);
  });
});

describe("signals that ended unrecorded (hole 3) and history by name (hole 5)", () => {
  it("Live.getData lists them in endedUnrecorded, for a strategy this process never registered; the Markdown report shows them", async () => {
    const { rx } = await freshProcess();
    const journal = rx.memoryJournal();
    for (const entry of endedUnrecordedEntries("gone")) journal.append(entry);
    rx.setDefaultJournal(journal);
    const stats = await rx.Live.getData(SYMBOL, "gone");
    expect(stats).toMatchObject({ totalClosed: 1, totalPnl: 1.8, totalEvents: 3 });
    expect(stats.endedUnrecorded).toEqual([{ signalId: "sig-B", status: "opened", since: 1_200_000 }]);
    expect(stats.historyUnavailable).toBeUndefined();

    const report = await rx.Live.getReport(SYMBOL, "gone");
    const section = report.slice(report.indexOf("## Ended unrecorded"));
    expect(section.split("\n")).toEqual([
      "## Ended unrecorded",
      "",
      "A later run found the store no longer holding these signals (a process killed between its store write and the journal): how, when and at what price they ended is unknown, and they are in no number above.",
      "",
      "| Signal ID | Last journaled as | Since |",
      "| --- | --- | --- |",
      "| sig-B | OPENED | 1970-01-01T00:20:00.000Z |",
      "",
    ]);
    // No ended signal, no section, and no field: the report and the object are as before.
    rx.addStrategy({ strategyName: "plain", interval: "1m", getSignal: () => null });
    expect(await rx.Live.getData(SYMBOL, "plain")).not.toHaveProperty("endedUnrecorded");
  });

  it("a name neither registered nor in the journal is still the registry's error", async () => {
    const { rx } = await freshProcess();
    rx.setDefaultJournal(rx.memoryJournal());
    await expect(rx.Live.getData(SYMBOL, "nowhere")).rejects.toThrow(rx.RegistryError);
    expect(await rx.Live.list()).toEqual([]);
  });

  it("historyStatistics carries them, so every reader of a history does", async () => {
    const journal = rxtrade.memoryJournal();
    for (const entry of endedUnrecordedEntries("h")) journal.append(entry);
    const stats = rxtrade.historyStatistics(await rxtrade.readLiveHistory(journal, `${SYMBOL}:h`));
    expect(stats.endedUnrecorded).toEqual([{ signalId: "sig-B", status: "opened", since: 1_200_000 }]);
    expect(rxtrade.historyStatistics({ results: [] })).not.toHaveProperty("endedUnrecorded");
  });
});
