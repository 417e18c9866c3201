// fileJournal (rxtrade/node): JSON lines per key in <store dir>/journal/, fsync per trade/run
// entry, buffered tick entries, rotation by size, torn and unparsable lines skipped with a
// warning; and a stream on fileStore + fileJournal in virtual time.
import { appendFileSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Subject } from "rxjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { liveTrade$, replayExchange, type JournalEntry, type JournalRun, type JournalTick, type JournalTrade, type SignalDto } from "rxtrade";
import { fileJournal, fileStore, type JournalWarning } from "rxtrade/node";
import { candlesFromPrices, scriptedStrategy, VirtualClock } from "rxtrade/testing";

let work: string;
let dirs = 0;
const freshDir = () => join(work, `store-${++dirs}`);

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "rxtrade-journal-file-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const KEY = "BTC/USDT:USDT:momentum";
const OTHER = "ETHUSDT:momentum";

function run(key: string, at: number, event: "start" | "stop" = "start"): JournalRun {
  return { kind: "run", key, at, event, symbol: key.split(":")[0] as string, strategyName: "momentum", exchangeName: "x", level: "full", tickMs: 60_001 };
}
function trade(key: string, at: number, id: string, action: "opened" | "closed" = "opened"): JournalTrade {
  const signal = { id, position: "long", priceOpen: 100, priceTakeProfit: 102, priceStopLoss: 98, minuteEstimatedTime: 60, note: "", symbol: "BTCUSDT", strategyName: "momentum", exchangeName: "x", scheduledAt: 0, pendingAt: 0 } as const;
  const base = { symbol: "BTCUSDT", strategyName: "momentum", exchangeName: "x", currentPrice: 100, timestamp: at, backtest: false as const, signal };
  return action === "opened"
    ? { kind: "trade", key, at, result: { ...base, action } }
    : { kind: "trade", key, at, result: { ...base, action, closeReason: "take_profit", closeTimestamp: at, pnl: { pnlPercentage: 1.5, priceOpen: 100, priceClose: 102 } } };
}
function tick(key: string, at: number): JournalTick {
  return { kind: "tick", key, at, candles: [{ interval: "1m", since: at - 60_000, limit: 1, candles: [{ timestamp: at - 60_000, open: 1, high: 1, low: 1, close: 1, volume: 1 }] }], price: 1, action: "idle" };
}

async function all(entries: AsyncIterable<JournalEntry>): Promise<JournalEntry[]> {
  const list: JournalEntry[] = [];
  for await (const entry of entries) list.push(entry);
  return list;
}
const ats = (entries: readonly JournalEntry[]) => entries.map((e) => `${e.kind}@${e.at}`);

describe("files", () => {
  it("one JSON-lines file per key in <store dir>/journal/, named like fileStore's, 0600 in a 0700 folder", async () => {
    const dir = freshDir();
    const journal = fileJournal(dir);
    await journal.append(run(KEY, 1));
    await journal.append(trade(KEY, 2, "A"));
    await journal.append(run(OTHER, 3));
    expect(journal.dir).toBe(join(dir, "journal"));
    const store = fileStore(dir);
    expect(fileJournal(store).dir).toBe(journal.dir);
    const names = readdirSync(journal.dir).sort();
    // Readable part and hash as fileStore names its data file (BTC_USDT_USDT_momentum-<hash>.json).
    const base = store.pathOf(KEY).split("/").at(-1)?.replace(/\.json$/, "");
    expect(names).toEqual([`${base}.000001.jsonl`, expect.stringMatching(/^ETHUSDT_momentum-[0-9a-f]{16}\.000001\.jsonl$/)].sort());
    const lines = readFileSync(join(journal.dir, `${base}.000001.jsonl`), "utf8").split("\n");
    expect(lines.map((line) => (line === "" ? "" : JSON.parse(line).kind))).toEqual(["run", "trade", ""]);
    expect(statSync(journal.dir).mode & 0o777).toBe(0o700);
    for (const name of names) expect(statSync(join(journal.dir, name)).mode & 0o777).toBe(0o600);
    expect(await journal.keys()).toEqual([KEY, OTHER].sort());
    expect(ats(await all(journal.read(KEY)))).toEqual(["run@1", "trade@2"]);
    expect(await all(journal.read("nothing:here"))).toEqual([]);
    await journal.close();
  });

  it("tick entries wait in memory until the next trade or run entry, or flushMs, and keep their order", async () => {
    const dir = freshDir();
    const journal = fileJournal(dir, { flushMs: 50 });
    await journal.append(run(KEY, 1));
    expect(journal.append(tick(KEY, 2))).toBeUndefined(); // buffered: nothing to wait for
    journal.append(tick(KEY, 3));
    const [segment] = await journal.segmentsOf(KEY);
    const onDisk = () => readFileSync(segment as string, "utf8").trim().split("\n").map((line) => JSON.parse(line).at as number);
    expect(onDisk()).toEqual([1]);
    await journal.append(trade(KEY, 4, "A"));
    expect(onDisk()).toEqual([1, 2, 3, 4]);
    journal.append(tick(KEY, 5));
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(onDisk()).toEqual([1, 2, 3, 4, 5]);
    // A reader in this process sees what is still buffered: it is written first.
    journal.append(tick(KEY, 6));
    expect(ats(await all(journal.read(KEY)))).toEqual(["run@1", "tick@2", "tick@3", "trade@4", "tick@5", "tick@6"]);
    await journal.close();
  });

  it("refuses what is not a journal entry, synchronously", () => {
    const journal = fileJournal(freshDir());
    expect(() => journal.append({ kind: "note", key: KEY, at: 1 } as unknown as JournalEntry)).toThrow(
      'rxtrade: fileJournal.append: not a journal entry (kind "note" is not trade, tick, run, intent or gap)',
    );
    expect(() => fileJournal(freshDir(), { maxBytes: 10 })).toThrow("rxtrade: fileJournal option maxBytes (10) must be a whole number of bytes >= 1024, e.g. 33554432");
  });
});

describe("torn and unparsable lines", () => {
  it("a torn last line is skipped with a warning, never fatal; the next append starts on a fresh line", async () => {
    const dir = freshDir();
    const warnings: JournalWarning[] = [];
    const first = fileJournal(dir, { onWarning: (w) => warnings.push(w) });
    await first.append(run(KEY, 1));
    await first.append(trade(KEY, 2, "A"));
    await first.close();
    // A kill in the middle of the next line.
    const [segment] = await first.segmentsOf(KEY);
    const whole = JSON.stringify(trade(KEY, 3, "A", "closed"));
    appendFileSync(segment as string, whole.slice(0, 57));

    expect(ats(await all(first.read(KEY)))).toEqual(["run@1", "trade@2"]);
    expect(warnings.map((w) => [w.reason, w.line, w.skipped])).toEqual([["torn", 3, 1]]);
    expect(warnings[0]?.message).toBe(
      `journal ${segment}:3: the last line is incomplete (a kill mid-write, or being written right now): skipped (1 skipped in this read)`,
    );

    // The next process appends: on a fresh line, after a warning.
    const second = fileJournal(dir, { onWarning: (w) => warnings.push(w) });
    await second.append(run(KEY, 10));
    await second.append(trade(KEY, 11, "B"));
    expect(warnings[1]).toMatchObject({ reason: "torn", line: 0, path: segment });
    const lines = readFileSync(segment as string, "utf8").split("\n");
    expect(lines[2]).toBe(whole.slice(0, 57));
    expect(JSON.parse(lines[3] as string)).toMatchObject({ kind: "run", at: 10 });
    warnings.length = 0;
    expect(ats(await all(second.read(KEY)))).toEqual(["run@1", "trade@2", "run@10", "trade@11"]);
    // Now in the middle of the file: an unparsable line, skipped and counted.
    expect(warnings.map((w) => [w.reason, w.line, w.skipped])).toEqual([["unparsable", 3, 1]]);
    expect(await second.tail(KEY)).toEqual({ lastTrade: trade(KEY, 11, "B"), lastRun: run(KEY, 10) });
    await second.close();
  });

  it("other lines that are not entries of the key are skipped and counted; the default warning goes to the logger, once per file with the count and the first", async () => {
    const dir = freshDir();
    const journal = fileJournal(dir);
    await journal.append(run(KEY, 1));
    const [segment] = await journal.segmentsOf(KEY);
    appendFileSync(segment as string, `not json\n${JSON.stringify(run(OTHER, 2))}\n{"kind":"trade","key":"${KEY}","at":3}\n\n`);
    await journal.append(trade(KEY, 4, "A"));
    const { setLogger } = await import("rxtrade");
    const logged: string[] = [];
    setLogger({ warn: (line: string) => logged.push(line) });
    try {
      expect(ats(await all(journal.read(KEY)))).toEqual(["run@1", "trade@4"]);
    } finally {
      setLogger(console);
    }
    expect(logged).toEqual([
      `rxtrade: journal ${segment}: 3 lines skipped; the first: ${segment}:2: not JSON (a line torn by a kill, then appended after): skipped (1 skipped in this read): "not json"`,
    ]);
    await journal.close();
  });
});

describe("rotation", () => {
  it("starts a new segment past maxBytes, keeps the old ones, reads them in order; tail looks back across segments", async () => {
    const dir = freshDir();
    const journal = fileJournal(dir, { maxBytes: 2048 });
    const written: JournalEntry[] = [run(KEY, 0)];
    await journal.append(written[0] as JournalEntry);
    await journal.append(trade(KEY, 1, "T1"));
    written.push(trade(KEY, 1, "T1"));
    for (let at = 2; at < 40; at++) {
      const entry = tick(KEY, at);
      written.push(entry);
      journal.append(entry);
    }
    await journal.flush();
    const segments = await journal.segmentsOf(KEY);
    expect(segments.length).toBeGreaterThanOrEqual(3);
    expect(segments.map((path) => path.slice(-13))).toEqual(segments.map((_, i) => `.${String(i + 1).padStart(6, "0")}.jsonl`));
    for (const path of segments.slice(0, -1)) expect(statSync(path).size).toBeLessThanOrEqual(2048);
    expect(await all(journal.read(KEY))).toEqual(written);
    // The last trade and run are in the first segment only.
    expect(await journal.tail(KEY)).toEqual({ lastTrade: trade(KEY, 1, "T1"), lastRun: run(KEY, 0) });
    // A new instance (another process) appends to the last segment.
    await journal.close();
    const again = fileJournal(dir, { maxBytes: 2048 });
    await again.append(run(KEY, 100, "stop"));
    expect((await again.segmentsOf(KEY)).length).toBe(segments.length);
    expect(ats(await all(again.read(KEY))).at(-1)).toBe("run@100");
    await again.close();
  });
});

describe("a failed write", () => {
  it("rejects, keeps the tick entries it carried, and the retry neither duplicates nor loses a line", async () => {
    const dir = freshDir();
    const journal = fileJournal(dir, { maxBytes: 1024 });
    await journal.append(run(KEY, 0));
    const ticks = Array.from({ length: 6 }, (_, i) => tick(KEY, i + 1));
    for (const entry of ticks) journal.append(entry);
    // The segment after the first cannot be created (a folder is in the way).
    const [first] = await journal.segmentsOf(KEY);
    const second = (first as string).replace(".000001.", ".000002.");
    const { mkdirSync, rmdirSync } = await import("node:fs");
    mkdirSync(second);
    const closed = trade(KEY, 7, "A", "closed");
    await expect(journal.append(closed)).rejects.toThrow(`journal ${second} is a folder, not a regular file: nothing is appended to it`);
    rmdirSync(second);
    await journal.append(closed); // the engine's retry
    expect(await all(journal.read(KEY))).toEqual([run(KEY, 0), ...ticks, closed]);
    await journal.close();
  });
});

describe("a stream on fileStore + fileJournal", () => {
  it("journals its trades and ticks durably in virtual time (flushAsync)", async () => {
    const dir = freshDir();
    const clock = new VirtualClock(0);
    const store = fileStore(dir);
    const journal = fileJournal(store);
    const prices = Array.from({ length: 100 }, (_, i) => (i < 13 ? 100 : 102));
    const exchange = replayExchange(candlesFromPrices(prices, { start: -10 * 60_000 }), clock);
    const LONG: SignalDto = { id: "F1", position: "long", priceTakeProfit: 102, priceStopLoss: 98, minuteEstimatedTime: 15 };
    const stop$ = new Subject<void>();
    const results: string[] = [];
    let completed = false;
    liveTrade$("BTCUSDT", scriptedStrategy("file-run", [LONG]), {
      exchange,
      store,
      journal,
      journalLevel: "full",
      scheduler: clock,
      stop$,
      config: { CC_AVG_PRICE_CANDLES_COUNT: 1 },
    }).subscribe({ next: (r) => results.push(`${r.action}@${r.timestamp}`), complete: () => (completed = true) });
    clock.schedule(() => stop$.next(), 300_000);
    await clock.flushAsync(400_000);
    expect(completed).toBe(true);
    expect(results).toEqual(["opened@0", "closed@240004"]);
    // Read by another instance, as `rxtrade report` would.
    const entries = await all(fileJournal(dir).read("BTCUSDT:file-run"));
    expect(entries.map((e) => (e.kind === "tick" ? `tick ${e.action}` : e.kind === "trade" ? `trade ${e.result.action}` : e.kind === "run" ? `run ${e.event}` : e.kind))).toEqual([
      "run start",
      "tick opened",
      "trade opened",
      "tick active",
      "tick active",
      "tick active",
      "tick closed",
      "trade closed",
      "run stop", // at 300000: nothing held, so the stop ends the run at once
    ]);
    writeFileSync(join(dir, "unrelated.txt"), "x");
    expect(await fileJournal(dir).keys()).toEqual(["BTCUSDT:file-run"]);
  });
});
