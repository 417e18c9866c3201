// Asynchronous strategies and exchanges in virtual time (VirtualClock.flushAsync), the signal
// timeout, strategy failures, the getSignal throttle and getCandles retries.
// One tick every 60001 ms; with CC_AVG_PRICE_CANDLES_COUNT 1 and flat candles, the tick at t
// sees the price of minute floor(t / 60000) - 1.
import { config as rxjsConfig, map, of, timer, type Observable } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
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
  type SignalContext,
  type SignalDto,
  type StrategySchema,
  type TickResult,
} from "rxtrade";
import { candlesFromPrices, VirtualClock } from "rxtrade/testing";

const TICK = 60_001;
const MINUTE = 60_000;
const SYMBOL = "BTCUSDT";
const config = { CC_AVG_PRICE_CANDLES_COUNT: 1 };

const LONG: SignalDto = { id: "A1", position: "long", priceTakeProfit: 102, priceStopLoss: 98, minuteEstimatedTime: 60 };

/** Flat one-minute candles from minute -1 to `minutes`, priced by `priceAt(minute)`. */
function candles(minutes: number, priceAt: (minute: number) => number): Candle[] {
  return candlesFromPrices(
    Array.from({ length: minutes + 2 }, (_, i) => priceAt(i - 1)),
    { start: -MINUTE },
  );
}

function flatExchange(clock: VirtualClock): ExchangeSchema {
  return replayExchange(candles(2000, () => 100), clock);
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const off of cleanups.splice(0)) off();
});

function errorsAt(clock: VirtualClock): Array<{ error: Error; at: number }> {
  const seen: Array<{ error: Error; at: number }> = [];
  cleanups.push(listenError((error) => seen.push({ error, at: clock.now() })));
  return seen;
}

function signalsOf(strategyName: string, clock: VirtualClock): Array<TickResult & { at: number }> {
  const seen: Array<TickResult & { at: number }> = [];
  cleanups.push(listenSignal((r) => r.strategyName === strategyName && seen.push({ ...r, at: clock.now() })));
  return seen;
}

describe("async strategies and exchanges in virtual time", () => {
  const TICKS = 5000;
  // A wavy market: swings of ~±5 around 100, so 1 % targets are hit often.
  const market = (m: number) => Math.round((100 + 4 * Math.sin(m / 17) + 1.5 * Math.sin(m / 4.3)) * 100) / 100;

  /** The decision, as a pure function of the tick time and price; ids are deterministic. */
  function decide(when: Date, price: number): SignalDto | null {
    const k = Math.round(when.getTime() / TICK);
    if (k % 4 === 1) return null;
    const long = k % 2 === 0;
    const id = `sig-${k}`;
    const up = (p: number, pct: number) => p * (1 + pct / 100);
    const minuteEstimatedTime = k % 3 === 0 ? 4 : 30;
    if (k % 5 === 0) {
      const open = up(price, long ? -0.3 : 0.3);
      return {
        id,
        position: long ? "long" : "short",
        priceOpen: open,
        priceTakeProfit: up(open, long ? 1 : -1),
        priceStopLoss: up(open, long ? -1 : 1),
        minuteEstimatedTime,
      };
    }
    return {
      id,
      position: long ? "long" : "short",
      priceTakeProfit: up(price, long ? 1 : -1),
      priceStopLoss: up(price, long ? -1 : 1),
      minuteEstimatedTime,
    };
  }

  type Trade = [string, string, number, string | null];
  const trade = (r: TickResult): Trade => [r.action, r.signal?.id ?? "", r.timestamp, r.action === "closed" ? r.closeReason : null];

  function runSync(getSignal: (clock: VirtualClock) => StrategySchema["getSignal"], ticks: number): Trade[] {
    const clock = new VirtualClock(0);
    const exchange = replayExchange(candles(ticks + 10, market), clock);
    const trades: Trade[] = [];
    const strategy: StrategySchema = { strategyName: "wave", interval: "1m", getSignal: getSignal(clock) };
    const subscription = liveTrade$(SYMBOL, strategy, { exchange, scheduler: clock, config }).subscribe((r) => trades.push(trade(r)));
    clock.flush((ticks - 1) * TICK);
    subscription.unsubscribe();
    return trades;
  }

  const syncSignal = () => (_symbol: string, when: Date, ctx: SignalContext) => decide(when, ctx.currentPrice);
  const reference = runSync(syncSignal, TICKS);

  it("the synchronous reference run trades often", () => {
    expect(reference.filter((t) => t[0] === "opened").length).toBeGreaterThan(100);
    expect(reference.filter((t) => t[0] === "closed").length).toBeGreaterThan(100);
    expect(new Set(reference.filter((t) => t[0] === "closed").map((t) => t[3]))).toEqual(new Set(["take_profit", "stop_loss", "time_expired"]));
  });

  it("an async getSignal and a Promise exchange give the same opened/closed sequence over 5,000 ticks", async () => {
    const clock = new VirtualClock(0);
    const replay = replayExchange(candles(TICKS + 10, market), clock);
    let exchangeCalls = 0;
    const exchange: ExchangeSchema = {
      exchangeName: replay.exchangeName,
      getCandles(symbol, interval, since, limit) {
        exchangeCalls++;
        return Promise.resolve(replay.getCandles(symbol, interval, since, limit) as Candle[]);
      },
    };
    let strategyCandles = 0;
    const strategy: StrategySchema = {
      strategyName: "wave",
      interval: "1m",
      async getSignal(_symbol, when, ctx) {
        const recent = await ctx.getCandles("1m", 3);
        strategyCandles += recent.length;
        await Promise.resolve();
        return decide(when, ctx.currentPrice);
      },
    };
    const trades: Trade[] = [];
    let error: unknown;
    const subscription = liveTrade$(SYMBOL, strategy, { exchange, scheduler: clock, config }).subscribe({
      next: (r) => trades.push(trade(r)),
      error: (e: unknown) => (error = e),
    });
    await clock.flushAsync((TICKS - 1) * TICK);
    subscription.unsubscribe();

    expect(error).toBeUndefined();
    expect(exchangeCalls).toBeGreaterThanOrEqual(TICKS);
    expect(strategyCandles).toBeGreaterThan(0);
    expect(trades).toEqual(reference);
  });

  it.each([
    { kind: "a synchronous Observable (of)", delayed: false },
    { kind: "an Observable that answers 20 s later", delayed: true },
  ])("an Observable-returning getSignal ($kind) gives the same sequence", async ({ delayed }) => {
    // An error thrown inside a subscriber would otherwise surface later as an uncaught exception.
    const unhandled: unknown[] = [];
    const previous = rxjsConfig.onUnhandledError;
    rxjsConfig.onUnhandledError = (error) => unhandled.push(error);
    cleanups.push(() => (rxjsConfig.onUnhandledError = previous));
    const trades = runSync(
      (clock) =>
        (_symbol, when, ctx): Observable<SignalDto | null> =>
          delayed ? timer(20_000, clock).pipe(map(() => decide(when, ctx.currentPrice))) : of(decide(when, ctx.currentPrice)),
      1000,
    );
    // rxjs reports such errors from a setTimeout(0): let it run before looking.
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(unhandled).toEqual([]);
    expect(trades.length).toBeGreaterThan(20);
    expect(trades).toEqual(reference.filter((t) => t[2] <= 999 * TICK));
  });
});

describe("getSignal failures", () => {
  it("a getSignal that never settles: StrategyError and an idle tick after CC_MAX_SIGNAL_GENERATION_SECONDS, then the stream goes on", async () => {
    // A call that never settles: a small grace, so that flushAsync does not wait 1 s (its default) for it.
    const clock = new VirtualClock(0, { callGraceMs: 10 });
    const calls: number[] = [];
    const strategy: StrategySchema = {
      strategyName: "never",
      interval: "1m",
      getSignal(_symbol, when) {
        calls.push(when.getTime());
        return calls.length === 1 ? new Promise<SignalDto | null>(() => {}) : LONG;
      },
    };
    const errors = errorsAt(clock);
    const seen = signalsOf("never", clock);
    const results: Array<[string, number]> = [];
    const subscription = liveTrade$(SYMBOL, strategy, {
      exchange: flatExchange(clock),
      scheduler: clock,
      config: { ...config, CC_MAX_SIGNAL_GENERATION_SECONDS: 180 },
    }).subscribe((r) => results.push([r.action, clock.now()]));
    await clock.flushAsync(3 * TICK);
    subscription.unsubscribe();

    expect(errors.map((e) => [e.error.name, e.at])).toEqual([["StrategyError", 180_000]]);
    expect(errors[0]?.error).toBeInstanceOf(StrategyError);
    expect(errors[0]?.error.message).toContain("CC_MAX_SIGNAL_GENERATION_SECONDS");
    // The idle of the tick at 0 is reported when the wait ends; the ticks at 60001 and 120002
    // found that tick still in flight; the tick at 180003 asks again and opens.
    expect(seen.map((r) => [r.action, r.timestamp, r.at])).toEqual([
      ["idle", 0, 180_000],
      ["opened", 3 * TICK, 3 * TICK],
    ]);
    expect(calls).toEqual([0, 3 * TICK]);
    expect(results).toEqual([["opened", 3 * TICK]]);
  });

  it("throws, rejects and an invalid signal each give error$ and an idle tick; the stream goes on and opens later", async () => {
    const clock = new VirtualClock(0);
    const boom = new Error("boom");
    const nope = new Error("nope");
    const script: Array<() => ReturnType<StrategySchema["getSignal"]>> = [
      () => {
        throw boom;
      },
      () => Promise.reject(nope),
      // TP below the entry for a long.
      () => ({ id: "bad", position: "long", priceTakeProfit: 99, priceStopLoss: 98, minuteEstimatedTime: 60 }),
      () => Promise.resolve(LONG),
    ];
    const calls: number[] = [];
    const strategy: StrategySchema = {
      strategyName: "failing",
      interval: "1m",
      getSignal(_symbol, when) {
        calls.push(when.getTime());
        return (script[calls.length - 1] ?? (() => null))();
      },
    };
    const errors = errorsAt(clock);
    const seen = signalsOf("failing", clock);
    const results: Array<[string, string, number]> = [];
    let failed: unknown;
    const subscription = liveTrade$(SYMBOL, strategy, { exchange: flatExchange(clock), scheduler: clock, config }).subscribe({
      next: (r) => results.push([r.action, r.signal.id, r.timestamp]),
      error: (e: unknown) => (failed = e),
    });
    await clock.flushAsync(4 * TICK);
    subscription.unsubscribe();

    expect(failed).toBeUndefined();
    expect(errors.map((e) => [e.error.name, e.at])).toEqual([
      ["StrategyError", 0],
      ["StrategyError", TICK],
      ["InvalidSignalError", 2 * TICK],
    ]);
    expect(errors[0]?.error.cause).toBe(boom);
    expect(errors[1]?.error.cause).toBe(nope);
    expect(errors[2]?.error).toBeInstanceOf(InvalidSignalError);
    expect(errors[2]?.error.message).toContain("priceTakeProfit (99)");
    expect(seen.map((r) => [r.action, r.timestamp])).toEqual([
      ["idle", 0],
      ["idle", TICK],
      ["idle", 2 * TICK],
      ["opened", 3 * TICK],
      ["active", 4 * TICK],
    ]);
    expect(results).toEqual([["opened", "A1", 3 * TICK]]);
  });

  it('throttles getSignal to once per "5m", counting from the call, even when it answered late, null or threw', async () => {
    const clock = new VirtualClock(0);
    const calls: number[] = [];
    const script: Array<() => ReturnType<StrategySchema["getSignal"]>> = [
      () => timer(90_000, clock).pipe(map(() => null)), // answers 90 s after the call
      () => {
        throw new Error("boom");
      },
      () => null,
      () => Promise.reject(new Error("nope")),
    ];
    const strategy: StrategySchema = {
      strategyName: "throttled",
      interval: "5m",
      getSignal(_symbol, when) {
        calls.push(when.getTime());
        return (script[calls.length - 1] ?? (() => null))();
      },
    };
    const errors = errorsAt(clock);
    const seen = signalsOf("throttled", clock);
    const subscription = liveTrade$(SYMBOL, strategy, { exchange: flatExchange(clock), scheduler: clock, config }).subscribe();
    await clock.flushAsync(1_000_000);
    subscription.unsubscribe();

    // Ticks are every 60001 ms; the first at or after each call + 300000 ms asks again.
    expect(calls).toEqual([0, 5 * TICK, 10 * TICK, 15 * TICK]);
    expect(errors.map((e) => e.error.name)).toEqual(["StrategyError", "StrategyError"]);
    // 17 ticks (0 … 960016 ms) are all idle, but the one at 60001 found the first call in flight.
    expect(seen.every((r) => r.action === "idle")).toBe(true);
    expect(seen.map((r) => r.timestamp)).toEqual([0, ...Array.from({ length: 15 }, (_, i) => (i + 2) * TICK)]);
  });
});

describe("getCandles retries", () => {
  it.each([
    { kind: "throws", fail: (): Candle[] => { throw new Error("502 Bad Gateway"); } },
    { kind: "rejects", fail: (): Promise<Candle[]> => Promise.reject(new Error("502 Bad Gateway")) },
  ])(
    "an exchange that $kind is asked CC_GET_CANDLES_RETRY_COUNT times, CC_GET_CANDLES_RETRY_DELAY_MS apart, then error$ ExchangeError and a resubscribe after tickMs",
    async ({ fail }) => {
      const clock = new VirtualClock(0);
      const base = flatExchange(clock);
      const asked: number[] = [];
      const exchange: ExchangeSchema = {
        exchangeName: base.exchangeName,
        getCandles(symbol, interval, since, limit) {
          asked.push(clock.now());
          // Down from the tick at 60001 until 70001 inclusive.
          if (clock.now() >= TICK && clock.now() <= TICK + 10_000) return fail();
          return base.getCandles(symbol, interval, since, limit);
        },
      };
      const errors = errorsAt(clock);
      const seen = signalsOf("candles-retry", clock);
      const strategy: StrategySchema = { strategyName: "candles-retry", interval: "1m", getSignal: () => null };
      const subscription = liveTrade$(SYMBOL, strategy, {
        exchange,
        scheduler: clock,
        config: { ...config, CC_GET_CANDLES_RETRY_COUNT: 3, CC_GET_CANDLES_RETRY_DELAY_MS: 5000 },
      }).subscribe();
      await clock.flushAsync(TICK + 10_000 + 2 * TICK);
      subscription.unsubscribe();

      // 3 attempts 5000 ms apart, then the resubscribed pipeline ticks at 70001 + 60001.
      expect(asked).toEqual([0, TICK, TICK + 5000, TICK + 10_000, TICK + 10_000 + TICK, TICK + 10_000 + 2 * TICK]);
      expect(errors.map((e) => [e.error.name, e.at])).toEqual([["ExchangeError", TICK + 10_000]]);
      expect(errors[0]?.error).toBeInstanceOf(ExchangeError);
      expect(errors[0]?.error.message).toContain("502 Bad Gateway");
      expect(seen.map((r) => r.timestamp)).toEqual([0, TICK + 10_000 + TICK, TICK + 10_000 + 2 * TICK]);
    },
  );
});
