// What a hostile review of the issue-9 work broke (findings F1–F7), each pinned by a test that
// failed before its fix.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type SchedulerLike, Subject } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import {
  listenDoneLive,
  listenError,
  liveTrade$,
  memoryStore,
  replayExchange,
  setConfig,
  type SignalStore,
  StoreLockedError,
  StoreWriteError,
  StreamStalledError,
  type StrategySchema,
  type TickResult,
} from "rxtrade";
import { fileStore } from "rxtrade/node";
import { candlesFromPrices, VirtualClock } from "rxtrade/testing";
import { Deadline } from "../src/deadline";

const TICK = 60_001;
const MIN = 60_000;
// For calls that only virtual time settles, or nothing: flushAsync waits for each call in
// flight up to callGraceMs of real time (default 1000); a small grace keeps them cheap.
const VIRTUAL_CALLS = { callGraceMs: 10 };
const config = { CC_AVG_PRICE_CANDLES_COUNT: 1 };
const candles = candlesFromPrices(Array.from({ length: 600 }, () => 100), { start: -10 * MIN });
const long = (name: string, minutes = 3): StrategySchema => ({
  strategyName: name,
  interval: "1m",
  getSignal: (_s, _w, { currentPrice }) => ({ position: "long", priceTakeProfit: currentPrice * 1.01, priceStopLoss: currentPrice * 0.99, minuteEstimatedTime: minutes }),
});

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});
function errorsSeen(): Error[] {
  const errors: Error[] = [];
  cleanups.push(listenError((e) => errors.push(e)));
  return errors;
}

describe("F1: after a stop, failures keep their retry delay", () => {
  it("a store read that throws on every attempt is retried once per tick period, not in a loop", () => {
    const clock = new VirtualClock(0);
    errorsSeen();
    let reads = 0;
    const store: SignalStore = {
      read: () => {
        reads++;
        throw new Error("EACCES");
      },
      write: () => undefined,
    };
    const stop$ = new Subject<void>();
    liveTrade$("BTCUSDT", long("f1-read"), { exchange: replayExchange(candles, clock), store, stop$, scheduler: clock, config }).subscribe();
    clock.flush(3 * TICK);
    const before = reads;
    stop$.next();
    clock.flush(7 * TICK);
    // 0.1.0-era fix regressed here: hundreds of reads inside stop$.next(), then silence.
    expect(reads - before).toBeGreaterThanOrEqual(3);
    expect(reads - before).toBeLessThanOrEqual(5);
  });

  it("an exchange that fails after the stop is asked at the usual pace while the open position waits", () => {
    const clock = new VirtualClock(0);
    errorsSeen();
    let calls = 0;
    let down = false;
    const replay = replayExchange(candles, clock);
    const exchange = { ...replay, getCandles: (...a: Parameters<typeof replay.getCandles>) => (calls++, down ? Promise.reject(new Error("502")) : replay.getCandles(...a)) };
    const stop$ = new Subject<void>();
    liveTrade$("BTCUSDT", long("f1-exchange", 600), { exchange, stop$, scheduler: clock, config: { ...config, CC_GET_CANDLES_RETRY_COUNT: 1 } }).subscribe();
    clock.flush(TICK);
    stop$.next();
    down = true;
    const before = calls;
    return clock.flushAsync(11 * TICK).then(() => {
      // About one attempt per tick period (a failed tick, then the retry after tickMs).
      expect(calls - before).toBeLessThanOrEqual(12);
      expect(calls - before).toBeGreaterThanOrEqual(4);
    });
  });
});

describe("F2: a write past its time limit is reported and still waited for", () => {
  it("the late write's signal is reported opened before anything else; after doneLive$ the store holds what was last reported", async () => {
    const clock = new VirtualClock(0, VIRTUAL_CALLS);
    const errors = errorsSeen();
    const data = new Map<string, unknown>();
    const store: SignalStore = {
      read: (key) => Promise.resolve(data.get(key) ?? null),
      write: (key, value) =>
        new Promise<void>((resolve) => {
          clock.schedule(() => {
            data.set(key, value);
            resolve();
          }, 40_000); // past CC_STORE_TIMEOUT_SECONDS (30)
        }),
    };
    let asked = 0;
    const strategy: StrategySchema = { ...long("f2"), getSignal: (...a) => (asked++ === 0 ? long("f2").getSignal(...a) : null) };
    const stop$ = new Subject<void>();
    const results: TickResult[] = [];
    let done = false;
    cleanups.push(listenDoneLive((e) => e.strategyName === "f2" && (done = true)));
    liveTrade$("BTCUSDT", strategy, { exchange: replayExchange(candles, clock), store, stop$, scheduler: clock, config }).subscribe((r) => results.push(r));
    clock.schedule(() => stop$.next(), 35_000);
    await clock.flushAsync(20 * TICK);
    expect(errors.some((e) => e instanceof StoreWriteError && e.message.includes("did not settle within CC_STORE_TIMEOUT_SECONDS (30 s)"))).toBe(true);
    expect(results.map((r) => r.action)).toEqual(["opened", "closed"]);
    expect(done).toBe(true);
    expect(data.get("BTCUSDT:f2")).toBeNull();
  });
});

describe("F3: a hung lock does not hold up the next subscription for good", () => {
  it("subscribe; unsubscribe; subscribe with a lock that never settles: the second ends with the lock timeout", async () => {
    const clock = new VirtualClock(0, VIRTUAL_CALLS);
    const errors = errorsSeen();
    let locks = 0;
    const store: SignalStore = { ...memoryStore(), lock: () => (locks++, new Promise(() => {})) };
    const live$ = liveTrade$("BTCUSDT", long("f3"), { exchange: replayExchange(candles, clock), store, scheduler: clock, config });
    live$.subscribe().unsubscribe();
    let ended: unknown;
    live$.subscribe({ error: (e) => (ended = e) });
    await clock.flushAsync(2 * MIN);
    expect(locks).toBe(2);
    expect(ended).toBeInstanceOf(StoreLockedError);
    expect(errors).toContain(ended);
  });
});

describe("F4: a store read that fails on every retry is a stall", () => {
  it("StreamStalledError after CC_STALL_TICKS periods of failed reads", () => {
    const clock = new VirtualClock(0);
    const errors = errorsSeen();
    const store: SignalStore = {
      read: () => {
        throw new Error("EIO");
      },
      write: () => undefined,
    };
    liveTrade$("BTCUSDT", long("f4"), { exchange: replayExchange(candles, clock), store, scheduler: clock, config }).subscribe();
    clock.flush(7 * TICK);
    const stalls = errors.filter((e) => e instanceof StreamStalledError);
    expect(stalls).toHaveLength(1);
  });
});

describe("F5: a backward clock step does not stretch a pending call's time limit", () => {
  it("Deadline: armed, the clock steps back an hour, the call still times out within its limit", () => {
    const clock = new VirtualClock(10 * 3_600_000);
    let back = 0;
    const stepped: SchedulerLike = { now: () => clock.now() - back, schedule: clock.schedule.bind(clock) };
    const deadline = new Deadline(stepped, 30_000);
    let timedOutAt: number | undefined;
    deadline.arm(() => (timedOutAt = clock.now()));
    const armedAt = clock.now();
    clock.schedule(() => (back = 3_600_000), 10_000);
    clock.flush(armedAt + 2 * 3_600_000);
    expect(timedOutAt).toBeDefined();
    expect((timedOutAt as number) - armedAt).toBeLessThanOrEqual(60_000);
  });
});

describe("F6: subscribe; unsubscribe; subscribe with a new fileStore of the same folder each time", () => {
  it("the second stream waits for the first's release and runs", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rxtrade-f6-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const clock = new VirtualClock(0);
    const errors = errorsSeen();
    const make = () => liveTrade$("BTCUSDT", long("f6"), { exchange: replayExchange(candles, clock), store: fileStore(dir), scheduler: clock, config });
    make().subscribe().unsubscribe();
    const results: string[] = [];
    const second = make().subscribe({ next: (r) => results.push(r.action), error: (e) => results.push(`error ${e.name}`) });
    cleanups.push(() => second.unsubscribe());
    const deadline = Date.now() + 5_000;
    while (results.length === 0 && Date.now() < deadline) {
      await clock.flushAsync(clock.now());
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(results).toEqual(["opened"]);
    expect(errors).toEqual([]);
  });
});

describe("F7: a time limit a runtime timer cannot hold is refused", () => {
  it.each(["CC_STORE_TIMEOUT_SECONDS", "CC_EXCHANGE_TIMEOUT_SECONDS", "CC_MAX_SIGNAL_GENERATION_SECONDS"])("%s = 3000000 is a ConfigError", (key) => {
    expect(() => setConfig({ [key]: 3_000_000 })).toThrow(`${key} (3000000) must be at most 2147483 s`);
  });
});
