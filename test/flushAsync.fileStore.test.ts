// Issue 10, item 1: VirtualClock.flushAsync drives a stream on fileStore. Its lock, reads and
// writes are real I/O: before this change flushAsync moved virtual time on while they were in
// flight, so the read timed out (CC_STORE_TIMEOUT_SECONDS of virtual time passed in a few real
// ms) and the stream never traded.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Subject } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import { listenError, liveTrade$, memoryStore, type SignalStore, type StrategySchema } from "rxtrade";
import { fileStore } from "rxtrade/node";
import { marbleExchange, scriptedStrategy, VirtualClock } from "rxtrade/testing";

const TICK = 60_001;
const config = { CC_AVG_PRICE_CANDLES_COUNT: 1 };
const LONG = { position: "long" as const, priceTakeProfit: 101, priceStopLoss: 99, minuteEstimatedTime: 60 };

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()?.();
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "rxtrade-flushAsync-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
function errorsSeen(): string[] {
  const errors: string[] = [];
  cleanups.push(listenError((e) => errors.push(`${e.name}: ${e.message}`)));
  return errors;
}

/** Runs a strategy that opens a long at its second call, on `store`; the stop comes at tick 6. */
async function run(clock: VirtualClock, store: SignalStore, strategy: StrategySchema = scriptedStrategy("fs", [null, LONG])) {
  //                               minute: 0123456789
  const exchange = marbleExchange("aaaab-c---", { a: 100, b: 100.5, c: 101.5 }, clock, { start: -60_000 });
  const stop$ = new Subject<void>();
  const trades: string[] = [];
  let ended = "";
  liveTrade$("BTCUSDT", strategy, { exchange, store, scheduler: clock, stop$, config }).subscribe({
    next: (r) => trades.push(`${r.action} @${r.currentPrice} t=${clock.now() / TICK}`),
    complete: () => (ended = `complete t=${clock.now() / TICK}`),
    error: (e: Error) => (ended = `${e.name} t=${clock.now() / TICK}`),
  });
  clock.schedule(() => stop$.next(), 6 * TICK);
  const ran = await clock.flushAsync(20 * TICK);
  return { trades, ended, ran };
}

describe("flushAsync on fileStore", () => {
  it("opens and closes a position at the right virtual times, and the store ends empty", async () => {
    const errors = errorsSeen();
    const dir = tempDir();
    const store = fileStore(dir);
    const clock = new VirtualClock(0);
    const { trades, ended, ran } = await run(clock, store);

    // Tick 1 asks the strategy a second time: long at 100 (TP 101, SL 99). Tick 6 sees 101.5
    // (minute 6): take profit at exactly 101. The stop, also at tick 6, then ends the stream.
    expect(trades).toEqual(["opened @100 t=1", "closed @101 t=6"]);
    expect(ended).toBe("complete t=6");
    expect(errors).toEqual([]);
    expect(ran).toBeGreaterThan(6);
    expect(clock.callsInFlight).toEqual([]);
    expect(await store.read("BTCUSDT:fs")).toBeNull();
    // The lock was released at the end: another stream takes the key at once.
    const release = await fileStore(dir).lock("BTCUSDT:fs");
    release();
  });

  it("gives the same trades as a memoryStore stream", async () => {
    const onMemory = await run(new VirtualClock(0), memoryStore());
    const onFile = await run(new VirtualClock(0), fileStore(tempDir()));
    expect(onFile.trades).toEqual(onMemory.trades);
    expect(onFile.ended).toBe(onMemory.ended);
  });

  it("resumes the position a killed stream left in the folder", async () => {
    const dir = tempDir();
    const first = new VirtualClock(0);
    const stop$ = new Subject<void>();
    const exchange = marbleExchange("aaaa------", { a: 100 }, first, { start: -60_000 });
    const opened: number[] = [];
    const subscription = liveTrade$("BTCUSDT", scriptedStrategy("fs", [LONG]), { exchange, store: fileStore(dir), scheduler: first, stop$, config }).subscribe(
      () => opened.push(first.now()),
    );
    await first.flushAsync(2 * TICK);
    subscription.unsubscribe(); // a kill: the position stays in the store
    expect(opened).toEqual([0]);

    const clock = new VirtualClock(3 * TICK);
    const errors = errorsSeen();
    const trades: string[] = [];
    //                      minute: 0123456789
    const later = marbleExchange("aaaaaac---", { a: 100, c: 101.5 }, clock, { start: -60_000 });
    liveTrade$("BTCUSDT", scriptedStrategy("fs", []), { exchange: later, store: fileStore(dir), scheduler: clock, stop$: new Subject(), config }).subscribe((r) =>
      trades.push(`${r.action} ${r.action === "closed" ? r.closeReason : ""} t=${clock.now() / TICK}`),
    );
    await clock.flushAsync(8 * TICK);
    // Restored from the file, the open position closes at tick 6, when 101.5 >= TP 101.
    expect(trades).toEqual(["closed take_profit t=6"]);
    expect(errors).toEqual([]);
  });
});
