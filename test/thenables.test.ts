// Thenables and hostile signal objects through liveTrade$, in virtual time (issue 9, item 8):
// a synchronous thenable behaves exactly like the plain value; a `then` that throws (or a `then`
// getter that throws) is a StrategyError / ExchangeError on error$ and the loop goes on; a
// signal whose property getter throws is an InvalidSignalError. Never an unhandled rejection or
// an uncaught exception.
// One tick every 60001 ms; with CC_AVG_PRICE_CANDLES_COUNT 1 and flat candles, the tick at t
// sees the price of minute floor(t / 60000) - 1.
import { config as rxjsConfig, map, timer } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ExchangeError,
  InvalidSignalError,
  listenError,
  listenSignal,
  liveTrade$,
  replayExchange,
  StrategyError,
  type Candle,
  type ExchangeSchema,
  type SignalDto,
  type StrategySchema,
  type TickResult,
} from "rxtrade";
import { candlesFromPrices, VirtualClock } from "rxtrade/testing";

const TICK = 60_001;
const MINUTE = 60_000;
const SYMBOL = "BTCUSDT";
const config = { CC_AVG_PRICE_CANDLES_COUNT: 1 };

/** Flat one-minute candles from minute -1 to `minutes`, priced by `priceAt(minute)`. */
function candles(minutes: number, priceAt: (minute: number) => number): Candle[] {
  return candlesFromPrices(
    Array.from({ length: minutes + 2 }, (_, i) => priceAt(i - 1)),
    { start: -MINUTE },
  );
}

/** A thenable (not a Promise) that resolves inside `then`, as some libraries' futures do. */
function syncThenable<T>(value: T): PromiseLike<T> {
  return {
    then(onFulfilled) {
      onFulfilled?.(value);
      return this as never;
    },
  };
}

/** A thenable whose `then` throws when called. */
function throwingThen(error: Error): PromiseLike<never> {
  return {
    then() {
      throw error;
    },
  };
}

/** A thenable whose `then` getter throws. */
function throwingGetter(error: Error): PromiseLike<never> {
  return {
    get then(): never {
      throw error;
    },
  };
}

// Stray failures: unhandled rejections, uncaught exceptions, rxjs's unhandled errors.
const stray: unknown[] = [];
const onRejection = (reason: unknown) => stray.push(["unhandledRejection", reason]);
const onException = (error: unknown) => stray.push(["uncaughtException", error]);
const cleanups: Array<() => void> = [];
beforeEach(() => {
  stray.length = 0;
  process.on("unhandledRejection", onRejection);
  process.on("uncaughtException", onException);
  const previous = rxjsConfig.onUnhandledError;
  rxjsConfig.onUnhandledError = (error) => stray.push(["rxjs onUnhandledError", error]);
  cleanups.push(() => (rxjsConfig.onUnhandledError = previous));
});
afterEach(async () => {
  // Unhandled rejections are reported after the microtasks drain; rxjs reports from a timeout.
  await new Promise((resolve) => setTimeout(resolve, 5));
  process.off("unhandledRejection", onRejection);
  process.off("uncaughtException", onException);
  for (const off of cleanups.splice(0)) off();
  expect(stray).toEqual([]);
});

function errorsAt(clock: VirtualClock): Array<{ error: Error; at: number }> {
  const seen: Array<{ error: Error; at: number }> = [];
  cleanups.push(listenError((error) => seen.push({ error, at: clock.now() })));
  return seen;
}

function ticksOf(strategyName: string): Array<[string, number]> {
  const seen: Array<[string, number]> = [];
  cleanups.push(listenSignal((r) => r.strategyName === strategyName && seen.push([r.action, r.timestamp])));
  return seen;
}

type Trade = [action: string, timestamp: number, price: number, closeReason: string | null];
const trade = (r: TickResult): Trade => [r.action, r.timestamp, r.currentPrice, r.action === "closed" ? r.closeReason : null];

describe("a strategy returning a synchronous thenable", () => {
  // The market is 100 up to minute 1 and 101.5 from minute 2: the tick at 180003 (the 3-minute
  // signal's expiry) sees 101.5. The exchange answers 1 s after each call, so that tick is in
  // flight at 181000, when 0.1.0's stray getSignal timeout (call at 1000 + 180 s) fired and
  // closed the signal at the previous tick's price, 100.
  const LONG: SignalDto = { id: "T1", position: "long", priceTakeProfit: 103, priceStopLoss: 97, minuteEstimatedTime: 3 };

  function runWith(answer: (dto: SignalDto | null) => ReturnType<StrategySchema["getSignal"]>, name: string) {
    const clock = new VirtualClock(0);
    const replay = replayExchange(candles(20, (m) => (m <= 1 ? 100 : 101.5)), clock);
    const exchange: ExchangeSchema = {
      exchangeName: "slow-replay",
      getCandles: (symbol, interval, since, limit) =>
        timer(1000, clock).pipe(map(() => replay.getCandles(symbol, interval, since, limit) as Candle[])),
    };
    let calls = 0;
    const strategy: StrategySchema = { strategyName: name, interval: "1m", getSignal: () => answer(calls++ === 0 ? LONG : null) };
    const errors = errorsAt(clock);
    const trades: Trade[] = [];
    const subscription = liveTrade$(SYMBOL, strategy, { exchange, scheduler: clock, config }).subscribe((r) => trades.push(trade(r)));
    clock.flush(6 * TICK);
    subscription.unsubscribe();
    return { trades, errors: errors.map((e) => [e.error.name, e.at]) };
  }

  it("gives exactly what the plain value gives: the same opened and closed results at the same prices, no error", () => {
    const plain = runWith((dto) => dto, "plain-value");
    const thenable = runWith((dto) => syncThenable(dto), "sync-thenable");
    expect(plain).toEqual({
      trades: [
        ["opened", 0, 100, null],
        ["closed", 3 * TICK, 101.5, "time_expired"],
      ],
      errors: [],
    });
    expect(thenable).toEqual(plain);
  });
});

describe("a then that throws is the call's error; the loop goes on", () => {
  const LONG: SignalDto = { id: "L1", position: "long", priceTakeProfit: 102, priceStopLoss: 98, minuteEstimatedTime: 60 };

  it.each([
    { kind: "a then that throws", make: throwingThen },
    { kind: "a then getter that throws", make: throwingGetter },
  ])("getSignal returning $kind: StrategyError on error$, an idle tick, then the next call opens", ({ kind, make }) => {
    const clock = new VirtualClock(0);
    const boom = new Error(`hostile thenable (${kind})`);
    const name = `hostile-signal-${kind.length}`;
    let calls = 0;
    const strategy: StrategySchema = {
      strategyName: name,
      interval: "1m",
      getSignal: () => (calls++ === 0 ? make(boom) : LONG),
    };
    const errors = errorsAt(clock);
    const ticks = ticksOf(name);
    const results: Array<[string, number]> = [];
    let failed: unknown;
    const subscription = liveTrade$(SYMBOL, strategy, {
      exchange: replayExchange(candles(20, () => 100), clock),
      scheduler: clock,
      config,
    }).subscribe({ next: (r) => results.push([r.action, r.timestamp]), error: (e: unknown) => (failed = e) });
    clock.flush(3 * TICK);
    subscription.unsubscribe();

    expect(failed).toBeUndefined();
    expect(errors.map((e) => [e.error.name, e.at])).toEqual([["StrategyError", 0]]);
    expect(errors[0]?.error).toBeInstanceOf(StrategyError);
    expect(errors[0]?.error.cause).toBe(boom);
    expect(errors[0]?.error.message).toContain(`hostile thenable (${kind})`);
    expect(ticks).toEqual([
      ["idle", 0],
      ["opened", TICK],
      ["active", 2 * TICK],
      ["active", 3 * TICK],
    ]);
    expect(results).toEqual([["opened", TICK]]);
  });

  it.each([
    { kind: "a then that throws", make: throwingThen },
    { kind: "a then getter that throws", make: throwingGetter },
  ])("getCandles returning $kind: ExchangeError on error$ after the attempts, then later ticks", ({ kind, make }) => {
    const clock = new VirtualClock(0);
    const boom = new Error(`hostile candles (${kind})`);
    const replay = replayExchange(candles(20, () => 100), clock);
    const asked: number[] = [];
    const exchange: ExchangeSchema = {
      exchangeName: "hostile-exchange",
      getCandles(symbol, interval, since, limit) {
        asked.push(clock.now());
        // Both attempts of the first tick get the hostile thenable.
        return clock.now() < TICK ? make(boom) : replay.getCandles(symbol, interval, since, limit);
      },
    };
    const name = `hostile-exchange-${kind.length}`;
    const strategy: StrategySchema = { strategyName: name, interval: "1m", getSignal: () => null };
    const errors = errorsAt(clock);
    const ticks = ticksOf(name);
    let failed: unknown;
    const subscription = liveTrade$(SYMBOL, strategy, {
      exchange,
      scheduler: clock,
      config: { ...config, CC_GET_CANDLES_RETRY_COUNT: 2, CC_GET_CANDLES_RETRY_DELAY_MS: 5000 },
    }).subscribe({ error: (e: unknown) => (failed = e) });
    clock.flush(4 * TICK);
    subscription.unsubscribe();

    expect(failed).toBeUndefined();
    expect(asked.slice(0, 2)).toEqual([0, 5000]);
    expect(errors.map((e) => [e.error.name, e.at])).toEqual([["ExchangeError", 5000]]);
    expect(errors[0]?.error).toBeInstanceOf(ExchangeError);
    expect(errors[0]?.error.cause).toBe(boom);
    expect(errors[0]?.error.message).toContain(`hostile candles (${kind})`);
    // The loop goes on: ticks after the failed one are priced and reported.
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    expect(ticks.every(([action, at]) => action === "idle" && at > 5000)).toBe(true);
  });
});

describe("an exchange answering with synchronous thenables", () => {
  it("gives the same results as the plain exchange", () => {
    const LONG: SignalDto = { id: "E1", position: "long", priceTakeProfit: 103, priceStopLoss: 97, minuteEstimatedTime: 3 };
    const runWith = (wrap: (candles: Candle[]) => ReturnType<ExchangeSchema["getCandles"]>) => {
      const clock = new VirtualClock(0);
      const replay = replayExchange(candles(20, (m) => (m <= 1 ? 100 : 101.5)), clock);
      const exchange: ExchangeSchema = {
        exchangeName: "wrapped",
        getCandles: (symbol, interval, since, limit) => wrap(replay.getCandles(symbol, interval, since, limit) as Candle[]),
      };
      let calls = 0;
      const strategy: StrategySchema = { strategyName: "wrapped", interval: "1m", getSignal: () => (calls++ === 0 ? LONG : null) };
      const trades: Trade[] = [];
      const errors = errorsAt(clock);
      const subscription = liveTrade$(SYMBOL, strategy, { exchange, scheduler: clock, config }).subscribe((r) => trades.push(trade(r)));
      clock.flush(6 * TICK);
      subscription.unsubscribe();
      return { trades, errors: errors.map((e) => e.error.name) };
    };
    const plain = runWith((c) => c);
    expect(plain.trades).toEqual([
      ["opened", 0, 100, null],
      ["closed", 3 * TICK, 101.5, "time_expired"],
    ]);
    expect(runWith((c) => syncThenable(c))).toEqual(plain);
  });
});

describe("a signal object whose property getter throws", () => {
  it("is an InvalidSignalError naming the field on error$, an idle tick, and the loop goes on", () => {
    const clock = new VirtualClock(0);
    const hostile = {
      position: "long",
      priceStopLoss: 98,
      minuteEstimatedTime: 60,
      get priceTakeProfit(): number {
        throw new Error("no TP today");
      },
    };
    const LONG: SignalDto = { id: "G1", position: "long", priceTakeProfit: 102, priceStopLoss: 98, minuteEstimatedTime: 60 };
    let calls = 0;
    const strategy: StrategySchema = {
      strategyName: "hostile-getter",
      interval: "1m",
      getSignal: () => (calls++ === 0 ? (hostile as unknown as SignalDto) : LONG),
    };
    const errors = errorsAt(clock);
    const ticks = ticksOf("hostile-getter");
    let failed: unknown;
    const subscription = liveTrade$(SYMBOL, strategy, {
      exchange: replayExchange(candles(20, () => 100), clock),
      scheduler: clock,
      config,
    }).subscribe({ error: (e: unknown) => (failed = e) });
    clock.flush(2 * TICK);
    subscription.unsubscribe();

    expect(failed).toBeUndefined();
    expect(errors.map((e) => [e.error.name, e.at])).toEqual([["InvalidSignalError", 0]]);
    const invalid = errors[0]?.error as InvalidSignalError;
    expect(invalid).toBeInstanceOf(InvalidSignalError);
    expect(invalid.problems).toEqual([
      "priceTakeProfit could not be read (its getter threw Error: no TP today); return a signal with plain data properties",
    ]);
    expect(ticks).toEqual([
      ["idle", 0],
      ["opened", TICK],
      ["active", 2 * TICK],
    ]);
  });
});
