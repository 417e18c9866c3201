// Issue 9, items 3 and 4, as a running stream sees them: a lock that is lost ends the stream at
// once with StoreLockedError and nothing is written after; subscribe/unsubscribe/subscribe in
// one turn does not find the key locked by itself. Each failed on 0.1.0.
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { listenError, liveTrade$, type LockRelease, memoryStore, replayExchange, type SignalStore, StoreLockedError, type StrategySchema } from "rxtrade";
import { fileStore } from "rxtrade/node";
import { candlesFromPrices, VirtualClock } from "rxtrade/testing";

const TICK = 60_001;
const config = { CC_AVG_PRICE_CANDLES_COUNT: 1 };
const candles = candlesFromPrices(Array.from({ length: 100 }, () => 100), { start: -10 * 60_000 });
const LONG = { id: "L1", position: "long" as const, priceTakeProfit: 103, priceStopLoss: 97, minuteEstimatedTime: 600 };
const openOnce = (name: string): StrategySchema => {
  let asked = 0;
  return { strategyName: name, interval: "1m", getSignal: () => (asked++ === 0 ? LONG : null) };
};

let dir: string;
const cleanups: Array<() => void> = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "rxtrade-locks-"));
});
afterEach(async () => {
  while (cleanups.length > 0) cleanups.pop()?.();
  await rm(dir, { recursive: true, force: true });
});

async function until(condition: () => Promise<boolean> | boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
const exists = (path: string) => stat(path).then(() => true, () => false);

describe("a stream whose lock is lost (9.3b)", () => {
  it("rm -rf of the store folder under a running stream: StoreLockedError on error$, the stream ends, nothing is written again", async () => {
    const clock = new VirtualClock(0);
    const errors: Error[] = [];
    cleanups.push(listenError((e) => errors.push(e)));
    const store = fileStore(dir, { lockCheckMs: 20 });
    const lockFile = `${store.pathOf("BTCUSDT:lost-lock")}.lock`;
    const results: string[] = [];
    let ended: unknown;
    const subscription = liveTrade$("BTCUSDT", openOnce("lost-lock"), { exchange: replayExchange(candles, clock), store, scheduler: clock, config }).subscribe({
      next: (r) => results.push(r.action),
      error: (e) => (ended = e),
    });
    cleanups.push(() => subscription.unsubscribe());
    await until(() => exists(lockFile));
    await until(async () => (await clock.flushAsync(clock.now()), results.length > 0));
    expect(results).toEqual(["opened"]);

    await rm(dir, { recursive: true, force: true });
    await until(() => ended !== undefined);
    expect(ended).toBeInstanceOf(StoreLockedError);
    expect((ended as Error).message).toContain("lost its lock on BTCUSDT:lost-lock");
    expect(errors).toContain(ended);
    // Time goes on: the stream is gone and writes nothing (the folder would be created again).
    await clock.flushAsync(clock.now() + 10 * TICK);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await exists(dir)).toBe(false);
  });

  it("a store that reports its lock lost: the source is torn down at once, no further exchange call or write", () => {
    const clock = new VirtualClock(0);
    const inner = memoryStore();
    let lose: ((error: Error) => void) | undefined;
    const writes: unknown[] = [];
    const store: SignalStore = {
      read: (key) => inner.read(key),
      write: (key, value) => (writes.push(value), inner.write(key, value)),
      lock: () => {
        const release: LockRelease = Object.assign(() => undefined, {
          onLost(listener: (error: Error) => void) {
            lose = listener;
            return () => (lose = undefined);
          },
        });
        return release;
      },
    };
    const exchange = replayExchange(candles, clock);
    let calls = 0;
    const counted = { ...exchange, getCandles: (...args: Parameters<typeof exchange.getCandles>) => (calls++, exchange.getCandles(...args)) };
    let ended: unknown;
    cleanups.push(listenError(() => undefined));
    liveTrade$("BTCUSDT", openOnce("lost-lease"), { exchange: counted, store, scheduler: clock, config }).subscribe({ error: (e) => (ended = e) });
    clock.flush(3 * TICK);
    expect(writes).toHaveLength(1);
    const lost = new StoreLockedError({ key: "BTCUSDT:lost-lease", message: "the lease expired" });
    lose?.(lost);
    expect(ended).toBe(lost);
    const callsAtLoss = calls;
    clock.flush(10 * TICK);
    expect(calls).toBe(callsAtLoss);
    expect(writes).toHaveLength(1);
    expect(lose).toBeUndefined(); // the stream stopped listening
  });
});

describe("subscribe(); unsubscribe(); subscribe() in one turn (9.4)", () => {
  it("on fileStore, the second stream waits for the first's release and runs, holding the key", async () => {
    const clock = new VirtualClock(0);
    const errors: Error[] = [];
    cleanups.push(listenError((e) => errors.push(e)));
    const store = fileStore(dir);
    const live$ = liveTrade$("BTCUSDT", openOnce("strict-mode"), { exchange: replayExchange(candles, clock), store, scheduler: clock, config });
    live$.subscribe().unsubscribe();
    const results: string[] = [];
    let ended: unknown;
    const second = live$.subscribe({ next: (r) => results.push(r.action), error: (e) => (ended = e) });
    cleanups.push(() => second.unsubscribe());
    const lockFile = `${store.pathOf("BTCUSDT:strict-mode")}.lock`;
    await until(async () => (await clock.flushAsync(clock.now()), results.length > 0 || ended !== undefined));
    expect(ended).toBeUndefined();
    expect(errors).toEqual([]);
    expect(results).toEqual(["opened"]);
    expect(await exists(lockFile)).toBe(true);
    second.unsubscribe();
    expect(await readdir(dir)).not.toContain(`${store.pathOf("BTCUSDT:strict-mode").split("/").pop()}.lock`);
  });
});
