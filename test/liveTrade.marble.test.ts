// Stream-level marble tests of liveTrade$: tick timing, what is emitted, retry after a tick
// error (with subscription frames), and the graceful stop. One tick every 60001 ms; with
// CC_AVG_PRICE_CANDLES_COUNT 1 and flat candles starting at -60000 ms, the tick at
// k x 60001 ms sees the price of marble character k exactly.
import { map, type Observable } from "rxjs";
import type { TestScheduler } from "rxjs/testing";
import { afterEach, describe, expect, it } from "vitest";
import {
  ExchangeError,
  listenDoneLive,
  listenError,
  listenSignal,
  liveTrade$,
  memoryStore,
  tradeContext,
  type DoneEvent,
  type ExchangeSchema,
  type SignalDto,
  type StrategySchema,
  type TickResult,
} from "rxtrade";
import { persistState, restoreState, retryAfter, tick } from "rxtrade/operators";
import { createTestScheduler, marbleExchange, scriptedStrategy } from "rxtrade/testing";

const TICK = 60_001;
const config = { CC_AVG_PRICE_CANDLES_COUNT: 1 };
const prices = { a: 100, b: 101, c: 102, d: 99, f: 96 };

// Immediate long at the tick price (100): TP 102, SL 98.
const LONG: SignalDto = { id: "L1", position: "long", priceTakeProfit: 102, priceStopLoss: 98, minuteEstimatedTime: 60 };
// Limit long waiting for 99: TP 101, SL 97.
const LIMIT: SignalDto = { id: "S1", position: "long", priceOpen: 99, priceTakeProfit: 101, priceStopLoss: 97, minuteEstimatedTime: 60 };


/** Tick k sees the price of character k; the last price holds for a long while after. */
function exchangeFor(scheduler: TestScheduler, tickPrices: string): ExchangeSchema {
  return marbleExchange(`${tickPrices}${"-".repeat(60)}`, prices, scheduler, { start: -60_000 });
}

const short = (r: TickResult) => ({ action: r.action, id: r.signal?.id ?? null });

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const off of cleanups.splice(0)) off();
});

function newScheduler(): TestScheduler {
  return createTestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

/** Every tick result of one strategy on signal$, with the frame it was announced at. */
function signalsOf(strategyName: string, scheduler: TestScheduler): Array<TickResult & { at: number }> {
  const seen: Array<TickResult & { at: number }> = [];
  cleanups.push(listenSignal((r) => r.strategyName === strategyName && seen.push({ ...r, at: scheduler.now() })));
  return seen;
}

function errorsAt(scheduler: TestScheduler): Array<{ error: Error; at: number }> {
  const seen: Array<{ error: Error; at: number }> = [];
  cleanups.push(listenError((error) => seen.push({ error, at: scheduler.now() })));
  return seen;
}

function doneAt(strategyName: string, scheduler: TestScheduler): Array<DoneEvent & { at: number }> {
  const seen: Array<DoneEvent & { at: number }> = [];
  cleanups.push(listenDoneLive((e) => e.strategyName === strategyName && seen.push({ ...e, at: scheduler.now() })));
  return seen;
}

describe("liveTrade$ ticks", () => {
  it("ticks at 0, 60001, 120002 … ms", () => {
    const scheduler = newScheduler();
    const strategy = scriptedStrategy("ticks", []);
    const seen = signalsOf("ticks", scheduler);
    scheduler.run(({ expectObservable }) => {
      const live$ = liveTrade$("BTCUSDT", strategy, { exchange: exchangeFor(scheduler, "a"), scheduler, config });
      expectObservable(live$, "^ 240004ms !").toBe("");
    });
    expect(seen.map((r) => [r.action, r.timestamp, r.at])).toEqual([
      ["idle", 0, 0],
      ["idle", 60_001, 60_001],
      ["idle", 120_002, 120_002],
      ["idle", 180_003, 180_003],
      ["idle", 240_004, 240_004],
    ]);
    expect(strategy.calls).toEqual([0, 60_001, 120_002, 180_003, 240_004]);
  });

  it("emits only opened and closed (not idle, active or scheduled), on their tick frames", () => {
    const scheduler = newScheduler();
    const strategy = scriptedStrategy("emits", [LONG, LIMIT]);
    const seen = signalsOf("emits", scheduler);
    scheduler.run(({ expectObservable }) => {
      //                                   tick: 012345678
      const live$ = liveTrade$("BTCUSDT", strategy, { exchange: exchangeFor(scheduler, "abcaadab-"), scheduler, config });
      // L1 opens at tick 0 (100), closes by TP at tick 2 (102); S1 is scheduled at tick 3,
      // opens at tick 5 (99), closes by TP at tick 7 (101).
      expectObservable(live$.pipe(map(short)), "^ 480008ms !").toBe("o 120001ms c 180002ms p 120001ms q", {
        o: { action: "opened", id: "L1" },
        c: { action: "closed", id: "L1" },
        p: { action: "opened", id: "S1" },
        q: { action: "closed", id: "S1" },
      });
    });
    // The ticks that were not emitted did happen.
    expect(seen.map((r) => r.action)).toEqual(["opened", "active", "closed", "scheduled", "scheduled", "opened", "active", "closed", "idle"]);
    expect(seen.map((r) => r.timestamp)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8].map((k) => k * TICK));
  });
});

describe("liveTrade$ tick errors", () => {
  // The exchange fails on the tick at 120002 ms only; one attempt per tick, so the tick fails.
  function flakyExchange(scheduler: TestScheduler, tickPrices: string): ExchangeSchema {
    const base = exchangeFor(scheduler, tickPrices);
    return {
      exchangeName: base.exchangeName,
      getCandles(symbol, interval, since, limit) {
        if (scheduler.now() === 2 * TICK) throw new Error("exchange down");
        return base.getCandles(symbol, interval, since, limit);
      },
    };
  }
  const retryConfig = { ...config, CC_GET_CANDLES_RETRY_COUNT: 1 };

  it("resubscribes 60001 ms after the failed tick and resumes the open signal from the store (composed operators)", () => {
    const scheduler = newScheduler();
    const strategy = scriptedStrategy("retry-ops", [LONG]);
    const errors = errorsAt(scheduler);
    const store = memoryStore();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      //                 tick:    0        1         2 (fails)  3        +retry
      const exchange = flakyExchange(scheduler, "abac");
      const context = tradeContext("BTCUSDT", strategy, { exchange, scheduler, store, config: retryConfig });
      const ticks = cold("t 60000ms t 60000ms t 60000ms t 60000ms |");
      const results$ = restoreState(context, (restored) => ticks.pipe(tick(context, { restored }))).pipe(
        persistState(context),
        retryAfter(context.tickMs, scheduler),
        map(short),
      );
      // 0 opened, 60001 active, 120002 error (nothing emitted), 180003 resubscribed: the
      // restored L1 closes by TP (102); then idle ticks until the cold ticks complete.
      expectObservable(results$).toBe("o 60000ms a 120001ms c 60000ms i 60000ms i 60000ms i 60000ms |", {
        o: { action: "opened", id: "L1" },
        a: { action: "active", id: "L1" },
        c: { action: "closed", id: "L1" },
        i: { action: "idle", id: null },
      });
      expectSubscriptions(ticks.subscriptions).toBe(["^ 120001ms !", "180003ms ^ 240003ms !"]);
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]?.error).toBeInstanceOf(ExchangeError);
    expect(errors[0]?.at).toBe(2 * TICK);
    // Not asked while L1 was open (restored at 180003), asked again once idle.
    expect(strategy.calls).toEqual([0, 4 * TICK, 5 * TICK, 6 * TICK]);
    expect(store.read("BTCUSDT:retry-ops")).toBeNull();
  });

  it("liveTrade$ resumes the same signal after a tick error and emits its close 60001 ms after the failure", () => {
    const scheduler = newScheduler();
    const strategy = scriptedStrategy("retry-live", [LONG]);
    const errors = errorsAt(scheduler);
    scheduler.run(({ expectObservable }) => {
      const live$ = liveTrade$("BTCUSDT", strategy, { exchange: flakyExchange(scheduler, "abac"), scheduler, config: retryConfig });
      expectObservable(live$.pipe(map(short)), "^ 240004ms !").toBe("o 180002ms c", {
        o: { action: "opened", id: "L1" },
        c: { action: "closed", id: "L1" },
      });
    });
    expect(errors.map((e) => [e.error.name, e.at])).toEqual([["ExchangeError", 2 * TICK]]);
    expect(strategy.calls).toEqual([0, 4 * TICK]);
  });
});

describe("liveTrade$ graceful stop", () => {
  function run(
    name: string,
    script: Array<SignalDto | null>,
    tickPrices: string,
    stopMarble: string,
    expected: string,
    values: Record<string, unknown> = {},
    extraConfig: Record<string, number> = {},
  ) {
    const scheduler = newScheduler();
    const strategy = scriptedStrategy(name, script);
    const seen = signalsOf(name, scheduler);
    const done = doneAt(name, scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      const live$: Observable<TickResult> = liveTrade$("BTCUSDT", strategy, {
        exchange: exchangeFor(scheduler, tickPrices),
        scheduler,
        stop$: cold(stopMarble),
        config: { ...config, ...extraConfig },
      });
      expectObservable(live$.pipe(map(short)), "^ 900000ms !").toBe(expected, values);
    });
    return { strategy, seen, done };
  }

  it("completes at the stop frame when idle", () => {
    const { strategy, done } = run("stop-idle", [], "a", "90000ms s", "90000ms |");
    expect(strategy.calls).toEqual([0, TICK]);
    expect(done.map((e) => e.at)).toEqual([90_000]);
  });

  it("with an open signal: no new signal, completes on the frame the signal closes", () => {
    const { strategy, seen, done } = run("stop-open", [LONG, LONG], "abbc", "30000ms s", "o 180002ms (c|)", {
      o: { action: "opened", id: "L1" },
      c: { action: "closed", id: "L1" },
    });
    expect(seen.map((r) => r.action)).toEqual(["opened", "active", "active", "closed"]);
    expect(seen.at(-1)).toMatchObject({ closeReason: "take_profit", currentPrice: 102, timestamp: 3 * TICK });
    expect(strategy.calls).toEqual([0]);
    expect(done).toEqual([{ symbol: "BTCUSDT", strategyName: "stop-open", exchangeName: "marble", backtest: false, at: 3 * TICK }]);
  });

  it("with a scheduled signal: waits for the activation, then for the close", () => {
    //                                                   tick: 01234
    const { strategy, seen, done } = run("stop-limit", [LIMIT], "aadab", "30000ms s", "120002ms o 120001ms (c|)", {
      o: { action: "opened", id: "S1" },
      c: { action: "closed", id: "S1" },
    });
    expect(seen.map((r) => r.action)).toEqual(["scheduled", "scheduled", "opened", "active", "closed"]);
    expect(strategy.calls).toEqual([0]);
    expect(done.map((e) => e.at)).toEqual([4 * TICK]);
  });

  it("with a scheduled signal cancelled by its stop loss: completes on the cancel frame", () => {
    const { strategy, seen, done } = run("stop-limit-sl", [LIMIT], "aaf", "30000ms s", "120002ms |");
    expect(seen.map((r) => r.action)).toEqual(["scheduled", "scheduled", "cancelled"]);
    expect(seen.at(-1)).toMatchObject({ cancelReason: "stop_loss", timestamp: 2 * TICK });
    expect(strategy.calls).toEqual([0]);
    expect(done.map((e) => e.at)).toEqual([2 * TICK]);
  });

  it("with a scheduled signal cancelled by timeout: completes on the cancel frame", () => {
    const { strategy, seen, done } = run("stop-limit-timeout", [LIMIT], "a", "30000ms s", "120002ms |", {}, { CC_SCHEDULE_AWAIT_MINUTES: 2 });
    expect(seen.map((r) => r.action)).toEqual(["scheduled", "scheduled", "cancelled"]);
    expect(seen.at(-1)).toMatchObject({ cancelReason: "timeout", timestamp: 2 * TICK });
    expect(strategy.calls).toEqual([0]);
    expect(done.map((e) => e.at)).toEqual([2 * TICK]);
  });

  it("a stop with nothing open ends at once, abandoning a pending getSignal; its late answer is dropped (issue 9.6)", () => {
    const scheduler = newScheduler();
    const calls: number[] = [];
    const seen = signalsOf("stop-pending", scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      // The first answer takes 30 s; the stop arrives 10 s into it.
      const strategy: StrategySchema = {
        strategyName: "stop-pending",
        interval: "1m",
        getSignal(_symbol, when) {
          calls.push(when.getTime());
          return cold<SignalDto | null>("30000ms (x|)", { x: LONG });
        },
      };
      const live$ = liveTrade$("BTCUSDT", strategy, { exchange: exchangeFor(scheduler, "a"), scheduler, stop$: cold("10000ms s"), config });
      expectObservable(live$.pipe(map(short)), "^ 900000ms !").toBe("10000ms |");
    });
    expect(calls).toEqual([0]);
    // 0.1.0 waited for the answer and ended at 30000 ms with an idle tick.
    expect(seen).toEqual([]);
  });

  it("doneLive$ emits exactly once, even when stop$ emits twice", () => {
    const { done } = run("stop-twice", [LONG], "abc", "30000ms s 60000ms s", "o 120001ms (c|)", {
      o: { action: "opened", id: "L1" },
      c: { action: "closed", id: "L1" },
    });
    expect(done).toHaveLength(1);
    expect(done[0]?.at).toBe(2 * TICK);
  });
});
