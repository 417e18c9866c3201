// Issue 11 review, `rxtrade backtest` in code (runBacktest, csvCandleFile): a strategy that never
// answers (hole 1), the data streamed through a bounded window instead of loaded whole (hole 2),
// and the checks of a candle file (hole 3). The command line's side of these is in
// test/backtest.review.cli.test.ts; the heap figure and Ctrl-C in their own processes.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Candle, CandleDataError, type CandleInterval, listenError, replayExchange, setLogger, type StrategySchema, StrategyError } from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandleFile, csvCandles, runBacktest } from "rxtrade/node";
import { candlesFromPrices } from "rxtrade/testing";
import { breakoutStrategy } from "../examples/strategies/breakout";

const MINUTE = 60_000;
const T0 = Date.parse("2023-03-01T00:00:00Z");
const at = (minutes: number) => T0 + minutes * MINUTE;
const flat = (minutes: number) => candlesFromPrices(Array.from({ length: minutes }, () => 100), { start: T0 });

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "rxtrade-backtest-review-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Errors on error$ while `run` runs. */
async function withErrors<T>(run: () => Promise<T>): Promise<{ value: T; errors: Error[] }> {
  const errors: Error[] = [];
  const stop = listenError((error) => errors.push(error));
  try {
    return { value: await run(), errors };
  } finally {
    stop();
  }
}

/** A long on every call: TP +10 %, SL -10 %, 5 minutes; the answer of call `n` (1-based) from `answer`. */
function longs(answer: (n: number, dto: object) => unknown): StrategySchema & { calls: number[] } {
  const calls: number[] = [];
  return {
    strategyName: "longs",
    interval: "1m",
    calls,
    getSignal(_symbol, when, { currentPrice }) {
      calls.push(when.getTime());
      return answer(calls.length, { position: "long", priceTakeProfit: currentPrice * 1.1, priceStopLoss: currentPrice * 0.9, minuteEstimatedTime: 5 }) as never;
    },
  };
}

describe("hole 1: a strategy that never answers", () => {
  it("fails that tick after callTimeoutMs of real time, with a StrategyError naming the tick, and the backtest goes on", async () => {
    // The second call never settles; the others answer at once.
    const strategy = longs((n, dto) => (n === 2 ? new Promise(() => {}) : Promise.resolve(dto)));
    const started = performance.now();
    const { value: result, errors } = await withErrors(() =>
      runBacktest("BTCUSDT", strategy, { candles: flat(120), from: at(10), to: at(40), tickMs: MINUTE, callTimeoutMs: 150 }),
    );
    // 150 ms for the tick that hung, not CC_MAX_SIGNAL_GENERATION_SECONDS (180 s) of real time.
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(StrategyError);
    // Opened at 10, closed at 15 (5 minutes); asked at 16: that call hung.
    expect(errors[0]?.message).toBe(
      "rxtrade: getSignal of longs failed for BTCUSDT: rxtrade: getSignal(BTCUSDT) of longs for the tick of 2023-03-01T00:16:00.000Z did not answer within 150 ms of real time " +
        "(the backtest's callTimeoutMs, rxtrade backtest --call-timeout): a backtest has no market to wait for; make getSignal settle, or give it more time",
    );
    expect(strategy.calls.slice(0, 3).map((time) => (time - T0) / MINUTE)).toEqual([10, 16, 17]);
    // The tick of 16 answered null; the run went on: opened again at 17, and so on to the stop.
    expect(result.trades.map((t) => [(t.timestamp - T0) / MINUTE, t.action])).toEqual([
      [10, "opened"],
      [15, "closed"],
      [17, "opened"],
      [22, "closed"],
      [23, "opened"],
      [28, "closed"],
      [29, "opened"],
      [34, "closed"],
      [35, "opened"],
      [40, "closed"],
    ]);
    expect(result.end).toBe("stopped");
  });

  it("stops the backtest with a StrategyError after maxCallTimeouts ticks in a row (default 3) that did not answer", async () => {
    const strategy: StrategySchema = { strategyName: "hung", interval: "1m", getSignal: () => new Promise(() => {}) };
    const started = performance.now();
    const { value: outcome, errors } = await withErrors(() =>
      runBacktest("BTCUSDT", strategy, { candles: flat(600), from: at(10), tickMs: MINUTE, callTimeoutMs: 100 }).then(
        () => undefined,
        (error: unknown) => error,
      ),
    );
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(outcome).toBeInstanceOf(StrategyError);
    expect((outcome as Error).message).toBe(
      "rxtrade: the backtest stopped: getSignal of hung on BTCUSDT did not answer on 3 ticks in a row (2023-03-01T00:10:00.000Z, 2023-03-01T00:11:00.000Z, 2023-03-01T00:12:00.000Z), " +
        "given 100 ms of real time each (callTimeoutMs); it looks hung. Make getSignal settle, or give it more time (callTimeoutMs, rxtrade backtest --call-timeout) or more tries (maxCallTimeouts)",
    );
    // Each of the three ticks was reported as it failed.
    expect(errors.map((error) => /tick of (\S+) did not answer/.exec(error.message)?.[1])).toEqual([
      "2023-03-01T00:10:00.000Z",
      "2023-03-01T00:11:00.000Z",
      "2023-03-01T00:12:00.000Z",
    ]);
  });

  it("counts only timeouts in a row: an answer in time starts the count again", async () => {
    // Calls 1, 2, 4, 5 hang; call 3 answers null: never three in a row.
    const strategy = longs((n) => (n === 3 || n > 5 ? null : new Promise(() => {})));
    const { value: result, errors } = await withErrors(() => runBacktest("BTCUSDT", strategy, { candles: flat(60), from: at(10), to: at(20), tickMs: MINUTE, callTimeoutMs: 50 }));
    expect(errors).toHaveLength(4);
    expect(result.ticks).toBe(10);
  });
});

/** What a strategy received from getCandles, per tick and request. */
interface Asked {
  at: number;
  interval: CandleInterval;
  limit: number;
  got: Candle[];
}

/** Asks for the candles of `requests` on every tick and keeps what it got. */
function asker(asked: Asked[], requests: ReadonlyArray<[CandleInterval, number]>): StrategySchema {
  return {
    strategyName: "asker",
    interval: "1m",
    async getSignal(_symbol, when, { getCandles }) {
      for (const [interval, limit] of requests) asked.push({ at: when.getTime(), interval, limit, got: await getCandles(interval, limit) });
      return null;
    },
  };
}

describe("hole 2: the candles streamed through a bounded window", () => {
  it("a streamed CSV (csvCandleFile) gives the trades the same candles give as an array", async () => {
    const window = { from: Date.parse("2023-03-05T07:30Z"), to: Date.parse("2023-03-06T07:30Z") };
    const [file, candles] = await Promise.all([csvCandleFile(BUNDLED_BTCUSDT_1M), csvCandles(BUNDLED_BTCUSDT_1M)]);
    const streamed = await runBacktest("BTCUSDT", breakoutStrategy(), { candles: file, ...window });
    const whole = await runBacktest("BTCUSDT", breakoutStrategy(), { candles, ...window });
    const trades = (r: typeof whole) => r.trades.map((t) => [t.timestamp, t.action, t.signal.priceOpen, t.action === "closed" ? t.pnl.pnlPercentage : null]);
    expect(trades(streamed).length).toBeGreaterThanOrEqual(4);
    expect(trades(streamed)).toEqual(trades(whole));
    expect({ ...streamed.stats, eventList: undefined }).toEqual({ ...whole.stats, eventList: undefined });
    expect({ ticks: streamed.ticks, candles: streamed.candles, end: streamed.end }).toEqual({ ticks: whole.ticks, candles: whole.candles, end: whole.end });
  });

  it.each([60_000, 60_001, 300_000])("a stream ends as the same array does, to the tick, with no `to` (tickMs %i)", async (tickMs) => {
    // Prices rise and fall so that longs close on their take profit, stop loss or time; the last one is open at the end.
    const prices = Array.from({ length: 900 }, (_, i) => 100 + 5 * Math.sin(i / 40));
    const candles = candlesFromPrices(prices, { start: T0 });
    async function* stream(): AsyncGenerator<Candle> {
      yield* candles;
    }
    const strategy = () => longs((_n, dto) => ({ ...dto, priceTakeProfit: (dto as { priceTakeProfit: number }).priceTakeProfit / 1.08, minuteEstimatedTime: 45 }));
    const whole = await runBacktest("BTCUSDT", strategy(), { candles, tickMs });
    const streamed = await runBacktest("BTCUSDT", strategy(), { candles: stream(), tickMs });
    const shape = (r: typeof whole) => ({
      ...r,
      trades: r.trades.map((t) => [t.timestamp, t.action]),
      open: r.open?.timestamp ?? null,
      stats: { ...r.stats, eventList: r.stats.eventList.length },
    });
    expect(whole.trades.length).toBeGreaterThan(4);
    expect(shape(streamed)).toEqual(shape(whole));
    // Nothing open at the end: the graceful stop at the data's end ends the run, for a stream too.
    const never: StrategySchema = { strategyName: "never", interval: "1m", getSignal: () => null };
    const [idleWhole, idleStreamed] = [await runBacktest("BTCUSDT", never, { candles, tickMs }), await runBacktest("BTCUSDT", never, { candles: stream(), tickMs })];
    expect(idleWhole.end).toBe("stopped");
    expect(shape(idleStreamed)).toEqual(shape(idleWhole));
  });

  it("serves a strategy's 1m, 5m, 1h and 8h requests as replayExchange serves the whole data (closed candles only, as of the tick)", async () => {
    const candles = (await csvCandles(BUNDLED_BTCUSDT_1M)).filter((c) => c.timestamp < Date.parse("2023-03-06T00:00Z"));
    const requests: Array<[CandleInterval, number]> = [
      ["1m", 30],
      ["5m", 12],
      ["1h", 30],
      ["8h", 4],
    ];
    const asked: Asked[] = [];
    const from = Date.parse("2023-03-03T10:00Z");
    await runBacktest("BTCUSDT", asker(asked, requests), { candles: (await csvCandleFile(BUNDLED_BTCUSDT_1M)) as AsyncIterable<Candle>, from, to: from + 300 * MINUTE });
    expect(asked).toHaveLength(300 * requests.length);
    let now = 0;
    const reference = replayExchange(candles, { now: () => now });
    for (const request of asked) {
      now = request.at;
      const width = { "1m": 1, "5m": 5, "1h": 60, "8h": 480 }[request.interval as "1m"] * MINUTE;
      const since = Math.floor(request.at / width) * width - request.limit * width;
      expect(request.got, `${request.interval} x ${request.limit} at ${new Date(request.at).toISOString()}`).toEqual(reference.getCandles("BTCUSDT", request.interval, new Date(since), request.limit));
    }
  });

  it("keeps only lookbackMinutes behind the clock: a request reaching further back gets what is kept, and one warning", async () => {
    async function* stream(): AsyncGenerator<Candle> {
      yield* flat(2000);
    }
    const warnings: string[] = [];
    setLogger({ warn: (...args: unknown[]) => warnings.push(args.join(" ")) });
    const asked: Asked[] = [];
    try {
      await runBacktest("BTCUSDT", asker(asked, [["1m", 500]]), { candles: stream(), from: at(600), to: at(1200), tickMs: MINUTE, lookbackMinutes: 120 });
    } finally {
      setLogger({ warn: (...args: unknown[]) => console.warn(...args), error: (...args: unknown[]) => console.error(...args) });
    }
    // At least the 120 minutes kept (and what is read ahead of the clock), never the 500 asked.
    for (const { got } of asked) expect(got.length).toBeLessThan(500);
    expect(asked.every(({ got, at: tick }) => got.length >= 120 && got.at(-1)?.timestamp === tick - MINUTE)).toBe(true);
    expect(warnings).toEqual([
      "rxtrade: getCandles(1m, 500) at 2023-03-01T10:00:00.000Z asks for candles from 2023-03-01T01:40:00.000Z (500 minutes back), past the 120 minutes of candles this backtest keeps behind its clock (lookbackMinutes); " +
        `it got those from ${new Date(asked[0]?.got[0]?.timestamp as number).toISOString()} on. Raise lookbackMinutes (rxtrade backtest --lookback) to 500 or more. (Said once.)`,
    ]);
  });
});

describe("hole 3: a candle file's checks, each with the file, the line, the value and the fix", () => {
  const header = "timestamp,open,high,low,close,volume\n";
  const row = (ms: number, open = 100, high = 101, low = 99, close = 100) => `${ms},${open},${high},${low},${close},1\n`;
  const file = async (name: string, text: string) => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };
  const refusal = (path: string) =>
    csvCandleFile(path).then(
      () => undefined,
      (error: unknown) => error as CandleDataError,
    );

  it("refuses a file of another interval (5-minute steps)", async () => {
    const path = await file("fives.csv", header + Array.from({ length: 12 }, (_, i) => row(at(5 * i))).join(""));
    const error = await refusal(path);
    expect(error).toBeInstanceOf(CandleDataError);
    expect(error).toMatchObject({ path, line: 3 });
    expect(error?.message).toBe(
      `rxtrade: ${path}:3: the candles are 5 minutes apart (11 of 11 steps; the first ends at this line): these look like 5-minute candles, not one-minute ones. ` +
        "A backtest replays 1m candles (and builds wider intervals from them): give a file of 1m candles",
    );
  });

  it("refuses times in seconds (and in microseconds)", async () => {
    const seconds = await refusal(await file("seconds.csv", header + row(at(0) / 1000) + row(at(1) / 1000)));
    expect(seconds).toMatchObject({ line: 2 });
    expect(seconds?.message).toContain(
      ":2: the time 1677628800 reads as 1970-01-20T10:00:28.800Z in ms: it looks like seconds since the epoch; give ms (1677628800000) or ISO 8601 — multiply the column by 1000",
    );
    const micros = await refusal(await file("micros.csv", header + row(at(0) * 1000)));
    expect(micros?.message).toContain(":2: the time 1677628800000000 lies past the year 5000 in ms: it looks like microseconds since the epoch; give ms (1677628800000)");
  });

  it("refuses high < low, and an open or close outside [low, high], at the line", async () => {
    const swapped = await refusal(await file("swapped.csv", header + row(at(0)) + row(at(1), 100, 99, 101, 100)));
    expect(swapped).toMatchObject({ line: 3 });
    expect(swapped?.message).toContain(":3: high 99 is below low 101: the row is not a candle (are the high and low columns swapped?); fix or remove it in \"1677628860000,100,99,101,100,1\"");
    const outside = await refusal(await file("outside.csv", header + row(at(0)) + row(at(1)) + row(at(2), 100, 101, 99, 102.5)));
    expect(outside?.message).toContain(":4: close 102.5 is outside [low 99, high 101]: the row is not a candle; fix or remove it");
  });

  it("refuses repeated and out-of-order times at the line (nothing is sorted for you)", async () => {
    const repeated = await refusal(await file("repeated.csv", header + row(at(0)) + row(at(1)) + row(at(1))));
    expect(repeated?.message).toContain(":4: the time 2023-03-01T00:01:00.000Z repeats line 3's: one row per candle; remove the repeated rows");
    const unsorted = await refusal(await file("unsorted.csv", header + row(at(0)) + row(at(2)) + row(at(1))));
    expect(unsorted?.message).toContain(
      ":4: the time 2023-03-01T00:01:00.000Z is before line 3's (2023-03-01T00:02:00.000Z): rows must be oldest first; sort the file by its time column",
    );
  });

  it("says the gaps once, with their count and the largest; they are not fatal", async () => {
    // Minutes 0-9, 12-19 (2 missing), 60-69 (40 missing), 75-79 (5 missing).
    const minutes = [...Array.from({ length: 10 }, (_, i) => i), ...Array.from({ length: 8 }, (_, i) => 12 + i), ...Array.from({ length: 10 }, (_, i) => 60 + i), 75, 76, 77, 78, 79];
    const path = await file("gaps.csv", header + minutes.map((m) => row(at(m))).join(""));
    const checked = await csvCandleFile(path);
    expect(checked).toMatchObject({ rows: 33, first: at(0), last: at(79), gaps: { count: 3, missingMinutes: 47, largest: { from: at(19), to: at(60), line: 19 } } });
    expect(checked.warnings).toEqual([
      `${path}: 3 gaps in the minutes, 47 one-minute candles missing in all; the largest, 40 minutes, after line 19 (2023-03-01T00:20Z to 2023-03-01T00:59Z). ` +
        "A tick in a gap prices with what is left of its window, or fails on error$ when nothing is; fill the gaps, or keep --from/--to out of them",
    ]);
    const candles: Candle[] = [];
    for await (const candle of checked) candles.push(candle);
    expect(candles.map((c) => (c.timestamp - T0) / MINUTE)).toEqual(minutes);
  });
});
