// Issue 9, items 1, 2 and 9: a stop requested from inside a tick's delivery, a stop while a slow
// write is pending, and a stop$ that errors. Every test here failed on 0.1.0.
import { defer, map, Subject, timer } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import {
  addExchange,
  addStrategy,
  Live,
  listenDoneLive,
  listenError,
  listenSignal,
  listenSignalLive,
  liveTrade$,
  memoryStore,
  replayExchange,
  type SignalStore,
  type StrategySchema,
  type TickResult,
} from "rxtrade";
import { candlesFromPrices, VirtualClock } from "rxtrade/testing";

const TICK = 60_001;
const config = { CC_AVG_PRICE_CANDLES_COUNT: 1 };
// Candle k opens at (k - 10) minutes: 100 up to minute 2, then 102 (above the take profit of 101).
const prices = Array.from({ length: 60 }, (_, k) => (k < 13 ? 100 : 102));
const LONG = { id: "L1", position: "long" as const, priceTakeProfit: 101, priceStopLoss: 99, minuteEstimatedTime: 60 };

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()?.();
});

type StopFrom = "onClose" | "onWrite" | "onTick" | "signal$" | "signalLive$";

function strategyThatStopsFrom(name: string, where: StopFrom, stop: () => void, log: string[]): StrategySchema {
  let asked = 0;
  const closing = (r: TickResult) => r.action === "closed" && r.strategyName === name;
  if (where === "signal$") cleanups.push(listenSignal((r) => closing(r) && stop()));
  if (where === "signalLive$") cleanups.push(listenSignalLive((r) => closing(r) && stop()));
  cleanups.push(listenSignal((r) => r.strategyName === name && r.action === "closed" && log.push("signal$")));
  cleanups.push(listenSignalLive((r) => r.strategyName === name && r.action === "closed" && log.push("signalLive$")));
  return {
    strategyName: name,
    interval: "1m",
    getSignal: () => (asked++ === 0 ? LONG : null),
    callbacks: {
      onWrite(_symbol, signal) {
        if (signal !== null) return;
        log.push("onWrite");
        if (where === "onWrite") stop();
      },
      onClose() {
        log.push("onClose");
        if (where === "onClose") stop();
      },
      onTick(_symbol, result) {
        if (result.action !== "closed") return;
        log.push("onTick");
        if (where === "onTick") stop();
      },
    },
  };
}

describe("a stop requested inside the closing tick's delivery (9.1)", () => {
  it.each<StopFrom>(["onClose", "onWrite", "onTick", "signal$", "signalLive$"])(
    "from %s: the close is delivered whole — store, callbacks, events, the stream — then the stream completes and doneLive$ comes last",
    (where) => {
      const clock = new VirtualClock(0);
      const name = `stop-from-${where}`;
      const store = memoryStore();
      const stop$ = new Subject<void>();
      const log: string[] = [];
      const strategy = strategyThatStopsFrom(name, where, () => stop$.next(), log);
      cleanups.push(listenDoneLive((e) => e.strategyName === name && log.push("doneLive$")));
      const exchange = replayExchange(candlesFromPrices(prices, { start: -10 * 60_000 }), clock);
      liveTrade$("BTCUSDT", strategy, { exchange, store, stop$, scheduler: clock, config }).subscribe({
        next: (r) => log.push(`stream ${r.action}`),
        complete: () => log.push("complete"),
      });
      clock.flush(20 * TICK);
      // doneLive$ after the last result (and before the completion reaches the subscriber, as in 0.1.0).
      expect(log).toEqual(["stream opened", "onWrite", "onClose", "onTick", "signal$", "signalLive$", "stream closed", "doneLive$", "complete"]);
      expect(store.read(`BTCUSDT:${name}`)).toBeNull();
    },
  );

  it("Live.stop from onClose (the seed's shutdown pattern): Live.getData counts the close", async () => {
    const clock = new VirtualClock(0);
    const name = "live-stop-onclose";
    const log: string[] = [];
    addExchange(replayExchange(candlesFromPrices(prices, { start: -10 * 60_000 }), clock, { exchangeName: `${name}-ex` }));
    addStrategy(strategyThatStopsFrom(name, "onClose", () => void Live.stop("BTCUSDT", name), log));
    const results: string[] = [];
    Live.run("BTCUSDT", { strategyName: name, exchangeName: `${name}-ex`, scheduler: clock, config, store: memoryStore() }).subscribe({
      next: (r) => results.push(r.action),
      complete: () => results.push("complete"),
    });
    clock.flush(20 * TICK);
    expect(results).toEqual(["opened", "closed", "complete"]);
    const stats = await Live.getData("BTCUSDT", name);
    expect(stats.totalClosed).toBe(1);
    expect((await Live.list()).find((p) => p.strategyName === name)?.status).toBe("done");
  });
});

describe("a graceful stop while a store write is slower than a tick (9.2)", () => {
  // Writes take 90 s of virtual time (1.5 ticks). Stops at every 7 s over ten minutes: whatever the
  // moment, after doneLive$ the store holds exactly what the stream last reported.
  const offsets = Array.from({ length: 90 }, (_, i) => 1_000 + i * 7_000);
  it.each(offsets)("stop at %i ms: nothing unreported is left in the store", (stopAt) => {
    const clock = new VirtualClock(0);
    const inner = memoryStore();
    const store: SignalStore = {
      read: (key) => inner.read(key),
      write: (key, value) => timer(90_000, clock).pipe(map(() => void inner.write(key, value))),
    };
    let asked = 0;
    // A new signal on every ask: whenever nothing is open, one is on its way.
    const strategy: StrategySchema = {
      strategyName: "slow-writes",
      interval: "1m",
      getSignal: (_s, _w, { currentPrice }) => ({ id: `S${++asked}`, position: "long", priceTakeProfit: currentPrice * 1.01, priceStopLoss: currentPrice * 0.99, minuteEstimatedTime: 2 }),
    };
    const stop$ = timer(stopAt, clock);
    let last: TickResult | undefined;
    let done = false;
    let completedAt: number | undefined;
    const unlisten = listenDoneLive((e) => e.strategyName === "slow-writes" && (done = true));
    const exchange = replayExchange(candlesFromPrices(Array.from({ length: 40 }, () => 100), { start: -10 * 60_000 }), clock);
    const slowStore = { ...config, CC_STORE_TIMEOUT_SECONDS: 300 };
    defer(() => liveTrade$("BTCUSDT", strategy, { exchange, store, stop$, scheduler: clock, config: slowStore })).subscribe({
      next: (r) => (last = r),
      complete: () => (completedAt = clock.now()),
    });
    clock.flush(60 * TICK);
    unlisten();
    expect(done).toBe(true);
    expect(completedAt).toBeGreaterThanOrEqual(stopAt);
    const stored = inner.read("BTCUSDT:slow-writes") as { signal?: { id: string } } | null;
    if (last === undefined || last.action === "closed") expect(stored).toBeNull();
    else expect(stored?.signal?.id).toBe(last.signal?.id);
    expect(clock.pending).toBe(0); // no write left in flight either
  });
});

describe("a stop$ that errors (9.9)", () => {
  // Both break 30 s into the open position.
  it.each([
    ["a rejected promise", (clock: VirtualClock) => new Promise((_, reject) => clock.schedule(() => reject(new Error("stop source broke")), 30_000))],
    ["Subject.error", (clock: VirtualClock) => {
      const stop$ = new Subject<void>();
      clock.schedule(() => stop$.error(new Error("stop source broke")), 30_000);
      return stop$;
    }],
  ] as const)("%s: reported on error$ and taken as a stop request; the open signal runs to its close", async (_label, make) => {
    const clock = new VirtualClock(0);
    const errors: string[] = [];
    cleanups.push(listenError((e) => errors.push(e.message)));
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.on("uncaughtException", onUncaught);
    process.on("unhandledRejection", onUncaught);
    cleanups.push(() => {
      process.off("uncaughtException", onUncaught);
      process.off("unhandledRejection", onUncaught);
    });
    let asked = 0;
    const strategy: StrategySchema = { strategyName: "stop-errors", interval: "1m", getSignal: () => (asked++ === 0 ? LONG : null) };
    const results: string[] = [];
    const exchange = replayExchange(candlesFromPrices(prices, { start: -10 * 60_000 }), clock);
    liveTrade$("BTCUSDT", strategy, { exchange, stop$: make(clock), scheduler: clock, config }).subscribe({
      next: (r) => results.push(`${r.action}@${r.timestamp}`),
      complete: () => results.push("complete"),
    });
    await clock.flushAsync(20 * TICK);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(errors).toEqual(["stop source broke"]);
    expect(results).toEqual(["opened@0", `closed@${4 * TICK}`, "complete"]);
    expect(asked).toBe(1);
    expect(uncaught).toEqual([]);
  });
});
