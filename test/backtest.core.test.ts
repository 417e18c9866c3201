// Issue 11, item 4 (a new feature): backtest$ / runBacktest run the live loop (liveTicks$) on a
// VirtualClock over recorded candles. Here on hand-made flat candles, so every number below
// follows from the rules: a long with a 30-minute lifetime on a flat market closes
// "time_expired" 30 minutes after it opened, at -0.40 % (0.1 % fee and 0.1 % slippage a side).
import { firstValueFrom, Subject, take, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { type SignalDto, type StrategySchema } from "rxtrade";
import { backtest$, runBacktest } from "rxtrade/node";
import { candlesFromPrices } from "rxtrade/testing";

const T0 = Date.parse("2023-03-01T00:00:00Z");
const MINUTE = 60_000;
const at = (minutes: number) => T0 + minutes * MINUTE;
const minutesOf = (ms: number) => (ms - T0) / MINUTE;

/** Asks for a long on every call it gets: TP +10 %, SL -10 %, 30 minutes. */
function alwaysLong(answer: (dto: SignalDto) => SignalDto | Promise<SignalDto> = (dto) => dto): StrategySchema & { calls: number[] } {
  const calls: number[] = [];
  return {
    strategyName: "always-long",
    interval: "1m",
    calls,
    getSignal(_symbol, when, { currentPrice }) {
      calls.push(when.getTime());
      return answer({ position: "long", priceTakeProfit: currentPrice * 1.1, priceStopLoss: currentPrice * 0.9, minuteEstimatedTime: 30 });
    },
  };
}

const flat = (minutes: number) => candlesFromPrices(Array.from({ length: minutes }, () => 100), { start: T0 });
const trades = (result: { trades: Array<{ timestamp: number; action: string }> }) => result.trades.map((t) => [minutesOf(t.timestamp), t.action]);

describe("runBacktest", () => {
  it("stops gracefully at `to`: no signal after it, and the one open then runs to its close on the candles after `to`", async () => {
    const strategy = alwaysLong();
    const result = await runBacktest("BTCUSDT", strategy, { candles: flat(600), from: at(10), to: at(100), tickMs: MINUTE });
    expect(trades(result)).toEqual([
      [10, "opened"],
      [40, "closed"],
      [41, "opened"],
      [71, "closed"],
      [72, "opened"],
      [102, "closed"], // after `to` (100): the position open at the stop ran its 30 minutes
    ]);
    // Asked on the ticks where nothing was open, never after the stop.
    expect(strategy.calls.map(minutesOf)).toEqual([10, 41, 72]);
    expect(result).toMatchObject({ end: "stopped", open: null, from: at(10), to: at(100), lastTick: at(102), ticks: 93, candles: 93 });
    expect(result.stats).toMatchObject({ totalClosed: 3, winCount: 0, lossCount: 3 });
    // As a live run's statistics from its journal: the trades, newest first, no active rows.
    expect(result.stats.eventList.map((r) => [minutesOf(r.timestamp), r.action])).toEqual([...trades(result)].reverse());
    expect(result.stats.totalPnl).toBeCloseTo(-1.1994, 4);
  });

  it("ends with the data when they run out first, and leaves what is open open (not in the statistics)", async () => {
    // 60 candles: the last opens at minute 59 and closes at 60; a tick at minute 61 would
    // need the candle of minute 60, which the data do not have.
    const result = await runBacktest("BTCUSDT", alwaysLong(), { candles: flat(60), from: at(10), tickMs: MINUTE });
    expect(trades(result)).toEqual([
      [10, "opened"],
      [40, "closed"],
      [41, "opened"],
    ]);
    expect(result).toMatchObject({ end: "data-ended", to: at(60), dataEnd: at(60), lastTick: at(60), ticks: 51 });
    expect(result.open).toMatchObject({ action: "active", timestamp: at(60), signal: { pendingAt: at(41) } });
    expect(result.stats.totalClosed).toBe(1);
    // The open signal's latest active row heads the event list, as Live.getData shows one.
    expect(result.stats.eventList.map((r) => [minutesOf(r.timestamp), r.action])).toEqual([
      [60, "active"],
      [41, "opened"],
      [40, "closed"],
      [10, "opened"],
    ]);
  });

  it("says the data ended, not a stop, when `to` lies past the data and nothing was open", async () => {
    const strategy: StrategySchema = { strategyName: "never", interval: "1m", getSignal: () => null };
    const result = await runBacktest("BTCUSDT", strategy, { candles: flat(60), from: at(10), to: at(500), tickMs: MINUTE });
    expect(result).toMatchObject({ end: "data-ended", open: null, lastTick: at(60), ticks: 51, trades: [] });
  });

  it("runs a Promise-returning strategy in virtual time with the same trades as a synchronous one", async () => {
    const options = { candles: flat(300), from: at(10), to: at(150), tickMs: MINUTE };
    const sync = await runBacktest("BTCUSDT", alwaysLong(), options);
    const async = await runBacktest("BTCUSDT", alwaysLong((dto) => new Promise((resolve) => setTimeout(() => resolve(dto), 1))), options);
    expect(trades(async)).toEqual(trades(sync));
    expect(trades(async)).toHaveLength(10);
  });

  it("takes the live loop's stop$ too: a stop before `to` is the graceful stop", async () => {
    const stop$ = new Subject<void>();
    const strategy = alwaysLong();
    const result = await runBacktest("BTCUSDT", strategy, {
      candles: flat(600),
      from: at(10),
      to: at(500),
      tickMs: MINUTE,
      stop$,
      onTick: (tick) => tick.timestamp === at(20) && stop$.next(),
    });
    expect(trades(result)).toEqual([
      [10, "opened"],
      [40, "closed"],
    ]);
    expect(result.end).toBe("stopped");
  });
});

describe("backtest$", () => {
  it("emits every tick result, and stops its clock when unsubscribed early", async () => {
    const results = await firstValueFrom(backtest$("BTCUSDT", alwaysLong(), { candles: flat(600), from: at(10), to: at(500), tickMs: MINUTE }).pipe(take(5), toArray()));
    expect(results.map((r) => [minutesOf(r.timestamp), r.action])).toEqual([
      [10, "opened"],
      [11, "active"],
      [12, "active"],
      [13, "active"],
      [14, "active"],
    ]);
  });

  it("refuses a window the data cannot price, before anything runs", () => {
    const candles = flat(60);
    expect(() => backtest$("BTCUSDT", alwaysLong(), { candles, from: at(0) })).toThrow(
      "rxtrade: backtest from (1677628800000) must be a time the data can price, from 2023-03-01T00:01:00.000Z to before 2023-03-01T01:01:00.000Z",
    );
    expect(() => backtest$("BTCUSDT", alwaysLong(), { candles, from: at(30), to: at(30) })).toThrow("rxtrade: backtest to (1677630600000) must be after from (2023-03-01T00:30:00.000Z)");
    expect(() => backtest$("BTCUSDT", alwaysLong(), { candles: [] })).toThrow("rxtrade: backtest candles are empty; give one-minute candles, oldest first");
  });
});
