// Candles are put in time order; a duplicated or impossible candle is a CandleDataError; a
// forming candle never enters the VWAP (issue 9, item 10).
import { afterEach, describe, expect, it } from "vitest";
import {
  CandleDataError,
  ExchangeError,
  listenError,
  liveTrade$,
  vwapPrice,
  windowStart,
  type Candle,
  type ExchangeSchema,
  type StrategySchema,
} from "rxtrade";
import { VirtualClock } from "rxtrade/testing";
// Not (yet) re-exported from the root entry.
import { normalizeCandles } from "../src/pricing";

const M = 60_000;
const BASE = 28_333_333 * M; // a minute boundary (2023-11-14T22:13:00Z)
const ctx = { symbol: "BTCUSDT", strategyName: "s1", exchangeName: "ex1" };

function candle(minute: number, high: number, low: number, close: number, volume: number, open = close): Candle {
  return { timestamp: BASE + minute * M, open, high, low, close, volume };
}

// Typical prices (H+L+C)/3: 100, 103, 108; volumes 1, 2, 1 -> VWAP 414 / 4 = 103.5.
const c0 = candle(0, 102, 98, 100, 1);
const c1 = candle(1, 106, 100, 103, 2);
const c2 = candle(2, 111, 105, 108, 1);
// The minute that opened at BASE + 3 min, still forming 30 s later: typical 500, volume 2.
const forming = candle(3, 510, 490, 500, 2);
const NOW = BASE + 3 * M + 30_000;

/** Runs fn, expects a CandleDataError and returns it. */
function candleDataError(fn: () => unknown): CandleDataError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CandleDataError);
    return error as CandleDataError;
  }
  throw new Error("expected a CandleDataError, nothing was thrown");
}

describe("vwapPrice: order, duplicates and impossible candles", () => {
  it("newest-first input with a forming candle is priced from the closed candles only: 103.5 (0.1.0: 235.67)", () => {
    const newestFirst = [forming, c2, c1, c0];
    // 0.1.0 took the forming candle for a closed one: (414 + 500 x 2) / 6 = 235.67.
    expect(vwapPrice(newestFirst, NOW, windowStart(NOW, 5), 5, ctx)).toBe(103.5);
    expect(newestFirst).toEqual([forming, c2, c1, c0]);
  });

  it("shuffled input gives the price of the ordered input", () => {
    const now = BASE + 3 * M;
    expect(vwapPrice([c1, c0, c2], now, windowStart(now, 5), 5, ctx)).toBe(103.5);
    // count 2 takes the newest two closed candles, whatever the input order: (206 + 108) / 3
    expect(vwapPrice([c2, c0, c1], now, windowStart(now, 5), 2, ctx)).toBeCloseTo(314 / 3, 12);
  });

  it("a duplicated candle is refused, not counted twice (0.1.0: 103.33)", () => {
    const now = BASE + 3 * M;
    const error = candleDataError(() => vwapPrice([c0, c1, c1, c2], now, windowStart(now, 5), 5, ctx));
    expect(error.message).toContain(`two candles with open time ${BASE + M}`);
    expect(error.message).toContain(`{ timestamp: ${BASE + M}, open: 103, high: 106, low: 100, close: 103, volume: 2 }`);
    expect(error.message).toContain("ex1 for BTCUSDT");
  });

  it.each([
    ["high < low", candle(2, 105, 111, 108, 1), "high must be >= low"],
    ["a close above high", candle(2, 111, 105, 112, 1, 108), "open and close must lie within [low, high]"],
    ["a close below low", candle(2, 111, 105, 104, 1, 108), "open and close must lie within [low, high]"],
    ["an open above high", candle(2, 111, 105, 108, 1, 111.5), "open and close must lie within [low, high]"],
    ["an open below low", candle(2, 111, 105, 108, 1, 99), "open and close must lie within [low, high]"],
  ])("an impossible candle (%s) is refused (0.1.0 priced it)", (_name, impossible, rule) => {
    const now = BASE + 3 * M;
    const error = candleDataError(() => vwapPrice([c0, c1, impossible], now, windowStart(now, 5), 5, ctx));
    expect(error.message).toContain(`impossible candle from ex1 for BTCUSDT: { timestamp: ${BASE + 2 * M}, open: ${impossible.open}, high: ${impossible.high}`);
    expect(error.message).toContain(`(${rule})`);
    expect(error).toMatchObject({ name: "CandleDataError", symbol: "BTCUSDT", strategyName: "s1", exchangeName: "ex1" });
  });

  it("a price that is not finite or not > 0 stays the ExchangeError of the window check, and is ignored outside the window", () => {
    const now = BASE + 3 * M;
    const zeroOpen = { ...c2, open: 0 };
    expect(() => vwapPrice([c0, c1, zeroOpen], now, BASE, 5, ctx)).toThrow(ExchangeError);
    // open 0 (outside [low, high] too) in a candle before `since`: not looked at, as before.
    expect(vwapPrice([{ ...c0, open: 0 }, c1, c2], now, BASE + M, 5, ctx)).toBeCloseTo(314 / 3, 12);
  });
});

describe("normalizeCandles", () => {
  it("returns the same array (no copy) when it is already in ascending order", () => {
    const ascending = [c0, c1, c2, forming];
    expect(normalizeCandles(ascending, ctx)).toBe(ascending);
    const empty: Candle[] = [];
    expect(normalizeCandles(empty, ctx)).toBe(empty);
  });

  it("returns a sorted copy of newest-first or shuffled input and leaves the input alone", () => {
    const newestFirst = [forming, c2, c1, c0];
    const sorted = normalizeCandles(newestFirst, ctx);
    expect(sorted).not.toBe(newestFirst);
    expect(sorted).toEqual([c0, c1, c2, forming]);
    expect(newestFirst).toEqual([forming, c2, c1, c0]);
    expect(normalizeCandles([c2, c0, forming, c1], ctx)).toEqual([c0, c1, c2, forming]);
  });

  it("refuses a repeated open time, adjacent or not, even with other values", () => {
    expect(candleDataError(() => normalizeCandles([c0, c1, c1], ctx)).message).toContain(`open time ${BASE + M}`);
    const twin = { ...c0, close: 101, high: 103 };
    const error = candleDataError(() => normalizeCandles([c0, c2, c1, twin], ctx));
    expect(error.message).toContain(`two candles with open time ${BASE} (2023-11-14T22:13:00.000Z)`);
    expect(error.message).toContain("each open time must appear once");
  });

  it("refuses an impossible candle anywhere in the input, the forming one included", () => {
    const badForming = candle(3, 490, 510, 500, 2);
    expect(candleDataError(() => normalizeCandles([c0, c1, c2, badForming], ctx)).message).toContain("high: 490, low: 510");
    expect(candleDataError(() => normalizeCandles([badForming, c2, c1, c0], ctx)).message).toContain("(high must be >= low)");
  });

  it("refuses an entry that cannot be put in order", () => {
    const nan = { ...c1, timestamp: Number.NaN };
    expect(candleDataError(() => normalizeCandles([c0, nan, c2], ctx)).message).toContain("timestamp: NaN");
    expect(candleDataError(() => normalizeCandles([c0, { ...c1, timestamp: Number.POSITIVE_INFINITY }], ctx)).message).toContain(
      "not a candle with a finite open time",
    );
    expect(candleDataError(() => normalizeCandles([c0, null as unknown as Candle], ctx)).message).toContain("sent null");
  });

  it("candles touching their range (open = high, close = low, a flat candle) are possible", () => {
    const edges = [candle(0, 100, 99, 99, 1, 100), candle(1, 100, 100, 100, 0)];
    expect(normalizeCandles(edges, ctx)).toBe(edges);
  });
});

describe("through liveTrade$", () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const off of cleanups.splice(0)) off();
  });

  function fixedExchange(candles: Candle[]): ExchangeSchema {
    return { exchangeName: "newest-first", getCandles: () => candles.slice() };
  }

  it("a newest-first exchange with a forming candle: the strategy sees 103.5 and opens there", () => {
    const clock = new VirtualClock(NOW);
    const prices: number[] = [];
    const strategy: StrategySchema = {
      strategyName: "sees-vwap",
      interval: "1m",
      getSignal: (_symbol, _when, { currentPrice }) => {
        prices.push(currentPrice);
        return { id: "V1", position: "long", priceTakeProfit: 110, priceStopLoss: 100, minuteEstimatedTime: 60 };
      },
    };
    const opened: number[] = [];
    const subscription = liveTrade$("BTCUSDT", strategy, { exchange: fixedExchange([forming, c2, c1, c0]), scheduler: clock }).subscribe(
      (r) => r.action === "opened" && opened.push(r.signal.priceOpen),
    );
    clock.flush(NOW);
    subscription.unsubscribe();
    expect(prices).toEqual([103.5]);
    expect(opened).toEqual([103.5]);
  });

  it("a duplicated candle: error$ reports the CandleDataError, the strategy is not asked", () => {
    const clock = new VirtualClock(BASE + 3 * M);
    const errors: Error[] = [];
    cleanups.push(listenError((e) => errors.push(e)));
    let asked = 0;
    const strategy: StrategySchema = { strategyName: "dup", interval: "1m", getSignal: () => (asked++, null) };
    const subscription = liveTrade$("BTCUSDT", strategy, {
      exchange: fixedExchange([c0, c1, c1, c2]),
      scheduler: clock,
      config: { CC_GET_CANDLES_RETRY_COUNT: 1 },
    }).subscribe({ error: () => {} });
    clock.flush(BASE + 3 * M);
    subscription.unsubscribe();
    expect(asked).toBe(0);
    expect(errors).toHaveLength(1);
    // The engine reports a failed getCandles (ExchangeError); the refusal is in its cause chain.
    const chain: unknown[] = [];
    for (let e: unknown = errors[0]; e instanceof Error; e = e.cause) chain.push(e);
    expect(chain.some((e) => e instanceof CandleDataError)).toBe(true);
    expect(errors[0]?.message).toContain(`two candles with open time ${BASE + M}`);
  });
});
