// A graceful stop that arrives while a tick is in flight — its new signal still being written
// to a slow store — must not end the stream before that signal is reported, monitored and
// closed; nothing may be left in the store unreported.
import { Subject } from "rxjs";
import { describe, expect, it } from "vitest";
import { liveTrade$, memoryStore, replayExchange, type SignalStore, type StrategySchema, type TickResult, listenDoneLive } from "rxtrade";
import { candlesFromPrices, VirtualClock } from "rxtrade/testing";

const TICK = 60_001;

describe("a stop while a new signal is being written", () => {
  it("waits for the write, reports the signal, and ends only after it closes", async () => {
    // The writes settle only in virtual time: flushAsync need not wait its default grace (1 s) for them.
    const clock = new VirtualClock(0, { callGraceMs: 10 });
    // Candle k opens at (k - 10) minutes: 100 up to minute 4, then 102 (above the take profit of 101).
    const prices = Array.from({ length: 30 }, (_, k) => (k < 15 ? 100 : 102));
    const exchange = replayExchange(candlesFromPrices(prices, { start: -10 * 60_000 }), clock);
    const inner = memoryStore();
    // Writes land 30 s (virtual) after they are asked for.
    const store: SignalStore = {
      read: (key) => inner.read(key),
      write: (key, value) =>
        new Promise<void>((resolve) => {
          clock.schedule(() => {
            inner.write(key, value);
            resolve();
          }, 30_000);
        }),
    };
    let calls = 0;
    const strategy: StrategySchema = {
      strategyName: "slow-store",
      interval: "1m",
      getSignal: (_s, _w, { currentPrice }) =>
        ++calls === 2 ? { id: "S1", position: "long", priceTakeProfit: currentPrice * 1.01, priceStopLoss: currentPrice * 0.99, minuteEstimatedTime: 60 } : null,
    };
    const stop$ = new Subject<void>();
    const seen: string[] = [];
    const done: number[] = [];
    const unlisten = listenDoneLive((e) => e.strategyName === "slow-store" && done.push(clock.now()));
    liveTrade$("BTCUSDT", strategy, { exchange, store, stop$, scheduler: clock, config: { CC_AVG_PRICE_CANDLES_COUNT: 1 } }).subscribe({
      next: (r: TickResult) => seen.push(`${r.action} ${r.signal?.id} @${clock.now()}`),
      complete: () => seen.push(`complete @${clock.now()}`),
    });
    // Tick 0 idle; tick 1 (60001) opens S1 and asks the store to write it (lands at 90001).
    clock.schedule(() => stop$.next(), TICK + 10_000); // the stop comes while the write is pending
    await clock.flushAsync(40 * TICK);
    unlisten();

    // The open is reported once written; the stop lets S1 run to its take profit (tick 6 sees 102).
    expect(seen).toEqual([`opened S1 @${TICK + 30_000}`, `closed S1 @${6 * TICK + 30_000}`, `complete @${6 * TICK + 30_000}`]);
    expect(calls).toBe(2); // no signal asked for after the stop
    expect(inner.read("BTCUSDT:slow-store")).toBeNull(); // nothing stranded in the store
    expect(done).toEqual([6 * TICK + 30_000]);
  });
});
