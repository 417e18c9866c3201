// fileJournal's side of the journal's durability (issue 11 review, holes 2 and 3): a failed
// background write of tick entries is told to the next append, not only logged; a close that
// cannot write the buffered ticks says how many, typed; and the write-ahead intent costs no
// extra fsync: one per change of position (the intent's), its trade entry riding on it.
import "fake-indexeddb/auto";
import { mkdirSync, readdirSync, readFileSync, readlinkSync, rmdirSync } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Subject } from "rxjs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type Journal,
  type JournalEntry,
  JournalError,
  type JournalIntent,
  type JournalRun,
  type JournalTick,
  type JournalTrade,
  liveTrade$,
  memoryJournal,
  replayExchange,
  setLogger,
  type SignalDto,
} from "rxtrade";
import { indexedDbJournal } from "rxtrade/browser";
import { fileJournal, fileStore } from "rxtrade/node";
import { candlesFromPrices, scriptedStrategy, VirtualClock } from "rxtrade/testing";

let work: string;
let dirs = 0;
const freshDir = () => join(work, `store-${++dirs}`);
const KEY = "BTCUSDT:durable";

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "rxtrade-journal-durability-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const warnings: string[] = [];
setLogger({ warn: (m: unknown) => warnings.push(String(m)) });
afterEach(() => {
  warnings.length = 0;
});

function run(at: number): JournalRun {
  return { kind: "run", key: KEY, at, event: "start", symbol: "BTCUSDT", strategyName: "durable", exchangeName: "x", level: "full", tickMs: 60_001 };
}
function tick(at: number): JournalTick {
  return { kind: "tick", key: KEY, at, candles: [{ interval: "1m", since: at - 60_000, limit: 1, candles: [{ timestamp: at - 60_000, open: 1, high: 1, low: 1, close: 1, volume: 1 }] }], price: 1, action: "idle" };
}
function signalEntry<K extends "trade" | "intent">(kind: K, at: number, action: "opened" | "closed"): K extends "trade" ? JournalTrade : JournalIntent {
  const signal = { id: "S1", position: "long", priceOpen: 100, priceTakeProfit: 102, priceStopLoss: 98, minuteEstimatedTime: 60, note: "", symbol: "BTCUSDT", strategyName: "durable", exchangeName: "x", scheduledAt: 0, pendingAt: 0 } as const;
  const base = { symbol: "BTCUSDT", strategyName: "durable", exchangeName: "x", currentPrice: 100, timestamp: at, backtest: false as const, signal };
  const result =
    action === "opened" ? { ...base, action } : { ...base, action, currentPrice: 102, closeReason: "take_profit" as const, closeTimestamp: at, pnl: { pnlPercentage: 1.6, priceOpen: 100, priceClose: 102 } };
  return { kind, key: KEY, at, result } as never;
}
const stop = (at: number): JournalRun => ({ ...run(at), event: "stop", reason: "unsubscribed" });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("fileJournal: tick entries whose write failed", () => {
  it("a failed background write is told to the next append (it writes at once and rejects), not logged; the append after it recovers", async () => {
    const journal = fileJournal(freshDir(), { maxBytes: 1024, flushMs: 5 });
    await journal.append(run(0));
    const [first] = await journal.segmentsOf(KEY);
    // The next segment cannot be created (a folder is in the way): the buffered ticks cannot be written.
    const second = (first as string).replace(".000001.", ".000002.");
    mkdirSync(second);
    for (let i = 1; i <= 6; i++) expect(journal.append(tick(i))).toBeUndefined();
    await sleep(100); // the flush timer (5 ms) tries, and fails: nothing is logged
    await journal.flush().catch(() => undefined); // (the same write, in case a loaded machine has not run the timer yet)
    expect(warnings).toEqual([]);

    const told = journal.append(tick(7));
    expect(told).toBeInstanceOf(Promise);
    await expect(told).rejects.toThrow(/is a folder, not a regular file: nothing is appended to it/);
    rmdirSync(second);
    await expect(journal.append(tick(8))).resolves.toBeUndefined(); // written at once, with the six kept
    expect(journal.append(tick(9))).toBeUndefined(); // buffered again
    await journal.close();
    const ats: number[] = [];
    for await (const entry of fileJournal(journal.dir.replace(/\/journal$/, "")).read(KEY)) ats.push(entry.at);
    // Tick 7's append was refused: the caller's to retry (the engine drops a tick instead).
    expect(ats).toEqual([0, 1, 2, 3, 4, 5, 6, 8, 9]);
    expect(warnings).toEqual([]);
  });

  it("a close that cannot write the buffered ticks rejects with a JournalError naming how many and which", async () => {
    const journal = fileJournal(freshDir(), { maxBytes: 1024, flushMs: 60_000 });
    await journal.append(run(0));
    const [first] = await journal.segmentsOf(KEY);
    const second = (first as string).replace(".000001.", ".000002.");
    mkdirSync(second);
    for (let i = 1; i <= 6; i++) journal.append(tick(i * 60_001));
    const closing = journal.close();
    await expect(closing).rejects.toBeInstanceOf(JournalError);
    const error = (await closing.catch((e: unknown) => e)) as JournalError;
    // The ticks that fit in the first segment were written; the rest are handed over.
    const n = error.unappended.length;
    const ats = [1, 2, 3, 4, 5, 6].map((i) => i * 60_001);
    expect(n).toBeGreaterThan(0);
    expect([error.key, error.operation, error.unappended.map((e) => e.at)]).toEqual([KEY, "end", ats.slice(-n)]);
    rmdirSync(second);
    const written: number[] = [];
    for await (const entry of fileJournal(journal.dir.replace(/\/journal$/, "")).read(KEY)) written.push(entry.at);
    expect([...written, ...error.unappended.map((e) => e.at)]).toEqual([0, ...ats]);
    const from = new Date(ats.at(-n) as number).toISOString().replace(/\./g, "\\.");
    expect(error.message).toMatch(
      new RegExp(
        `^rxtrade: the journal of ${KEY} could not write its last ${n} tick entr(y|ies) \\(${from} to 1970-01-01T00:06:00\\.006Z\\): journal \\S+ is a folder, not a regular file: .*; ` +
          "they are in this error's unappended \\(a replay of this run misses those ticks\\)$",
      ),
    );
  });
});

describe("fileJournal: the write-ahead intent costs no extra fsync", () => {
  it("a run at level trades fsyncs its journal once per change of position (the intent's), plus its start and stop; each trade entry is on disk before it is emitted", async () => {
    const dir = freshDir();
    // Count the fsyncs of journal files (fds whose path ends in .jsonl), across every FileHandle.
    const probe = await open(join(work, "probe"), "w");
    const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void>; sync: () => Promise<void> };
    await probe.close();
    const original = { datasync: proto.datasync, sync: proto.sync };
    let journalSyncs = 0;
    const counting = (name: "datasync" | "sync") =>
      function (this: { fd: number }) {
        if (readlinkSync(`/proc/self/fd/${this.fd}`).endsWith(".jsonl")) journalSyncs++;
        return original[name].call(this);
      };
    proto.datasync = counting("datasync");
    proto.sync = counting("sync");
    try {
      const clock = new VirtualClock(0);
      const store = fileStore(dir);
      const journal = fileJournal(store);
      const prices = Array.from({ length: 100 }, (_, i) => (i < 13 ? 100 : 102));
      const LONG: SignalDto = { id: "F1", position: "long", priceTakeProfit: 102, priceStopLoss: 98, minuteEstimatedTime: 15 };
      const stop$ = new Subject<void>();
      const onDisk: string[] = [];
      const segment = () => readFileSync(join(journal.dir, readdirSync(journal.dir).find((name) => name.endsWith(".jsonl")) as string), "utf8");
      liveTrade$("BTCUSDT", scriptedStrategy("durable", [LONG]), {
        exchange: replayExchange(candlesFromPrices(prices, { start: -10 * 60_000 }), clock),
        store,
        journal,
        scheduler: clock,
        stop$,
        config: { CC_AVG_PRICE_CANDLES_COUNT: 1 },
      }).subscribe((r) => onDisk.push(`${r.action} ${segment().includes(`"trade","key":"${KEY}","at":${r.timestamp},"result":{"action":"${r.action}"`)}`));
      clock.schedule(() => stop$.next(), 300_000);
      await clock.flushAsync(400_000);
      await journal.close();
      expect(onDisk).toEqual(["opened true", "closed true"]);
      // start, intent opened, intent closed, stop: the trade entries add none.
      expect(journalSyncs).toBe(4);
    } finally {
      proto.datasync = original.datasync;
      proto.sync = original.sync;
    }
  });
});

describe("every built-in journal: read leaves intents out; tail reports the pending one until a trade or a start follows it", () => {
  const journals: Array<[string, () => Promise<Journal & { close?: () => Promise<void> }>]> = [
    ["memoryJournal", async () => memoryJournal()],
    ["fileJournal, in 1 KiB segments", async () => fileJournal(freshDir(), { maxBytes: 1024 })],
    ["indexedDbJournal", async () => indexedDbJournal({ dbName: `durable-${++dirs}` })],
  ];
  for (const [name, make] of journals) {
    it(name, async () => {
      const journal = await make();
      const intent = signalEntry("intent", 120_002, "closed");
      for (const entry of [run(0), signalEntry("trade", 0, "opened"), intent, stop(130_000)] as JournalEntry[]) await journal.append(entry);
      const read = async () => {
        const kinds: string[] = [];
        for await (const entry of journal.read(KEY)) kinds.push(entry.kind);
        return kinds;
      };
      expect(await read()).toEqual(["run", "trade", "run"]);
      // A stop does not settle it: its run may have stopped with the store write in flight.
      expect((await journal.tail?.(KEY))?.pendingIntent).toEqual(intent);
      await journal.append({ ...run(200_000), recovery: { unfinishedRun: false, intent: { signalId: "S1", action: "closed", at: 120_002, outcome: "voided" } } });
      expect(await journal.tail?.(KEY)).not.toHaveProperty("pendingIntent");
      const again = signalEntry("intent", 260_004, "closed");
      await journal.append(again);
      expect((await journal.tail?.(KEY))?.pendingIntent).toEqual(again);
      await journal.append(signalEntry("trade", 260_004, "closed"));
      expect(await journal.tail?.(KEY)).toEqual({ lastTrade: signalEntry("trade", 260_004, "closed"), lastRun: expect.objectContaining({ at: 200_000 }) });
      await journal.close?.();
    });
  }
});
