// Issue 9, items 5 and 7: calls that never settle are bounded and reported, a stream with no
// completed tick is "stalled", and a backward wall-clock step does not silence the loop.
// Every test here failed (or hung) on 0.1.0.
import { NEVER, type SchedulerLike } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import {
  addExchange,
  addStrategy,
  CallTimeoutError,
  type Candle,
  ExchangeError,
  type ExchangeSchema,
  Live,
  listenDoneLive,
  listenError,
  liveTrade$,
  memoryStore,
  replayExchange,
  type SignalStore,
  StoreLockedError,
  StoreReadError,
  StoreWriteError,
  StreamStalledError,
  type StrategySchema,
  type TickResult,
} from "rxtrade";
import { candlesFromPrices, VirtualClock } from "rxtrade/testing";

const TICK = 60_001;
// These calls hang on purpose: flushAsync waits for each call in flight up to callGraceMs of
// real time (default 1000), so a small grace keeps each hung call cheap.
const HUNG = { callGraceMs: 10 };
const config = { CC_AVG_PRICE_CANDLES_COUNT: 1, CC_EXCHANGE_TIMEOUT_SECONDS: 10, CC_STORE_TIMEOUT_SECONDS: 10 };
const LONG = { id: "L1", position: "long" as const, priceTakeProfit: 101, priceStopLoss: 99, minuteEstimatedTime: 60 };
const openOnce = (name: string): StrategySchema => {
  let asked = 0;
  return { strategyName: name, interval: "1m", getSignal: () => (asked++ === 0 ? LONG : null) };
};

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()?.();
});
function errorsSeen(): Error[] {
  const errors: Error[] = [];
  cleanups.push(listenError((e) => errors.push(e)));
  return errors;
}

/** A replay exchange whose calls number `hang` (1-based) never answer. */
function hangingExchange(candles: Candle[], clock: SchedulerLike, hang: (call: number) => boolean): ExchangeSchema & { calls: number } {
  const inner = replayExchange(candles, clock);
  const exchange = {
    exchangeName: "hanging",
    calls: 0,
    getCandles(symbol: string, interval: "1m", since: Date, limit: number) {
      exchange.calls++;
      if (hang(exchange.calls)) return new Promise<Candle[]>(() => {});
      return inner.getCandles(symbol, interval, since, limit);
    },
  };
  return exchange;
}

// Candle k opens at (k - 10) minutes: 100 up to minute 4, then 102 (above the take profit of 101).
const rising = candlesFromPrices(Array.from({ length: 60 }, (_, k) => (k < 15 ? 100 : 102)), { start: -10 * 60_000 });

describe("a call that never settles (9.5)", () => {
  it("getCandles: the attempt times out after CC_EXCHANGE_TIMEOUT_SECONDS, is retried, and the open position still closes on time", async () => {
    const clock = new VirtualClock(0, HUNG);
    const errors = errorsSeen();
    const exchange = hangingExchange(rising, clock, (call) => call === 3); // tick 2's first attempt
    const results: string[] = [];
    liveTrade$("BTCUSDT", openOnce("hang-once"), { exchange, scheduler: clock, config, stop$: NEVER }).subscribe((r) => results.push(`${r.action}@${r.timestamp}`));
    await clock.flushAsync(8 * TICK);
    expect(results).toEqual(["opened@0", `closed@${6 * TICK}`]);
    expect(errors).toEqual([]); // the retry succeeded: nothing to report
    expect(exchange.calls).toBe(10); // ticks 0..8 plus the retry of tick 2
  });

  it("getCandles hanging for good: ExchangeError (cause CallTimeoutError) on error$, then the stream is stalled; Live.list says so; it recovers", async () => {
    const clock = new VirtualClock(0, HUNG);
    const errors = errorsSeen();
    let down = false;
    const exchange = hangingExchange(rising, clock, () => down);
    addExchange({ ...exchange, exchangeName: "hang-forever-ex", getCandles: (...a) => exchange.getCandles(...a) });
    addStrategy({ strategyName: "hang-forever", interval: "1m", getSignal: () => null });
    const status = async () => (await Live.list()).find((p) => p.strategyName === "hang-forever")?.status;
    const stop = Live.background("BTCUSDT", { strategyName: "hang-forever", exchangeName: "hang-forever-ex", scheduler: clock, config, store: memoryStore() });
    await clock.flushAsync(2 * TICK);
    expect(await status()).toBe("running");
    down = true;
    const downAt = clock.now();
    await clock.flushAsync(downAt + 7 * TICK);
    const exchangeErrors = errors.filter((e) => e instanceof ExchangeError);
    expect(exchangeErrors.length).toBeGreaterThan(0);
    expect((exchangeErrors[0] as ExchangeError).cause).toBeInstanceOf(CallTimeoutError);
    expect(exchangeErrors[0]?.message).toContain("did not settle within CC_EXCHANGE_TIMEOUT_SECONDS (10 s)");
    const stalls = errors.filter((e) => e instanceof StreamStalledError);
    expect(stalls).toHaveLength(1);
    expect(stalls[0]?.message).toMatch(/hang-forever on BTCUSDT is stalled: no completed tick for 300 s/);
    // The last completed tick was at 2 x TICK; stalled 5 tick periods later.
    expect((stalls[0] as StreamStalledError).lastTickAt).toBe(2 * TICK);
    expect(await status()).toBe("stalled");
    down = false;
    await clock.flushAsync(clock.now() + 2 * TICK);
    expect(await status()).toBe("running");
    // With nothing open, a stop ends the loop at once even while a call is pending (9.6).
    down = true;
    await clock.flushAsync(clock.now() + TICK + 1);
    const done: number[] = [];
    cleanups.push(listenDoneLive((e) => e.strategyName === "hang-forever" && done.push(clock.now())));
    const stoppedAt = clock.now();
    stop();
    await clock.flushAsync(clock.now());
    expect(done).toEqual([stoppedAt]);
    expect(await status()).toBe("done");
  });

  const hangingStore = (which: "read" | "write" | "lock"): SignalStore => {
    const inner = memoryStore();
    return {
      read: (key) => (which === "read" ? new Promise(() => {}) : inner.read(key)),
      write: (key, value) => (which === "write" ? new Promise(() => {}) : inner.write(key, value)),
      lock: (key) => (which === "lock" ? new Promise(() => {}) : inner.lock!(key)),
    };
  };

  it("a store read that never settles: StoreReadError (cause CallTimeoutError), retried after a tick period", async () => {
    const clock = new VirtualClock(0, HUNG);
    const errors = errorsSeen();
    liveTrade$("BTCUSDT", openOnce("hang-read"), { exchange: replayExchange(rising, clock), store: hangingStore("read"), scheduler: clock, config }).subscribe();
    await clock.flushAsync(3 * TICK);
    const reads = errors.filter((e) => e instanceof StoreReadError);
    expect(reads.length).toBeGreaterThanOrEqual(2); // reported, and read again after the retry wait
    expect((reads[0] as StoreReadError).cause).toBeInstanceOf(CallTimeoutError);
    expect(reads[0]?.message).toContain("read(BTCUSDT:hang-read) did not settle within CC_STORE_TIMEOUT_SECONDS (10 s)");
  });

  it("a store write that never settles: StoreWriteError, the opened result is never emitted", async () => {
    const clock = new VirtualClock(0, HUNG);
    const errors = errorsSeen();
    const results: TickResult[] = [];
    liveTrade$("BTCUSDT", openOnce("hang-write"), { exchange: replayExchange(rising, clock), store: hangingStore("write"), scheduler: clock, config }).subscribe((r) => results.push(r));
    await clock.flushAsync(2 * TICK);
    expect(results).toEqual([]);
    const writes = errors.filter((e) => e instanceof StoreWriteError);
    expect(writes.length).toBeGreaterThanOrEqual(1);
    expect(writes[0]?.message).toContain("write(BTCUSDT:hang-write) did not settle within CC_STORE_TIMEOUT_SECONDS (10 s)");
  });

  it("a lock that never settles: StoreLockedError after CC_STORE_TIMEOUT_SECONDS, the stream ends with it", async () => {
    const clock = new VirtualClock(0, HUNG);
    const errors = errorsSeen();
    let ended: unknown;
    liveTrade$("BTCUSDT", openOnce("hang-lock"), { exchange: replayExchange(rising, clock), store: hangingStore("lock"), scheduler: clock, config }).subscribe({
      error: (e) => (ended = e),
    });
    await clock.flushAsync(TICK);
    expect(ended).toBeInstanceOf(StoreLockedError);
    expect((ended as Error).message).toContain("lock(BTCUSDT:hang-lock) did not settle within CC_STORE_TIMEOUT_SECONDS (10 s)");
    expect(errors).toEqual([ended]);
  });

  it("a getSignal that never settles is abandoned after CC_MAX_SIGNAL_GENERATION_SECONDS and the loop goes on", async () => {
    const clock = new VirtualClock(0, HUNG);
    const errors = errorsSeen();
    const asked: number[] = [];
    const strategy: StrategySchema = {
      strategyName: "hang-signal",
      interval: "1m",
      getSignal: (_s, when) => (asked.push(when.getTime()), new Promise(() => {})),
    };
    liveTrade$("BTCUSDT", strategy, { exchange: replayExchange(rising, clock), scheduler: clock, config: { ...config, CC_MAX_SIGNAL_GENERATION_SECONDS: 20 } }).subscribe();
    await clock.flushAsync(3 * TICK);
    expect(asked).toEqual([0, TICK, 2 * TICK, 3 * TICK]);
    expect(errors.map((e) => e.message).filter((m) => m.includes("did not settle within CC_MAX_SIGNAL_GENERATION_SECONDS (20 s)"))).toHaveLength(3);
  });
});

describe("the stall watchdog's limit is CC_STALL_TICKS tick periods, per stream", () => {
  it("CC_STALL_TICKS: 2 stalls after two periods with no completed tick", async () => {
    const clock = new VirtualClock(0, HUNG);
    const errors = errorsSeen();
    const exchange = hangingExchange(rising, clock, (call) => call > 1);
    liveTrade$("BTCUSDT", openOnce("stall-2"), { exchange, scheduler: clock, config: { ...config, CC_STALL_TICKS: 2 } }).subscribe();
    await clock.flushAsync(2 * TICK - 1);
    expect(errors.filter((e) => e instanceof StreamStalledError)).toHaveLength(0);
    // Tick 1 fails after its three timed-out attempts (40 s), the retry restarts the clock one
    // period later: the first beat past the limit says it.
    await clock.flushAsync(3 * TICK);
    const stalls = errors.filter((e) => e instanceof StreamStalledError) as StreamStalledError[];
    expect(stalls).toHaveLength(1);
    expect(stalls[0]?.lastTickAt).toBe(0);
    expect(stalls[0]?.limitMs).toBe(2 * TICK);
  });
});

describe("a backward wall-clock step (9.7)", () => {
  it("one hour back: the loop keeps its period, tick times never go backwards, and a fall through the stop loss closes the position", () => {
    const clock = new VirtualClock(0);
    // The wall clock the engine reads: the true (virtual) time, stepped back an hour at minute 5.
    let back = 0;
    const wall: SchedulerLike = { now: () => clock.now() - back, schedule: clock.schedule.bind(clock) };
    // The market (true time): 100, then a 10 % fall at minute 20.
    const market = candlesFromPrices(Array.from({ length: 200 }, (_, k) => (k < 30 ? 100 : 90)), { start: -10 * 60_000 });
    const results: TickResult[] = [];
    const exchange = replayExchange(market, clock);
    liveTrade$("BTCUSDT", openOnce("clock-step"), { exchange, scheduler: wall, config }).subscribe((r) => results.push(r));
    clock.schedule(() => (back = 3_600_000), 5 * 60_000);
    clock.flush(40 * TICK);
    expect(results.map((r) => r.action)).toEqual(["opened", "closed"]);
    const closed = results[1] as Extract<TickResult, { action: "closed" }>;
    expect(closed.closeReason).toBe("stop_loss");
    // The fall is seen on the first tick after minute 21 (the first closed 90 candle), true time.
    expect(closed.timestamp).toBeGreaterThanOrEqual(21 * 60_000);
    expect(closed.timestamp).toBeLessThan(21 * 60_000 + 2 * TICK);
  });

  it("ticks keep coming at their period across the step, with strictly increasing times", () => {
    const clock = new VirtualClock(0);
    let back = 0;
    const wall: SchedulerLike = { now: () => clock.now() - back, schedule: clock.schedule.bind(clock) };
    const times: number[] = [];
    const strategy: StrategySchema = { strategyName: "clock-step-idle", interval: "1m", getSignal: (_s, when) => (times.push(when.getTime()), null) };
    liveTrade$("BTCUSDT", strategy, { exchange: replayExchange(rising, clock), scheduler: wall, config }).subscribe();
    clock.schedule(() => (back = 3_600_000), 5 * TICK + 1);
    clock.flush(30 * TICK);
    expect(times).toHaveLength(31); // 0.1.0: 6, then silence for an hour
    for (let i = 1; i < times.length; i++) expect((times[i] as number) - (times[i - 1] as number)).toBe(TICK);
  });
});
