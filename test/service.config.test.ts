// rxtrade/service's config file check: every problem at once, each with its pair (index and
// symbol) and field; and the `bundled` exchange: any symbol, any time, deterministic, shifted
// per symbol, played forward and back so that it never ends nor jumps.
import { describe, expect, it } from "vitest";
import { type Candle } from "rxtrade";
import { bundledExchange, bundledOffset, checkServiceFile, describeProblem, duplicatePairProblems } from "rxtrade/service";
import { candlesFromPrices, VirtualClock } from "rxtrade/testing";

describe("checkServiceFile", () => {
  it("accepts a good file as it is", () => {
    const file = { pairs: [{ symbol: "BTCUSDT", strategy: "momentum", exchange: "bundled", tickMs: 60_001, config: { CC_STALL_TICKS: 3 } }], store: "./data" };
    expect(checkServiceFile(file)).toEqual({ file, problems: [] });
  });

  it("lists every problem of the file, each with its pair and field", () => {
    const { file, problems } = checkServiceFile({
      pair: [],
      store: 5,
      pairs: [
        { symbol: "BTCUSDT", strategy: "momentum", exchange: "bundled", tickMS: 1000 },
        { symbol: "ETHUSDT", strategy: "", exchange: "binance", tickMs: 50, config: { CC_STALL_TICKS: 0, CC_PERCENT_FEE: "0.1", CC_STAL: 3 } },
        "BTCUSDT",
        { strategy: "momentum", exchange: 7, tickMs: 1.5 },
      ],
    });
    expect(file).toBeUndefined();
    expect(problems.map(describeProblem)).toEqual([
      "pair: unknown key; did you mean pairs? (known: pairs, store)",
      'store: must be a folder path (a non-empty string), got 5; e.g. "./.rxtrade"',
      "pairs[0] (BTCUSDT) tickMS: unknown key; did you mean tickMs? (known: symbol, strategy, exchange, tickMs, config)",
      'pairs[1] (ETHUSDT) strategy: must be a non-empty string, got ""; e.g. "momentum"',
      "pairs[1] (ETHUSDT) tickMs: must be a whole number of ms from 100 to 86400000, got 50; e.g. 60001",
      expect.stringMatching(/^pairs\[1\] \(ETHUSDT\) config: unknown key CC_STAL; did you mean CC_STALL_TICKS\? \(known: CC_SCHEDULE_AWAIT_MINUTES, .*CC_STALL_TICKS\)$/),
      'pairs[1] (ETHUSDT) config: CC_PERCENT_FEE ("0.1") must be a finite number >= 0',
      "pairs[1] (ETHUSDT) config: CC_STALL_TICKS (0) must be a positive integer",
      'pairs[2] (pair): must be an object { "symbol", "strategy", "exchange", "tickMs"?, "config"? }, got "BTCUSDT"',
      'pairs[3] symbol: is required, e.g. "symbol": "BTCUSDT"',
      'pairs[3] exchange: must be a non-empty string, got 7; e.g. "bundled"',
      "pairs[3] tickMs: must be a whole number of ms from 100 to 86400000, got 1.5; e.g. 60001",
    ]);
    expect(problems[4]).toEqual({ index: 1, symbol: "ETHUSDT", field: "tickMs", message: "must be a whole number of ms from 100 to 86400000, got 50; e.g. 60001" });
  });

  it("names the file's own shape when it is not an object with pairs", () => {
    expect(checkServiceFile([]).problems.map(describeProblem)).toEqual(['(file): must be a JSON object { "pairs": [ … ], "store"?: "dir" }, got a list']);
    expect(checkServiceFile({}).problems.map(describeProblem)).toEqual(['pairs: is required: a list of { "symbol", "strategy", "exchange", "tickMs"?, "config"? }']);
    expect(checkServiceFile({ pairs: [] }).problems.map(describeProblem)).toEqual([
      'pairs: must be a non-empty list of { "symbol", "strategy", "exchange", "tickMs"?, "config"? }, got an empty list',
    ]);
  });

  it("refuses a second pair with the same id, naming the first", () => {
    const problems = duplicatePairProblems([
      { index: 0, symbol: "BTCUSDT", strategyName: "momentum" },
      { index: 1, symbol: "BTC/USDT", strategyName: "momentum" },
      { index: 2, symbol: "BTCUSDT", strategyName: "ma-cross" },
      { index: 3, symbol: "BTCUSDT", strategyName: "momentum" },
    ]);
    expect(problems.map(describeProblem)).toEqual([
      "pairs[3] (BTCUSDT) strategy: pair id BTCUSDT:momentum is also pairs[0]'s: one pair per symbol and strategy name (their loops would share one store key); remove one, or give one another strategy",
    ]);
  });
});

describe("bundledExchange", () => {
  // Ten minutes of data whose prices say where they come from: open = 100 + i, close = 100.5 + i.
  const data: Candle[] = Array.from({ length: 10 }, (_, i) => ({ timestamp: 1_000 * 60_000 + i * 60_000, open: 100 + i, high: 101 + i, low: 99 + i, close: 100.5 + i, volume: 1 + i }));
  const origin = 1_000 * 60_000;

  it("serves each symbol the data from its own offset, forward then mirrored, only closed candles", () => {
    const offset = bundledOffset("AAA", data.length);
    expect(offset).toBe(bundledOffset("AAA", data.length));
    expect(offset).toBeGreaterThanOrEqual(0);
    expect(offset).toBeLessThan(20);
    // Minute m of AAA is cycle minute (m - origin + offset) mod 20.
    const clock = new VirtualClock(origin + (20 - offset) * 60_000 + 12 * 60_000 + 30_000); // 12.5 minutes into AAA's cycle
    const exchange = bundledExchange(data, clock);
    expect(exchange.exchangeName).toBe("bundled");
    const since = new Date(clock.now() - 13 * 60_000);
    const candles = exchange.getCandles("AAA", "1m", since, 100) as Candle[];
    // Closed: cycle minutes 0 … 11 (minute 12 is still open).
    expect(candles.map((c) => c.open)).toEqual([100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 109.5, 108.5]);
    expect(candles.map((c) => c.close)).toEqual([100.5, 101.5, 102.5, 103.5, 104.5, 105.5, 106.5, 107.5, 108.5, 109.5, 109, 108]);
    // No jump where it turns: each candle opens where the one before closed, at the seam.
    expect(candles[10]!.open).toBe(candles[9]!.close);
    expect(candles[10]).toMatchObject({ high: 110, low: 108, volume: 10 });
    expect(candles.every((c, i) => i === 0 || c.timestamp - candles[i - 1]!.timestamp === 60_000)).toBe(true);
    expect(exchange.getCandles("AAA", "1m", since, 3)).toHaveLength(3);
  });

  it("differs by symbol, is the same for the same symbol on another instance, and aggregates wider intervals", () => {
    const candles = candlesFromPrices(Array.from({ length: 600 }, (_, i) => 1000 + i));
    const clock = new VirtualClock(Date.parse("2031-05-04T03:00:00Z"));
    const a = bundledExchange(candles, clock);
    const b = bundledExchange(candles, clock, { exchangeName: "offline" });
    expect(b.exchangeName).toBe("offline");
    const since = new Date(clock.now() - 60 * 60_000);
    const eth = a.getCandles("ETHUSDT", "1m", since, 60) as Candle[];
    expect(eth).toHaveLength(60);
    expect(b.getCandles("ETHUSDT", "1m", since, 60)).toEqual(eth);
    expect(a.getCandles("BTCUSDT", "1m", since, 60)).not.toEqual(eth);
    const fives = a.getCandles("ETHUSDT", "5m", since, 12) as Candle[];
    expect(fives).toHaveLength(12);
    expect(fives[0]).toEqual({
      timestamp: eth[0]!.timestamp,
      open: eth[0]!.open,
      high: Math.max(...eth.slice(0, 5).map((c) => c.high)),
      low: Math.min(...eth.slice(0, 5).map((c) => c.low)),
      close: eth[4]!.close,
      volume: 5,
    });
  });
});
