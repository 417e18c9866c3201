// Issue 10, item 1: ctx.candles$ — the candles of ctx.getCandles as an Observable that answers
// synchronously on a synchronous exchange — and getSignal answering with an Observable: its
// first value, null when it completes empty, StrategyError on error, unsubscribed at the time
// limit and when the stream ends. Everything here runs inside TestScheduler.run (or a
// synchronous VirtualClock.flush), where a Promise never settles.
import { EMPTY, map, NEVER, Subject, throwError } from "rxjs";
import type { TestScheduler } from "rxjs/testing";
import { afterEach, describe, expect, it } from "vitest";
import {
  type Candle,
  CallTimeoutError,
  ExchangeError,
  type ExchangeSchema,
  listenError,
  liveTrade$,
  replayExchange,
  type SignalContext,
  type SignalDto,
  StrategyError,
  type StrategySchema,
  type TickResult,
} from "rxtrade";
import { candlesFromPrices, createTestScheduler, marbleExchange, VirtualClock } from "rxtrade/testing";

const TICK = 60_001;
const config = { CC_AVG_PRICE_CANDLES_COUNT: 1 };
const LONG: SignalDto = { position: "long", priceTakeProfit: 102, priceStopLoss: 98, minuteEstimatedTime: 60 };

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()?.();
});

function newScheduler(): TestScheduler {
  return createTestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

/** error$ as `[name, frame, cause name, message]`. */
function errorsAt(scheduler: { now(): number }): Array<[string, number, string, string]> {
  const seen: Array<[string, number, string, string]> = [];
  cleanups.push(
    listenError((error) => seen.push([error.name, scheduler.now(), (error.cause as Error | undefined)?.name ?? "-", error.message])),
  );
  return seen;
}

const trade = (r: TickResult) => `${r.action} ${r.signal?.position} @${r.currentPrice}`;

describe("ctx.candles$", () => {
  it("emits synchronously the candles getCandles resolves to: put in time order, the forming one left out", async () => {
    // The exchange answers newest first, with the candle of 10:00, which is still forming at 10:00.
    const minutes = [5, 6, 7, 8, 9, 10].map((m) => ({ timestamp: m * 60_000, open: 100, high: 120, low: 90, close: 100 + m, volume: 1 }));
    const exchange: ExchangeSchema = { exchangeName: "reversed", getCandles: () => [...minutes].reverse() };
    const clock = new VirtualClock(10 * 60_000);
    const seen: { sync?: boolean; viaObservable?: number[]; viaPromise?: number[] } = {};
    const strategy: StrategySchema = {
      strategyName: "both-ways",
      interval: "1h",
      getSignal(_symbol, _when, ctx) {
        let emitted = false;
        ctx.candles$("1m", 3).subscribe((candles) => {
          emitted = true;
          seen.viaObservable = candles.map((c) => c.close);
        });
        seen.sync = emitted;
        void ctx.getCandles("1m", 3).then((candles) => (seen.viaPromise = candles.map((c) => c.close)));
        return null;
      },
    };
    const subscription = liveTrade$("BTCUSDT", strategy, { exchange, scheduler: clock, config }).subscribe();
    clock.flush(clock.now());
    expect(seen.sync).toBe(true);
    // 10:00 minus 3 one-minute candles: the candles of 07:00, 08:00 and 09:00 (closes 107–109).
    expect(seen.viaObservable).toEqual([107, 108, 109]);
    await clock.flushAsync(clock.now());
    expect(seen.viaPromise).toEqual(seen.viaObservable);
    subscription.unsubscribe();
  });

  it("a strategy answering ctx.candles$(…).pipe(map(…)) trades inside TestScheduler.run", () => {
    const scheduler = newScheduler();
    // Long when the last closed 5m candle closed above the one before.
    const strategy: StrategySchema = {
      strategyName: "rising-5m",
      interval: "5m",
      getSignal: (_symbol, _when, ctx) =>
        ctx.candles$("5m", 2).pipe(map(([before, last]) => (before !== undefined && last !== undefined && last.close > before.close ? LONG : null))),
    };
    scheduler.run(({ hot, expectObservable }) => {
      // Minutes 1–5 are the 5m candle that closes at tick 5 (at 100), minutes 6–10 the one that
      // closes at tick 10 (at 100.5); the candle before minute 1 holds minute 0 only.
      //                               minute: 0 1-5   6-10  11-15
      const exchange = marbleExchange("a aaaaa aaaab c----", { a: 100, b: 100.5, c: 102 }, scheduler, { start: -60_000 });
      const stop$ = hot(`${14 * TICK}ms s`);
      // Tick 5: closes 100 | 100 -> no. Tick 10: 100 | 100.5 -> long at 100.5 (TP 102, SL 98).
      // Tick 11 sees 102 = TP -> closed. The stop at tick 14 finds nothing open.
      expectObservable(liveTrade$("BTCUSDT", strategy, { exchange, scheduler, stop$, config }).pipe(map(trade))).toBe(
        `${10 * TICK}ms o ${TICK - 1}ms c ${3 * TICK - 1}ms |`,
        { o: "opened long @100.5", c: "closed long @102" },
      );
    });
  });

  it("an unknown interval or a bad limit is a StrategyError (cause ArgumentRangeError, a RangeError), an idle tick, and the stream goes on", () => {
    const scheduler = newScheduler();
    const errors = errorsAt(scheduler);
    let call = 0;
    const strategy: StrategySchema = {
      strategyName: "bad-request",
      interval: "1m",
      getSignal: (_symbol, _when, ctx) => {
        call++;
        if (call === 1) return ctx.candles$("7m" as "5m", 2).pipe(map(() => null));
        if (call === 2) return ctx.candles$("1m", 0).pipe(map(() => null));
        return ctx.candles$("1m", 1).pipe(map(() => LONG));
      },
    };
    scheduler.run(({ expectObservable }) => {
      const exchange = marbleExchange("aaaa-----", { a: 100 }, scheduler, { start: -60_000 });
      expectObservable(liveTrade$("BTCUSDT", strategy, { exchange, scheduler, config }).pipe(map(trade)), `^ ${3 * TICK}ms !`).toBe(
        `${2 * TICK}ms o`,
        { o: "opened long @100" },
      );
    });
    expect(errors).toEqual([
      [
        "StrategyError",
        0,
        "ArgumentRangeError",
        'rxtrade: getSignal of bad-request failed for BTCUSDT: rxtrade: candles$("7m", 2): interval "7m" is not a candle interval; use one of 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h',
      ],
      [
        "StrategyError",
        TICK,
        "ArgumentRangeError",
        'rxtrade: getSignal of bad-request failed for BTCUSDT: rxtrade: candles$("1m", 0): limit (0) must be a positive integer, the number of closed candles wanted, e.g. 21',
      ],
    ]);
  });

  it("a failing exchange: CC_GET_CANDLES_RETRY_COUNT attempts on the test scheduler, then StrategyError (cause ExchangeError)", () => {
    const scheduler = newScheduler();
    const errors = errorsAt(scheduler);
    const attempts: number[] = [];
    scheduler.run(({ expectObservable }) => {
      const replay = marbleExchange("a---------", { a: 100 }, scheduler, { start: -60_000 });
      const exchange: ExchangeSchema = {
        exchangeName: "no-5m",
        getCandles(symbol, interval, since, limit) {
          if (interval !== "5m") return replay.getCandles(symbol, interval, since, limit);
          attempts.push(scheduler.now());
          throw new Error("5m candles are not served");
        },
      };
      const strategy: StrategySchema = { strategyName: "five", interval: "1h", getSignal: (_s, _w, ctx) => ctx.candles$("5m", 3).pipe(map(() => LONG)) };
      const live$ = liveTrade$("BTCUSDT", strategy, { exchange, scheduler, config: { ...config, CC_GET_CANDLES_RETRY_COUNT: 3, CC_GET_CANDLES_RETRY_DELAY_MS: 5000 } });
      expectObservable(live$.pipe(map(trade)), `^ ${2 * TICK}ms !`).toBe("");
    });
    expect(attempts).toEqual([0, 5000, 10_000]);
    expect(errors.map(([name, at, cause]) => [name, at, cause])).toEqual([["StrategyError", 10_000, "ExchangeError"]]);
    expect(errors[0]?.[3]).toBe("rxtrade: getSignal of five failed for BTCUSDT: rxtrade: getCandles(BTCUSDT, 5m) on no-5m failed 3 time(s); last: 5m candles are not served");
  });

  it("an exchange that does not answer: the candles request times out after CC_EXCHANGE_TIMEOUT_SECONDS and its subscription ends", () => {
    const scheduler = newScheduler();
    const seen: unknown[] = [];
    cleanups.push(listenError((error) => seen.push(error)));
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const replay = marbleExchange("a---------", { a: 100 }, scheduler, { start: -60_000 });
      const silent = cold<Candle[]>("-");
      const exchange: ExchangeSchema = {
        exchangeName: "silent-5m",
        getCandles: (symbol, interval, since, limit) => (interval === "5m" ? silent : replay.getCandles(symbol, interval, since, limit)),
      };
      const strategy: StrategySchema = { strategyName: "five", interval: "1h", getSignal: (_s, _w, ctx) => ctx.candles$("5m", 3).pipe(map(() => LONG)) };
      const live$ = liveTrade$("BTCUSDT", strategy, {
        exchange,
        scheduler,
        config: { ...config, CC_GET_CANDLES_RETRY_COUNT: 1, CC_EXCHANGE_TIMEOUT_SECONDS: 10 },
      });
      expectObservable(live$.pipe(map(trade)), `^ ${2 * TICK}ms !`).toBe("");
      expectSubscriptions(silent.subscriptions).toBe("^ 9999ms !");
    });
    expect(seen).toHaveLength(1);
    const error = seen[0] as StrategyError;
    expect(error).toBeInstanceOf(StrategyError);
    expect(error.cause).toBeInstanceOf(ExchangeError);
    expect((error.cause as ExchangeError).cause).toBeInstanceOf(CallTimeoutError);
  });

  it("called after its getSignal call settled: a StrategyError saying so", () => {
    const scheduler = newScheduler();
    const errors = errorsAt(scheduler);
    let saved: SignalContext | undefined;
    const strategy: StrategySchema = {
      strategyName: "late",
      interval: "1m",
      getSignal: (_symbol, _when, ctx) => {
        if (saved === undefined) {
          saved = ctx;
          return null;
        }
        return saved.candles$("1m", 1).pipe(map(() => LONG));
      },
    };
    scheduler.run(({ expectObservable }) => {
      const exchange = marbleExchange("aaa-----", { a: 100 }, scheduler, { start: -60_000 });
      expectObservable(liveTrade$("BTCUSDT", strategy, { exchange, scheduler, config }).pipe(map(trade)), `^ ${TICK + 1}ms !`).toBe("");
    });
    expect(errors).toEqual([
      ["StrategyError", TICK, "StrategyError", "rxtrade: getSignal of late failed for BTCUSDT: rxtrade: candles$ was called after getSignal of late had settled"],
    ]);
  });
});

describe("getSignal answering with an Observable", () => {
  it("completing without a value is no signal: an idle tick, no error", () => {
    const scheduler = newScheduler();
    const errors = errorsAt(scheduler);
    let call = 0;
    const strategy: StrategySchema = { strategyName: "empty-first", interval: "1m", getSignal: () => (++call === 1 ? EMPTY : LONG) };
    scheduler.run(({ expectObservable }) => {
      const exchange = marbleExchange("aaaa-----", { a: 100 }, scheduler, { start: -60_000 });
      expectObservable(liveTrade$("BTCUSDT", strategy, { exchange, scheduler, config }).pipe(map(trade)), `^ ${2 * TICK}ms !`).toBe(`${TICK}ms o`, {
        o: "opened long @100",
      });
    });
    expect(errors).toEqual([]);
  });

  it("an error is a StrategyError with it as the cause, and an idle tick", () => {
    const scheduler = newScheduler();
    const errors = errorsAt(scheduler);
    const offline = new Error("model offline");
    const strategy: StrategySchema = { strategyName: "throws", interval: "1m", getSignal: () => throwError(() => offline) };
    scheduler.run(({ expectObservable }) => {
      const exchange = marbleExchange("aaaa-----", { a: 100 }, scheduler, { start: -60_000 });
      expectObservable(liveTrade$("BTCUSDT", strategy, { exchange, scheduler, config }).pipe(map(trade)), `^ ${TICK + 1}ms !`).toBe("");
    });
    expect(errors).toEqual([
      ["StrategyError", 0, "Error", "rxtrade: getSignal of throws failed for BTCUSDT: model offline"],
      ["StrategyError", TICK, "Error", "rxtrade: getSignal of throws failed for BTCUSDT: model offline"],
    ]);
  });

  it("is unsubscribed at CC_MAX_SIGNAL_GENERATION_SECONDS, and when the stream ends while it is pending", () => {
    const scheduler = newScheduler();
    const errors = errorsAt(scheduler);
    scheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const thinking = cold<SignalDto | null>("-");
      const strategy: StrategySchema = { strategyName: "slow", interval: "1m", getSignal: () => thinking };
      const exchange = marbleExchange("aaaa-----", { a: 100 }, scheduler, { start: -60_000 });
      const stop$ = hot("70000ms s");
      const live$ = liveTrade$("BTCUSDT", strategy, { exchange, scheduler, stop$, config: { ...config, CC_MAX_SIGNAL_GENERATION_SECONDS: 30 } });
      // The stop finds nothing open or scheduled: the stream completes at once, abandoning the
      // second call, which it unsubscribes.
      expectObservable(live$.pipe(map(trade))).toBe("70000ms |");
      expectSubscriptions(thinking.subscriptions).toBe(["^ 29999ms !", `${TICK}ms ^ ${70_000 - TICK - 1}ms !`]);
    });
    expect(errors.map(([name, at, cause]) => [name, at, cause])).toEqual([["StrategyError", 30_000, "CallTimeoutError"]]);
  });

  it("a Subject answering later is taken at its first value, and unsubscribed", () => {
    const clock = new VirtualClock(0);
    const answer = new Subject<SignalDto | null>();
    const strategy: StrategySchema = { strategyName: "later", interval: "1m", getSignal: () => answer };
    const results: string[] = [];
    const exchange = replayExchange(candlesFromPrices(Array<number>(10).fill(100), { start: -60_000 }), clock);
    const subscription = liveTrade$("BTCUSDT", strategy, { exchange, scheduler: clock, config }).subscribe((r) => results.push(`${trade(r)} t=${clock.now()}`));
    clock.flush(1000);
    expect(answer.observed).toBe(true);
    answer.next(LONG);
    answer.next(null);
    expect(answer.observed).toBe(false);
    expect(results).toEqual(["opened long @100 t=1000"]);
    subscription.unsubscribe();
  });

  it("never is StrategyError at the limit, on a VirtualClock too", () => {
    const clock = new VirtualClock(0);
    const errors = errorsAt(clock);
    const strategy: StrategySchema = { strategyName: "never", interval: "1h", getSignal: () => NEVER };
    const exchange = replayExchange(candlesFromPrices(Array<number>(10).fill(100), { start: -60_000 }), clock);
    const subscription = liveTrade$("BTCUSDT", strategy, { exchange, scheduler: clock, config }).subscribe();
    clock.flush(5 * TICK);
    subscription.unsubscribe();
    expect(errors.map(([name, at, cause]) => [name, at, cause])).toEqual([["StrategyError", 180_000, "CallTimeoutError"]]);
  });
});
