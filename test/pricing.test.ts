import { describe, expect, it } from "vitest";
import { ExchangeError, vwapPrice, windowStart, type Candle } from "rxtrade";

const M = 60_000;
const BASE = 28_333_333 * M; // a minute boundary (2023-11-14T22:13:00Z)
const ctx = { symbol: "BTCUSDT", exchangeName: "ex1" };

function candle(minute: number, high: number, low: number, close: number, volume: number): Candle {
  return { timestamp: BASE + minute * M, open: close, high, low, close, volume };
}

// Typical prices (H+L+C)/3: 100, 103, 108; volumes 1, 2, 1.
const c0 = candle(0, 102, 98, 100, 1);
const c1 = candle(1, 106, 100, 103, 2);
const c2 = candle(2, 111, 105, 108, 1);
const three = [c0, c1, c2];

/** Calls vwapPrice, expects an ExchangeError and returns it. */
function exchangeError(fn: () => unknown): ExchangeError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ExchangeError);
    return error as ExchangeError;
  }
  throw new Error("expected an ExchangeError, nothing was thrown");
}

describe("windowStart", () => {
  it.each([
    // now on a minute boundary: the candle that opened one minute ago has just closed
    [BASE + 10 * M, 5, BASE + 5 * M],
    [BASE + 10 * M, 1, BASE + 9 * M],
    // mid-minute: the running minute (open BASE + 10M) is not closed yet
    [BASE + 10 * M + 30_000, 5, BASE + 5 * M],
    [BASE + 10 * M + 59_999, 1, BASE + 9 * M],
    [BASE + 11 * M - 1, 3, BASE + 7 * M],
  ])("windowStart(%s, %s) = %s", (now, count, expected) => {
    expect(windowStart(now, count)).toBe(expected);
  });
});

describe("vwapPrice", () => {
  it("is the volume-weighted typical price of the closed candles", () => {
    // (100 x 1 + 103 x 2 + 108 x 1) / (1 + 2 + 1) = 414 / 4 = 103.5
    const now = BASE + 3 * M;
    expect(vwapPrice(three, now, windowStart(now, 5), 5, ctx)).toBe(103.5);
  });

  it("uses only the last `count` closed candles", () => {
    // count 2: (103 x 2 + 108 x 1) / 3 = 314 / 3
    const now = BASE + 3 * M;
    expect(vwapPrice(three, now, windowStart(now, 5), 2, ctx)).toBeCloseTo(314 / 3, 10);
    // count 1: the last candle's typical price
    expect(vwapPrice(three, now, windowStart(now, 5), 1, ctx)).toBe(108);
  });

  it("falls back to the mean of closes when the total volume is 0", () => {
    const flat = three.map((c) => ({ ...c, volume: 0 }));
    const now = BASE + 3 * M;
    // (100 + 103 + 108) / 3 = 311 / 3
    expect(vwapPrice(flat, now, windowStart(now, 5), 5, ctx)).toBeCloseTo(311 / 3, 10);
  });

  it("ignores a candle that has not closed (open + 60000 > now)", () => {
    const running = candle(3, 1000, 900, 950, 100);
    const candles = [...three, running];
    // one ms before it closes: still 103.5
    expect(vwapPrice(candles, BASE + 4 * M - 1, BASE, 5, ctx)).toBe(103.5);
    // once it has closed (open + 60000 = now) it dominates: (414 + 950 x 100) / 104
    expect(vwapPrice(candles, BASE + 4 * M, BASE, 5, ctx)).toBeCloseTo((414 + 95_000) / 104, 10);
  });

  it("ignores candles that open before `since`", () => {
    const now = BASE + 3 * M;
    // since = c1's open: (103 x 2 + 108 x 1) / 3 = 314 / 3
    expect(vwapPrice(three, now, BASE + M, 5, ctx)).toBeCloseTo(314 / 3, 10);
  });

  it("does not check a broken candle outside the window", () => {
    const broken = { ...candle(-1, 100, 100, 100, 1), close: Number.NaN };
    const now = BASE + 3 * M;
    expect(vwapPrice([broken, ...three], now, BASE, 5, ctx)).toBe(103.5);
  });

  it.each([
    ["no candles", [] as Candle[], BASE + 3 * M, BASE],
    ["only an unclosed candle", [candle(3, 101, 99, 100, 1)], BASE + 3 * M + 30_000, BASE],
    ["only candles before since", three, BASE + 3 * M, BASE + 3 * M],
  ])("%s -> ExchangeError naming the symbol", (_name, candles, now, since) => {
    const error = exchangeError(() => vwapPrice(candles, now, since, 5, ctx));
    expect(error.name).toBe("ExchangeError");
    expect(error.message).toContain("BTCUSDT");
    expect(error.symbol).toBe("BTCUSDT");
  });
});

describe("vwapPrice: broken candles -> ExchangeError naming the symbol and the candle", () => {
  const bad = (minute: number, patch: Partial<Candle>): Candle => ({ ...candle(minute, 101, 99, 100, 1), ...patch });
  const now = BASE + 5 * M;

  it.each([
    ["NaN close", bad(4, { close: Number.NaN })],
    ["NaN volume", bad(4, { volume: Number.NaN })],
    ["Infinity high", bad(4, { high: Number.POSITIVE_INFINITY })],
    ["price 0 (low)", bad(4, { low: 0 })],
    ["price 0 (open)", bad(4, { open: 0 })],
    ["negative price", bad(4, { close: -5 })],
    ["negative volume", bad(4, { volume: -1 })],
    // median close 100 -> floor 0.1; a low of 0.05 is a broken print
    ["a price below 1/1000 of the median close", bad(4, { low: 0.05 })],
    ["a close below 1/1000 of the median close", bad(4, { close: 0.09, low: 0.09 })],
  ])("%s", (_name, broken) => {
    const candles = [bad(0, {}), bad(1, {}), bad(2, {}), bad(3, {}), broken];
    const error = exchangeError(() => vwapPrice(candles, now, windowStart(now, 5), 5, ctx));
    expect(error.message).toContain("BTCUSDT");
    expect(error.message).toContain("ex1");
    expect(error.message).toContain(`timestamp: ${BASE + 4 * M}`);
    expect(error.symbol).toBe("BTCUSDT");
    expect(error.exchangeName).toBe("ex1");
  });

  it("a value that is not finite is shown as it is (not as JSON's null)", () => {
    const candles = [bad(0, {}), bad(1, {}), bad(2, {}), bad(3, {}), bad(4, { close: Number.NaN, high: Number.POSITIVE_INFINITY })];
    const error = exchangeError(() => vwapPrice(candles, now, windowStart(now, 5), 5, ctx));
    expect(error.message).toContain("close: NaN");
    expect(error.message).toContain("high: Infinity");
  });

  it("the 1/1000 rule names the median close", () => {
    const candles = [bad(0, {}), bad(1, {}), bad(2, {}), bad(3, {}), bad(4, { low: 0.05 })];
    const error = exchangeError(() => vwapPrice(candles, now, windowStart(now, 5), 5, ctx));
    expect(error.message).toContain("median close (100)");
    expect(error.message).toContain("low: 0.05");
  });

  it("a price exactly 1/1000 of the median close is accepted", () => {
    // closes 100 x 5 -> floor 0.1; low 0.1 is allowed; typical (101 + 0.1 + 100) / 3
    const candles = [bad(0, {}), bad(1, {}), bad(2, {}), bad(3, {}), bad(4, { low: 0.1 })];
    const expected = (4 * ((101 + 99 + 100) / 3) + (101 + 0.1 + 100) / 3) / 5;
    expect(vwapPrice(candles, now, windowStart(now, 5), 5, ctx)).toBeCloseTo(expected, 10);
  });
});
