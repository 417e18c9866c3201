import { Subject, take, timer, toArray } from "rxjs";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { acceleratedScheduler, batchedScheduler, liveTrade$, memoryStore, replayExchange, type StrategySchema } from "rxtrade";
import { candlesFromPrices } from "rxtrade/testing";

// Both schedulers run on the runtime's timers and clock; vitest's fake timers make them virtual.
beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000, toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date", "performance"] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("batchedScheduler", () => {
  it("runs timer(0, 1000) at the same times as asyncScheduler would", () => {
    const scheduler = batchedScheduler();
    const seen: number[] = [];
    timer(0, 1000, scheduler)
      .pipe(take(4))
      .subscribe(() => seen.push(scheduler.now() - 1_000_000));
    vi.advanceTimersByTime(3500);
    expect(seen).toEqual([0, 1000, 2000, 3000]);
  });

  it("actions due in the same millisecond share one runtime timer", () => {
    const scheduler = batchedScheduler();
    const setTimeoutSpy = vi.spyOn(globalThis, "setTimeout");
    let runs = 0;
    for (let i = 0; i < 1000; i++) scheduler.schedule(() => runs++, 50);
    expect(setTimeoutSpy).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(49);
    expect(runs).toBe(0);
    vi.advanceTimersByTime(1);
    expect(runs).toBe(1000);
    setTimeoutSpy.mockRestore();
  });

  it("a cancelled action does not run; a rescheduled one runs once, at its new time", () => {
    const scheduler = batchedScheduler();
    const runs: string[] = [];
    const cancelled = scheduler.schedule(() => runs.push("cancelled"), 10);
    const moved = scheduler.schedule(function () {
      runs.push(`moved at ${scheduler.now() - 1_000_000}`);
    }, 10);
    cancelled.unsubscribe();
    (moved as unknown as { schedule(state?: unknown, delay?: number): void }).schedule(undefined, 30);
    (moved as unknown as { schedule(state?: unknown, delay?: number): void }).schedule(undefined, 30);
    vi.advanceTimersByTime(100);
    expect(runs).toEqual(["moved at 30"]);
  });

  it("an action that throws does not stop the others of its batch; the error is thrown on its own", () => {
    const scheduler = batchedScheduler();
    const runs: number[] = [];
    scheduler.schedule(() => runs.push(1), 5);
    scheduler.schedule(() => {
      throw new Error("boom");
    }, 5);
    scheduler.schedule(() => runs.push(3), 5);
    expect(() => vi.advanceTimersByTime(5)).not.toThrow();
    expect(runs).toEqual([1, 3]);
    expect(() => vi.advanceTimersByTime(1)).toThrow("boom");
  });

  it("drives liveTrade$: a signal opens and closes by take profit", () => {
    const scheduler = batchedScheduler();
    const start = Date.now();
    // Flat candles, one a minute, from 10 minutes before now: 100 until minute 12, then 102.
    const prices = Array.from({ length: 40 }, (_, minute) => (minute < 12 ? 100 : 102));
    const exchange = replayExchange(candlesFromPrices(prices, { start: start - 10 * 60_000 }), scheduler);
    let calls = 0;
    const strategy: StrategySchema = {
      strategyName: "batched",
      interval: "1m",
      getSignal: (_s, _w, { currentPrice }) =>
        calls++ === 0 ? { position: "long", priceTakeProfit: currentPrice * 1.01, priceStopLoss: currentPrice * 0.99, minuteEstimatedTime: 60 } : null,
    };
    const results: string[] = [];
    const stop$ = new Subject<void>();
    liveTrade$("BTCUSDT", strategy, { exchange, scheduler, stop$, store: memoryStore(), config: { CC_AVG_PRICE_CANDLES_COUNT: 1 } }).subscribe({
      next: (r) => results.push(`${r.action} ${r.currentPrice} @${Math.round((r.timestamp - start) / 60_001)}`),
      complete: () => results.push("complete"),
    });
    vi.advanceTimersByTime(5 * 60_001);
    stop$.next();
    expect(results).toEqual(["opened 100 @0", "closed 101 @3", "complete"]);
  });
});

describe("acceleratedScheduler", () => {
  it("runs its clock `speed` times faster from `origin`, timers included", async () => {
    const scheduler = acceleratedScheduler({ origin: 0, speed: 60 });
    const seen: number[] = [];
    const done = timer(0, 60_000, scheduler).pipe(take(3), toArray()).toPromise();
    timer(0, 60_000, scheduler)
      .pipe(take(3))
      .subscribe(() => seen.push(scheduler.now()));
    vi.advanceTimersByTime(2000); // 2 real seconds = 2 simulated minutes
    expect(seen).toEqual([0, 60_000, 120_000]);
    await expect(done).resolves.toEqual([0, 1, 2]);
  });

  it("keeps time with a sub-millisecond clock: sped up 36,000x, a millisecond clock would move in 36 s steps", () => {
    vi.useRealTimers();
    const readings = [5000, 5000.25, 5000.5];
    const spy = vi.spyOn(performance, "now").mockImplementation(() => readings.shift() ?? 5000.5);
    const scheduler = acceleratedScheduler({ origin: 0, speed: 36_000 }); // 600 simulated minutes per second
    expect(scheduler.now()).toBe(9_000); // 0.25 real ms later
    expect(scheduler.now()).toBe(18_000);
    spy.mockRestore();
  });

  it("rejects a speed or origin that is not a finite positive number", () => {
    expect(() => acceleratedScheduler({ origin: 0, speed: 0 })).toThrow("speed (0) must be a finite number > 0");
    expect(() => acceleratedScheduler({ origin: Number.NaN, speed: 1 })).toThrow("origin (NaN)");
  });
});
