// The moving-average cross on one-minute candles, on a VirtualClock. The strategy reads its
// candles with ctx.candles$, which answers synchronously on a replay, so clock.flush would do;
// flushAsync (used here) also runs it against an exchange that answers with Promises.
// examples/marble-testing/maCross.test.ts marble-tests it on 5m candles.
import { Subject } from "rxjs";
import { describe, expect, it } from "vitest";
import { liveTrade$, replayExchange } from "rxtrade";
import { candlesFromPrices, VirtualClock } from "rxtrade/testing";
import { maCrossStrategy } from "./maCross";

const TICK = 60_001;
// The tick at k x 60001 ms sees the price of minute k (candles start a minute early).
const config = { CC_AVG_PRICE_CANDLES_COUNT: 1 };

/** Runs the strategy over one-minute prices and stops at `stopTick`; returns its trades by tick. */
async function trades(prices: number[], stopTick: number): Promise<string[]> {
  const clock = new VirtualClock(0);
  const stop$ = new Subject<void>();
  const exchange = replayExchange(candlesFromPrices(prices, { start: -60_000 }), clock);
  const strategy = maCrossStrategy({ candles: "1m", fast: 2, slow: 4 });
  const out: string[] = [];
  liveTrade$("BTCUSDT", strategy, { exchange, scheduler: clock, stop$, config }).subscribe((r) => {
    const price = Number(r.currentPrice.toFixed(6)); // 99.693, not 99.69299999999998
    const what = r.action === "closed" ? `${r.closeReason} @${price}` : `${r.signal.position} @${price}`;
    out.push(`tick ${r.timestamp / TICK}: ${r.action} ${what}`);
  });
  clock.schedule(() => stop$.next(), stopTick * TICK);
  await clock.flushAsync();
  return out;
}

describe("ma-cross strategy", () => {
  it("goes long when SMA2 crosses above SMA4 and takes profit at +1 %", async () => {
    //            minute: 0 … 9 flat, 10 … 14 lower, then up
    const prices = [...Array(10).fill(100), ...Array(5).fill(99), 101, 102, 103, 103, 103];
    // Tick 15 sees [99, 99, 99, 99, 101]: SMA2 was 99 = SMA4 (not above), now 100 > 99.5 -> long
    // at 101, TP 102.01, SL 100.293. Tick 17 sees 103 >= TP: closed at exactly 102.01. The fall
    // at minute 10 is no cross: the averages go from equal to below.
    expect(await trades(prices, 19)).toEqual(["tick 15: opened long @101", "tick 17: closed take_profit @102.01"]);
  });

  it("goes short when SMA2 crosses below SMA4 and is stopped out", async () => {
    //            minute: 0 … 9 rising by 0.1, then a drop and a rebound
    const prices = [...Array.from({ length: 10 }, (_, i) => 100 + i / 10), 99, 99.8, 99.8];
    // Rising, SMA2 stays above SMA4: no cross, no signal. Tick 10 sees 99: SMA2 99.95 < SMA4 100.1
    // -> short at 99, TP 98.01, SL 99.693. Tick 11 sees 99.8 >= SL: closed at exactly 99.693.
    expect(await trades(prices, 12)).toEqual(["tick 10: opened short @99", "tick 11: closed stop_loss @99.693"]);
  });

  it("refuses averages that cannot cross", () => {
    expect(() => maCrossStrategy({ fast: 21, slow: 9 })).toThrow("ma-cross: fast (21) and slow (9) must be integers with 1 <= fast < slow");
  });
});
