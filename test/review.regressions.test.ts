// Regressions found in review: the strategy's interval and a graceful stop both hold across a
// tick error's retry; the replay exchange never serves an unclosed candle at fractional times.
import { Subject } from "rxjs";
import { describe, expect, it } from "vitest";
import { type Candle, listenDoneLive, liveTicks$, replayExchange, type ExchangeSchema, type StrategySchema } from "rxtrade";
import { candlesFromPrices, VirtualClock } from "rxtrade/testing";

const TICK = 60_001;
const START = 600_000;

function failingOnce(clock: VirtualClock, at: number): ExchangeSchema {
  const replay = replayExchange(candlesFromPrices(Array(200).fill(100), { start: 0 }), clock);
  return {
    exchangeName: "flaky",
    getCandles(symbol, interval, since, limit) {
      if (clock.now() === at) throw new Error("exchange down");
      return replay.getCandles(symbol, interval, since, limit);
    },
  };
}

describe("across a tick error's retry", () => {
  it("getSignal keeps to its interval", () => {
    const clock = new VirtualClock(START);
    const calls: number[] = [];
    const strategy: StrategySchema = {
      strategyName: "review-throttle",
      interval: "5m",
      getSignal: (_s, when) => (calls.push(when.getTime() - START), null),
    };
    const stop$ = new Subject<void>();
    liveTicks$("BTCUSDT", strategy, {
      exchange: failingOnce(clock, START + TICK),
      scheduler: clock,
      stop$,
      config: { CC_GET_CANDLES_RETRY_COUNT: 1 },
    }).subscribe({ error: () => {} });
    clock.flush(START + 8 * TICK);
    stop$.next();
    // Tick 1 fails; the retry resubscribes at 2 x 60001 and must not ask again before 5 minutes.
    expect(calls).toEqual([0, 5 * TICK]);
  });

  it("a stop while the retry waits, with nothing open, ends the stream at once", () => {
    const clock = new VirtualClock(START);
    const strategy: StrategySchema = { strategyName: "review-stop", interval: "1m", getSignal: () => null };
    const stop$ = new Subject<void>();
    const done: number[] = [];
    const unlisten = listenDoneLive((e) => e.strategyName === "review-stop" && done.push(clock.now() - START));
    let completedAt: number | undefined;
    liveTicks$("BTCUSDT", strategy, {
      exchange: failingOnce(clock, START + TICK),
      scheduler: clock,
      stop$,
      config: { CC_GET_CANDLES_RETRY_COUNT: 1 },
    }).subscribe({ complete: () => (completedAt = clock.now() - START) });
    clock.schedule(() => stop$.next(), TICK + 10);
    clock.flush(START + 5 * TICK);
    unlisten();
    expect(completedAt).toBe(TICK + 10);
    expect(done).toEqual([TICK + 10]);
  });
});

describe("replayExchange at fractional times", () => {
  it("serves only candles that have closed: timestamp + width <= now", () => {
    let now = 119_999.5;
    const exchange = replayExchange(candlesFromPrices([1, 2, 3, 4], { start: 0 }), { now: () => now });
    const served = () => (exchange.getCandles("X", "1m", new Date(0), 10) as Candle[]).map((c) => c.timestamp);
    expect(served()).toEqual([0]);
    now = 120_000;
    expect(served()).toEqual([0, 60_000]);
  });
});
