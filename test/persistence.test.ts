// Persistence of liveTrade$: resuming from the store after a restart, foreign rows, write and
// read failures, and locking. Virtual time on a VirtualClock; one tick every 60001 ms; with
// CC_AVG_PRICE_CANDLES_COUNT 1 and flat candles, the tick at t sees the price of the minute
// that closed last before t (minute floor(t / 60000) - 1).
import { Subject, type Subscription } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import {
  encodeState,
  listenError,
  listenSignal,
  liveTrade$,
  memoryStore,
  replayExchange,
  StoreConflictError,
  StoreLockedError,
  StoreReadError,
  StoreWriteError,
  type ExchangeSchema,
  type LiveOptions,
  type SignalDto,
  type SignalRow,
  type SignalStore,
  type StrategySchema,
  type TickResult,
} from "rxtrade";
import { candlesFromPrices, VirtualClock, scriptedStrategy } from "rxtrade/testing";

const TICK = 60_001;
const MINUTE = 60_000;
const SYMBOL = "BTCUSDT";
const config = { CC_AVG_PRICE_CANDLES_COUNT: 1, CC_GET_CANDLES_RETRY_COUNT: 1 };

const LONG: SignalDto = { id: "P1", position: "long", priceTakeProfit: 102, priceStopLoss: 98, minuteEstimatedTime: 15 };


/** Flat one-minute candles from minute -10 to 1000, priced by `priceAt(minute)`. */
function exchangeOf(clock: VirtualClock, priceAt: (minute: number) => number = () => 100): ExchangeSchema {
  const prices = Array.from({ length: 1011 }, (_, i) => priceAt(i - 10));
  return replayExchange(candlesFromPrices(prices, { start: -10 * MINUTE }), clock);
}

/** A stored open signal of (SYMBOL, strategyName, "replay"), opened at 0 at 100. */
function openRow(strategyName: string, overrides: Partial<SignalRow> = {}): SignalRow {
  return {
    id: "R1",
    position: "long",
    priceOpen: 100,
    priceTakeProfit: 102,
    priceStopLoss: 98,
    minuteEstimatedTime: 60,
    note: "",
    symbol: SYMBOL,
    strategyName,
    exchangeName: "replay",
    scheduledAt: 0,
    pendingAt: 0,
    ...overrides,
  };
}

interface Run {
  results: Array<TickResult & { at: number }>;
  error: unknown;
  completed: boolean;
  subscription: Subscription;
}

function start(clock: VirtualClock, strategy: StrategySchema, options: Partial<LiveOptions> & Pick<LiveOptions, "exchange">): Run {
  const run = { results: [], error: undefined, completed: false } as unknown as Run;
  run.subscription = liveTrade$(SYMBOL, strategy, { scheduler: clock, config, ...options }).subscribe({
    next: (r) => run.results.push({ ...r, at: clock.now() }),
    error: (e: unknown) => (run.error = e),
    complete: () => (run.completed = true),
  });
  return run;
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

const brief = (r: TickResult & { at: number }) => [r.action, r.signal?.id ?? null, r.at];

describe("restart: an open signal survives in the store", () => {
  // Opened at 0 at 100 (TP 102, SL 98, 15 minutes). The first stream stops at once; the second
  // starts at 600000 ms, sees 101 (minute 9), then minute 10 onwards.
  it.each([
    { reason: "take_profit", minute10: 102, closeAt: 600_000 + TICK, price: 102 },
    { reason: "stop_loss", minute10: 98, closeAt: 600_000 + TICK, price: 98 },
    // 15 minutes from pendingAt 0: the first tick at or after 900000 ms is 600000 + 5 x 60001.
    { reason: "time_expired", minute10: 101, closeAt: 600_000 + 5 * TICK, price: 101 },
  ])("a new liveTrade$ resumes it and closes it by $reason", ({ reason, minute10, closeAt, price }) => {
    const name = `restart-${reason}`;
    const clock = new VirtualClock(0);
    const exchange = exchangeOf(clock, (m) => (m < 0 ? 100 : m < 10 ? 101 : minute10));
    const store = memoryStore();
    const strategy = scriptedStrategy(name, [LONG]);
    const key = `${SYMBOL}:${name}`;

    const first = start(clock, strategy, { exchange, store });
    clock.flush(0);
    expect(first.results.map(brief)).toEqual([["opened", "P1", 0]]);
    first.subscription.unsubscribe();
    expect(store.read(key)).toMatchObject({ status: "opened", signal: { id: "P1", pendingAt: 0, priceOpen: 100 } });

    clock.flush(600_000);
    const seen = signalsOf(name, clock);
    const second = start(clock, strategy, { exchange, store });
    clock.flush(closeAt);
    second.subscription.unsubscribe();

    expect(second.results.map(brief)).toEqual([["closed", "P1", closeAt]]);
    expect(second.results[0]).toMatchObject({ closeReason: reason, currentPrice: price, closeTimestamp: closeAt, signal: { pendingAt: 0 } });
    // Resumed, not re-opened: active ticks until the close, and the strategy was not asked.
    expect(seen.map((r) => r.action)).toEqual([...Array(seen.length - 1).fill("active"), "closed"]);
    expect(seen[0]?.at).toBe(600_000);
    expect(strategy.calls).toEqual([0]);
    expect(store.read(key)).toBeNull();
  });
});

describe("a stored value that is not this stream's", () => {
  it.each([
    {
      what: "another strategy's signal",
      value: encodeState({ status: "opened", signal: openRow("theirs") }),
      names: ["theirs", "R1"],
    },
    {
      what: "another exchange's signal",
      value: encodeState({ status: "opened", signal: openRow("mine", { exchangeName: "binance" }) }),
      names: ["binance", "R1"],
    },
    { what: "an unrecognised value", value: { foo: 1 }, names: ['{"foo":1}'] },
  ])("$what is neither traded nor overwritten; error$ and a stream error name it", ({ value, names }) => {
    const clock = new VirtualClock(0);
    const store = memoryStore();
    const key = `${SYMBOL}:mine`;
    store.write(key, value);
    const before = JSON.stringify(store.read(key));
    const strategy = scriptedStrategy("mine", [LONG]);
    const errors = errorsAt(clock);
    const seen = signalsOf("mine", clock);

    const run = start(clock, strategy, { exchange: exchangeOf(clock), store });
    clock.flush(5 * TICK);
    run.subscription.unsubscribe();

    expect(run.error).toBeInstanceOf(StoreConflictError);
    const message = (run.error as Error).message;
    expect(message).toContain(key);
    for (const name of names) expect(message).toContain(name);
    expect(errors.some((e) => e.error === run.error)).toBe(true);
    expect(run.results).toEqual([]);
    expect(seen).toEqual([]);
    expect(strategy.calls).toEqual([]);
    expect(JSON.stringify(store.read(key))).toBe(before);
  });
});

describe("writes", () => {
  it("writes the store before the callbacks, signal$ and the stream hear of opened/closed", () => {
    const clock = new VirtualClock(0);
    const log: string[] = [];
    const inner = memoryStore();
    const store: SignalStore = {
      read: (key) => inner.read(key),
      write(key, value) {
        log.push(`write ${value === null ? "null" : (value as { status: string }).status}`);
        return inner.write(key, value);
      },
    };
    const strategy: StrategySchema = {
      ...scriptedStrategy("order", [LONG]),
      callbacks: {
        onOpen: () => log.push("onOpen"),
        onClose: () => log.push("onClose"),
      },
    };
    cleanups.push(listenSignal((r) => r.strategyName === "order" && (r.action === "opened" || r.action === "closed") && log.push(`signal$ ${r.action}`)));
    const exchange = exchangeOf(clock, (m) => (m < 1 ? 100 : 102));
    const run = liveTrade$(SYMBOL, strategy, { exchange, store, scheduler: clock, config }).subscribe((r) => log.push(`emit ${r.action}`));
    clock.flush(3 * TICK);
    run.unsubscribe();
    expect(log).toEqual([
      "write opened",
      "onOpen",
      "signal$ opened",
      "emit opened",
      "write null",
      "onClose",
      "signal$ closed",
      "emit closed",
    ]);
  });

  it("a write that fails and did not persist: no opened, StoreWriteError on error$, opened after the retry once the store works", () => {
    const clock = new VirtualClock(0);
    const inner = memoryStore();
    let failures = 1;
    const store: SignalStore = {
      read: (key) => inner.read(key),
      write(key, value) {
        if (failures-- > 0) throw new Error("disk full");
        return inner.write(key, value);
      },
    };
    const key = `${SYMBOL}:write-fails`;
    const strategy = scriptedStrategy("write-fails", [LONG, LONG]);
    const errors = errorsAt(clock);
    const seen = signalsOf("write-fails", clock);

    const run = start(clock, strategy, { exchange: exchangeOf(clock), store });
    clock.flush(0);
    expect(run.results).toEqual([]);
    expect(seen).toEqual([]);
    expect(inner.read(key)).toBeNull();
    expect(errors.map((e) => [e.error.name, e.at])).toEqual([["StoreWriteError", 0]]);
    expect(errors[0]?.error).toBeInstanceOf(StoreWriteError);

    clock.flush(TICK);
    run.subscription.unsubscribe();
    expect(run.error).toBeUndefined();
    expect(run.results.map(brief)).toEqual([["opened", "P1", TICK]]);
    expect(seen.map(brief)).toEqual([["opened", "P1", TICK]]);
    expect(inner.read(key)).toEqual(encodeState({ status: "opened", signal: run.results[0]?.signal as SignalRow }));
    expect(strategy.calls).toEqual([0, TICK]);
  });

  it("a write that throws but did persist (read-back equal) counts as done: opened is emitted", () => {
    const clock = new VirtualClock(0);
    const inner = memoryStore();
    const store: SignalStore = {
      read: (key) => inner.read(key),
      write(key, value) {
        inner.write(key, value);
        throw new Error("fsync timed out");
      },
    };
    const key = `${SYMBOL}:write-persisted`;
    const strategy = scriptedStrategy("write-persisted", [LONG]);

    const run = start(clock, strategy, { exchange: exchangeOf(clock), store });
    clock.flush(0);
    run.subscription.unsubscribe();
    expect(run.error).toBeUndefined();
    expect(run.results.map(brief)).toEqual([["opened", "P1", 0]]);
    expect(inner.read(key)).toEqual(encodeState({ status: "opened", signal: run.results[0]?.signal as SignalRow }));
  });

  it("a failed clear on close: closed is not emitted until the store holds null; the same signal closes after the retry", () => {
    const clock = new VirtualClock(0);
    const inner = memoryStore();
    let failClear = 1;
    const store: SignalStore = {
      read: (key) => inner.read(key),
      write(key, value) {
        if (value === null && failClear-- > 0) throw new Error("disk full");
        return inner.write(key, value);
      },
    };
    const strategy = scriptedStrategy("clear-fails", [LONG]);
    const errors = errorsAt(clock);
    // 100 at tick 0, 102 from tick 1: TP at tick 1 (write fails), again at the retry (2 x TICK).
    const run = start(clock, strategy, { exchange: exchangeOf(clock, (m) => (m < 0 ? 100 : 102)), store });
    clock.flush(2 * TICK);
    run.subscription.unsubscribe();
    expect(run.results.map(brief)).toEqual([
      ["opened", "P1", 0],
      ["closed", "P1", 2 * TICK],
    ]);
    expect(errors.map((e) => [e.error.name, e.at])).toEqual([["StoreWriteError", TICK]]);
    expect(inner.read(`${SYMBOL}:clear-fails`)).toBeNull();
    expect(strategy.calls).toEqual([0]);
  });
});

describe("reads", () => {
  it.each([
    { kind: "a plain Error", failure: () => new Error("EACCES") },
    { kind: "a StoreReadError without quarantinedTo", failure: () => new StoreReadError({ key: `${SYMBOL}:read-fails`, cause: new Error("EIO") }) },
  ])("$kind is retried and never starts fresh", ({ failure }) => {
    const clock = new VirtualClock(0);
    const inner = memoryStore();
    const key = `${SYMBOL}:read-fails`;
    inner.write(key, encodeState({ status: "opened", signal: openRow("read-fails") }));
    const reads: number[] = [];
    let failures = 2;
    const store: SignalStore = {
      read(k) {
        reads.push(clock.now());
        if (failures-- > 0) throw failure();
        return inner.read(k);
      },
      write: (k, value) => inner.write(k, value),
    };
    const strategy = scriptedStrategy("read-fails", [LONG]);
    const errors = errorsAt(clock);
    const seen = signalsOf("read-fails", clock);
    // R1 (opened at 100, TP 102) sees 100 until minute 1, then 102: the tick at 180003 closes it.
    const run = start(clock, strategy, { exchange: exchangeOf(clock, (m) => (m < 2 ? 100 : 102)), store });
    clock.flush(3 * TICK);
    run.subscription.unsubscribe();

    expect(reads).toEqual([0, TICK, 2 * TICK]);
    expect(errors.map((e) => [e.error.name, e.at])).toEqual([
      ["StoreReadError", 0],
      ["StoreReadError", TICK],
    ]);
    expect(errors.every((e) => e.error instanceof StoreReadError && e.error.quarantinedTo === undefined)).toBe(true);
    expect(seen.map(brief)).toEqual([
      ["active", "R1", 2 * TICK],
      ["closed", "R1", 3 * TICK],
    ]);
    expect(run.results.map(brief)).toEqual([["closed", "R1", 3 * TICK]]);
    expect(strategy.calls).toEqual([]);
  });

  it("a StoreReadError with quarantinedTo is reported on error$ and the key starts fresh", () => {
    const clock = new VirtualClock(0);
    const inner = memoryStore();
    const key = `${SYMBOL}:quarantined`;
    const corrupt = new StoreReadError({ key, path: "/data/k.json", quarantinedTo: "/data/k.json.corrupt-1", message: "Unexpected token" });
    let failures = 1;
    const store: SignalStore = {
      read(k) {
        if (failures-- > 0) throw corrupt;
        return inner.read(k);
      },
      write: (k, value) => inner.write(k, value),
    };
    const strategy = scriptedStrategy("quarantined", [LONG]);
    const errors = errorsAt(clock);
    const run = start(clock, strategy, { exchange: exchangeOf(clock), store });
    clock.flush(0);
    run.subscription.unsubscribe();

    expect(errors.map((e) => e.error)).toEqual([corrupt]);
    expect(strategy.calls).toEqual([0]);
    expect(run.results.map(brief)).toEqual([["opened", "P1", 0]]);
    expect(inner.read(key)).toMatchObject({ status: "opened", signal: { id: "P1" } });
  });
});

describe("locking", () => {
  /** memoryStore with a log of lock, read, write and release calls. */
  function spied(inner: SignalStore = memoryStore()) {
    const log: string[] = [];
    const store: SignalStore = {
      read(key) {
        log.push("read");
        return inner.read(key);
      },
      write(key, value) {
        log.push("write");
        return inner.write(key, value);
      },
      lock(key) {
        log.push("lock");
        const release = inner.lock!(key) as () => void;
        return () => {
          log.push("release");
          release();
        };
      },
    };
    return { store, log, inner };
  }

  it("locks once per subscription, before the first read, and a tick error does not re-lock; released on unsubscribe", () => {
    const clock = new VirtualClock(0);
    const { store, log } = spied();
    const base = exchangeOf(clock);
    // The tick at 60001 fails (one attempt per tick): the pipeline is resubscribed at 120002.
    const exchange: ExchangeSchema = {
      exchangeName: base.exchangeName,
      getCandles: (...args) => {
        if (clock.now() === TICK) throw new Error("exchange down");
        return base.getCandles(...args);
      },
    };
    const errors = errorsAt(clock);
    const run = start(clock, scriptedStrategy("lock-retry", []), { exchange, store });
    clock.flush(3 * TICK + 1);
    expect(errors.map((e) => [e.error.name, e.at])).toEqual([["ExchangeError", TICK]]);
    expect(log).toEqual(["lock", "read", "read"]);
    run.subscription.unsubscribe();
    expect(log).toEqual(["lock", "read", "read", "release"]);
  });

  it("releases the lock when the stream completes (graceful stop)", () => {
    const clock = new VirtualClock(0);
    const { store, log, inner } = spied();
    const stop$ = new Subject<void>();
    const run = start(clock, scriptedStrategy("lock-complete", []), { exchange: exchangeOf(clock), store, stop$ });
    clock.flush(TICK);
    expect(log).toEqual(["lock", "read"]);
    stop$.next();
    expect(run.completed).toBe(true);
    expect(log).toEqual(["lock", "read", "release"]);
    // The key can be locked again.
    expect(() => (inner.lock!(`${SYMBOL}:lock-complete`) as () => void)()).not.toThrow();
  });

  it("releases the lock when the stream errors", () => {
    const clock = new VirtualClock(0);
    const { store, log, inner } = spied();
    inner.write(`${SYMBOL}:lock-error`, { foo: 1 });
    const errors = errorsAt(clock);
    const run = start(clock, scriptedStrategy("lock-error", []), { exchange: exchangeOf(clock), store });
    clock.flush(TICK);
    expect(run.error).toBeInstanceOf(StoreConflictError);
    expect(errors.map((e) => e.error)).toContain(run.error);
    expect(log).toEqual(["lock", "read", "release"]);
  });

  it("releases a Promise lock that resolves after the stream was unsubscribed, and never reads", async () => {
    const clock = new VirtualClock(0);
    const log: string[] = [];
    let grant: (release: () => void) => void = () => {};
    const store: SignalStore = {
      read() {
        log.push("read");
        return null;
      },
      write() {},
      lock() {
        log.push("lock");
        return new Promise<() => void>((resolve) => (grant = resolve));
      },
    };
    const run = start(clock, scriptedStrategy("lock-pending", []), { exchange: exchangeOf(clock), store });
    run.subscription.unsubscribe();
    expect(log).toEqual(["lock"]);
    grant(() => log.push("release"));
    await clock.flushAsync(2 * TICK);
    expect(log).toEqual(["lock", "release"]);
  });

  it("waits for a Promise lock before the first read", async () => {
    // The lock settles only when the test grants it: flushAsync need not wait its default grace (1 s) for it.
    const clock = new VirtualClock(0, { callGraceMs: 10 });
    const log: string[] = [];
    let grant: (release: () => void) => void = () => {};
    const store: SignalStore = {
      read() {
        log.push("read");
        return null;
      },
      write() {},
      lock() {
        log.push("lock");
        return new Promise<() => void>((resolve) => (grant = resolve));
      },
    };
    const run = start(clock, scriptedStrategy("lock-async", []), { exchange: exchangeOf(clock), store });
    await clock.flushAsync(0);
    expect(log).toEqual(["lock"]);
    grant(() => log.push("release"));
    await clock.flushAsync(TICK);
    expect(log).toEqual(["lock", "read"]);
    run.subscription.unsubscribe();
    expect(log).toEqual(["lock", "read", "release"]);
  });

  it("a second liveTrade$ on the same memoryStore and key errors with StoreLockedError", () => {
    const clock = new VirtualClock(0);
    const store = memoryStore();
    const strategy = scriptedStrategy("lock-twice", []);
    const errors = errorsAt(clock);
    const first = start(clock, strategy, { exchange: exchangeOf(clock), store });
    const second = start(clock, strategy, { exchange: exchangeOf(clock), store });
    clock.flush(TICK);

    expect(second.error).toBeInstanceOf(StoreLockedError);
    expect((second.error as StoreLockedError).key).toBe(`${SYMBOL}:lock-twice`);
    expect((second.error as Error).message).toContain(`${SYMBOL}:lock-twice`);
    expect(errors.some((e) => e.error === second.error)).toBe(true);
    expect(first.error).toBeUndefined();
    // The first keeps ticking (and asking the strategy) alone.
    expect(strategy.calls).toEqual([0, TICK]);

    first.subscription.unsubscribe();
    const third = start(clock, strategy, { exchange: exchangeOf(clock), store });
    expect(third.error).toBeUndefined();
    third.subscription.unsubscribe();
  });
});
