// The seed-compatible facade (API.md "Seed-compatible facade"): Live.run/background/stop/list/
// getData/getReport/dump, the registries and the events, in virtual time on a VirtualClock.
//
// Fixture timing: one tick every 60001 ms; with CC_AVG_PRICE_CANDLES_COUNT 1 and flat candles
// starting at -60000 ms, the tick at k x 60001 ms (`at(k)`) sees the price of minute k exactly.
// Registries and pairs are module-level state: every test registers its own strategy and
// exchange names (`facade-<n>`, `facade-ex-<n>`).
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  addExchange,
  addStrategy,
  doneLive$,
  error$,
  exit$,
  Live,
  listenDoneLive,
  listenError,
  listenExit,
  listenPerformance,
  listenSignal,
  listenSignalLive,
  listenSignalLiveOnce,
  memoryStore,
  Performance,
  performance$,
  replayExchange,
  ReportWriteError,
  setDefaultStore,
  setLogger,
  signal$,
  signalLive$,
  StoreConflictError,
  StrategyError,
  type DoneEvent,
  type LiveContext,
  type LiveResult,
  type PerformanceEvent,
  type SignalDto,
  type SignalStore,
  type StrategySchema,
  type TickResult,
} from "rxtrade";
import { candlesFromPrices, VirtualClock } from "rxtrade/testing";

const TICK = 60_001;
const at = (k: number) => k * TICK;
const config = { CC_AVG_PRICE_CANDLES_COUNT: 1 };
const SYMBOL = "BTCUSDT";

// Immediate long at the tick price (100): TP 102, SL 98, one hour.
const LONG: SignalDto = { id: "L1", position: "long", priceTakeProfit: 102, priceStopLoss: 98, minuteEstimatedTime: 60 };

type Scripted = StrategySchema & { calls: number[] };

interface Fixture {
  name: string;
  clock: VirtualClock;
  store: SignalStore & { keys(): string[] };
  ctx: LiveContext;
  strategy: Scripted;
  key: string;
}

let sequence = 0;

/**
 * A registered strategy and exchange on a fresh VirtualClock. `prices` overrides the price of
 * given minutes (default 100). The strategy returns `script[i]` on its i-th call, then null
 * (or calls `getSignal` when given), and records each call's time.
 */
function fixture(
  options: { prices?: Record<number, number>; script?: Array<SignalDto | null>; getSignal?: StrategySchema["getSignal"]; callbacks?: StrategySchema["callbacks"] } = {},
): Fixture {
  sequence++;
  const name = `facade-${sequence}`;
  const exchangeName = `facade-ex-${sequence}`;
  const clock = new VirtualClock(0);
  const prices = Array.from({ length: 400 }, (_, minute) => options.prices?.[minute] ?? 100);
  addExchange(replayExchange(candlesFromPrices(prices, { start: -60_000 }), clock, { exchangeName }));
  const calls: number[] = [];
  const script = options.script ?? [];
  const strategy: Scripted = {
    strategyName: name,
    interval: "1m",
    calls,
    getSignal(symbol, when, ctx) {
      calls.push(when.getTime());
      if (options.getSignal !== undefined) return options.getSignal(symbol, when, ctx);
      return script[calls.length - 1] ?? null;
    },
    ...(options.callbacks === undefined ? {} : { callbacks: options.callbacks }),
  };
  addStrategy(strategy);
  const store = memoryStore();
  return { name, clock, store, strategy, key: `${SYMBOL}:${name}`, ctx: { strategyName: name, exchangeName, scheduler: clock, config, store } };
}

/** A row of another strategy under `key`: the engine must neither trade nor overwrite it. */
function foreignRow(symbol: string, exchangeName: string) {
  return {
    version: 1,
    status: "opened",
    signal: {
      id: "FOREIGN",
      position: "long",
      priceOpen: 100,
      priceTakeProfit: 102,
      priceStopLoss: 98,
      minuteEstimatedTime: 60,
      note: "",
      symbol,
      strategyName: "someone-else",
      exchangeName,
      scheduledAt: 0,
      pendingAt: 0,
    },
  };
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const off of cleanups.splice(0)) off();
});

// Errors in these tests are expected; keep them out of the console and let tests inspect them.
const logged = { warn: vi.fn(), error: vi.fn() };
beforeAll(() => setLogger(logged));
afterAll(() => setLogger(console));

async function statusOf(symbol: string, strategyName: string) {
  return (await Live.list()).find((p) => p.id === `${symbol}:${strategyName}`)?.status;
}

function doneOf(strategyName: string): DoneEvent[] {
  const seen: DoneEvent[] = [];
  cleanups.push(listenDoneLive((e) => e.strategyName === strategyName && seen.push(e)));
  return seen;
}

function liveActionsOf(strategyName: string, log: string[] = []): string[] {
  cleanups.push(listenSignalLive((r) => r.strategyName === strategyName && log.push(r.action)));
  return log;
}

function exits(): Error[] {
  const seen: Error[] = [];
  cleanups.push(listenExit((e) => seen.push(e)));
  return seen;
}

const macrotask = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("registries and names", () => {
  it("addStrategy/addExchange: a name already registered throws; a broken schema throws before it is registered", () => {
    const f = fixture();
    expect(() => addStrategy({ strategyName: f.name, interval: "1m", getSignal: () => null })).toThrow(/already registered/);
    expect(() => addExchange({ exchangeName: f.ctx.exchangeName, getCandles: () => [] })).toThrow(/already registered/);

    const name = `broken-${f.name}`;
    expect(() => addStrategy({ strategyName: name, interval: "1m" } as unknown as StrategySchema)).toThrow(TypeError);
    expect(() => addStrategy({ strategyName: name, getSignal: () => null } as unknown as StrategySchema)).toThrow(/interval/);
    expect(() => addExchange({ exchangeName: name } as never)).toThrow(/getCandles/);
    // Nothing was registered: the names are still free.
    expect(() => addStrategy({ strategyName: name, interval: "1m", getSignal: () => null })).not.toThrow();
    expect(() => addExchange({ exchangeName: name, getCandles: () => [] })).not.toThrow();
  });

  it("run and background throw synchronously for an unknown strategy or exchange", () => {
    const f = fixture();
    expect(() => Live.run(SYMBOL, { ...f.ctx, strategyName: "x-missing" })).toThrow("strategy x-missing not found");
    expect(() => Live.run(SYMBOL, { ...f.ctx, exchangeName: "y-missing" })).toThrow("exchange y-missing not found");
    expect(() => Live.background(SYMBOL, { ...f.ctx, strategyName: "x-missing" })).toThrow("strategy x-missing not found");
    expect(() => Live.background(SYMBOL, { ...f.ctx, exchangeName: "y-missing" })).toThrow("exchange y-missing not found");
    expect(f.clock.pending).toBe(0);
  });

  it("stop, getData, getReport and dump reject for an unknown strategy", async () => {
    await expect(Live.stop(SYMBOL, "x-missing")).rejects.toThrow("strategy x-missing not found");
    await expect(Live.getData(SYMBOL, "x-missing")).rejects.toThrow("strategy x-missing not found");
    await expect(Live.getReport(SYMBOL, "x-missing")).rejects.toThrow("strategy x-missing not found");
    await expect(Live.dump(SYMBOL, "x-missing", join(tmpdir(), "rxtrade-never-written"))).rejects.toThrow("strategy x-missing not found");
    await expect(Performance.getData(SYMBOL, "x-missing")).rejects.toThrow("strategy x-missing not found");
  });
});

describe("Live.run", () => {
  it("is lazy: nothing runs before subscribe", async () => {
    const f = fixture({ script: [LONG] });
    const reads: string[] = [];
    const run = Live.run(SYMBOL, { ...f.ctx, store: { read: (k) => (reads.push(k), null), write: () => {} } });
    f.clock.flush(at(3));
    expect(f.strategy.calls).toEqual([]);
    expect(reads).toEqual([]);
    expect(f.clock.pending).toBe(0);
    expect(await statusOf(SYMBOL, f.name)).toBe("idle");

    const sub = run.subscribe();
    expect(await statusOf(SYMBOL, f.name)).toBe("running");
    f.clock.flush(at(4));
    expect(f.strategy.calls).toEqual([at(3)]); // the loop starts at the clock's now
    sub.unsubscribe();
  });

  it(".subscribe receives the opened and closed results, with their signal", () => {
    // L1 opens at tick 0 (100), is active at ticks 1-2, closes by take profit at tick 3 (102.5 >= 102).
    const f = fixture({ script: [LONG], prices: { 3: 102.5 } });
    const results: LiveResult[] = [];
    const sub = Live.run(SYMBOL, f.ctx).subscribe((r) => results.push(r));
    f.clock.flush(at(5));
    expect(results.map((r) => [r.action, r.signal.id, r.timestamp, r.currentPrice])).toEqual([
      ["opened", "L1", 0, 100],
      ["closed", "L1", at(3), 102],
    ]);
    const closed = results[1];
    expect(closed?.action === "closed" && closed.closeReason).toBe("take_profit");
    expect(closed?.action === "closed" && closed.pnl.priceClose).toBe(102);
    expect(closed).toMatchObject({ symbol: SYMBOL, strategyName: f.name, exchangeName: f.ctx.exchangeName, backtest: false });
    sub.unsubscribe();
  });

  it("for await: iteration starts the loop, results arrive as the clock is flushed, break detaches and tears the loop down", async () => {
    const f = fixture({ script: [LONG], prices: { 3: 102.5 } });
    const seen: Array<[string, number]> = [];
    const consumer = (async () => {
      for await (const r of Live.run(SYMBOL, f.ctx)) {
        seen.push([r.action, r.timestamp]);
        if (r.action === "closed") break;
      }
    })();
    // The iteration has subscribed synchronously: the loop is running.
    expect(await statusOf(SYMBOL, f.name)).toBe("running");

    f.clock.flush(at(1));
    await macrotask();
    expect(seen).toEqual([["opened", 0]]);

    f.clock.flush(at(3));
    await consumer;
    expect(seen).toEqual([
      ["opened", 0],
      ["closed", at(3)],
    ]);
    // The only consumer left: the loop is torn down, no more ticks, no done event (no graceful stop).
    expect(await statusOf(SYMBOL, f.name)).toBe("done");
    expect(f.clock.pending).toBe(0);
  });

  it("for await buffers results produced between awaits and ends when the loop ends gracefully", async () => {
    const f = fixture({ script: [LONG], prices: { 3: 102.5 } });
    const done = doneOf(f.name);
    const seen: string[] = [];
    let finished = false;
    const consumer = (async () => {
      for await (const r of Live.run(SYMBOL, f.ctx)) seen.push(`${r.action} ${r.signal.id}`);
      finished = true;
    })();
    // Both results are produced inside one synchronous flush, before the consumer runs again.
    f.clock.flush(at(4));
    await Live.stop(SYMBOL, f.name);
    await consumer;
    expect(seen).toEqual(["opened L1", "closed L1"]);
    expect(finished).toBe(true);
    expect(done).toHaveLength(1);
  });

  it("for await with flushAsync, beside a second consumer: break detaches only the one that breaks", async () => {
    const f = fixture({ script: [LONG, LONG], prices: { 3: 102.5, 6: 102.5 } });
    const other: string[] = [];
    const sub = Live.run(SYMBOL, f.ctx).subscribe((r) => other.push(`${r.action}@${r.timestamp / TICK}`));
    const seen: string[] = [];
    const consumer = (async () => {
      for await (const r of Live.run(SYMBOL, f.ctx)) {
        seen.push(`${r.action}@${r.timestamp / TICK}`);
        if (r.action === "closed") break;
      }
    })();
    await f.clock.flushAsync(at(8));
    await consumer;
    // Tick 4: L1 closed, the strategy's second LONG opens at 100; it closes at tick 6.
    expect(seen).toEqual(["opened@0", "closed@3"]);
    expect(other).toEqual(["opened@0", "closed@3", "opened@4", "closed@6"]);
    expect(await statusOf(SYMBOL, f.name)).toBe("running");
    sub.unsubscribe();
    expect(await statusOf(SYMBOL, f.name)).toBe("done");
  });

  it("an error that ends the loop reaches run subscribers, for await consumers and exit$; the foreign row is left untouched", async () => {
    const f = fixture({ script: [LONG] });
    const row = foreignRow(SYMBOL, f.ctx.exchangeName);
    f.store.write(f.key, row);
    const exited = exits();
    let failure: unknown;
    Live.run(SYMBOL, f.ctx).subscribe({ error: (e: unknown) => (failure = e) });
    f.clock.flush(at(2));
    expect(failure).toBeInstanceOf(StoreConflictError);
    expect(exited).toContain(failure);
    expect(await statusOf(SYMBOL, f.name)).toBe("done");
    expect(f.strategy.calls).toEqual([]);
    expect(f.store.read(f.key)).toEqual(row);

    const iterate = (async () => {
      for await (const _ of Live.run(SYMBOL, f.ctx)) {
        // never reached
      }
    })();
    f.clock.flush(at(3));
    await expect(iterate).rejects.toBeInstanceOf(StoreConflictError);
    expect(exited.filter((e) => e instanceof StoreConflictError && e.strategyName === f.name)).toHaveLength(2);
  });
});

describe("Live.background and Live.stop", () => {
  it("background + cancel with nothing open: done at once, exactly one doneLive$ event", async () => {
    const f = fixture();
    const done = doneOf(f.name);
    const cancel = Live.background(SYMBOL, f.ctx);
    expect(typeof cancel).toBe("function");
    expect(await statusOf(SYMBOL, f.name)).toBe("running");
    f.clock.flush(at(2));
    expect(f.strategy.calls).toEqual([0, at(1), at(2)]);

    cancel();
    expect(done).toEqual([{ symbol: SYMBOL, strategyName: f.name, exchangeName: f.ctx.exchangeName, backtest: false }]);
    expect(await statusOf(SYMBOL, f.name)).toBe("done");
    expect(f.clock.pending).toBe(0);

    cancel();
    f.clock.flush(at(10));
    expect(done).toHaveLength(1);
    expect(f.strategy.calls).toHaveLength(3);
  });

  it("background + cancel with an open signal: done only after it closes, exactly one done event, after the closed result", async () => {
    // L1 opens at tick 0; cancel at tick 1; it closes by take profit at tick 4.
    const f = fixture({ script: [LONG, LONG], prices: { 4: 102.5 } });
    const log = liveActionsOf(f.name);
    cleanups.push(listenDoneLive((e) => e.strategyName === f.name && log.push("done")));
    const cancel = Live.background(SYMBOL, f.ctx);
    f.clock.flush(at(1));
    cancel();
    f.clock.flush(at(3));
    expect(log).toEqual(["opened", "active", "active", "active"]);
    expect(await statusOf(SYMBOL, f.name)).toBe("running");

    f.clock.flush(at(4));
    expect(log).toEqual(["opened", "active", "active", "active", "closed", "done"]);
    expect(await statusOf(SYMBOL, f.name)).toBe("done");

    f.clock.flush(at(10));
    expect(log.filter((a) => a === "done")).toHaveLength(1);
    expect(f.strategy.calls).toEqual([0]); // no new signal after the stop
  });

  it("Live.stop: repeated calls resolve and have no further effect; a stop of a pair that is not running does nothing", async () => {
    const f = fixture({ script: [LONG], prices: { 3: 102.5 } });
    const done = doneOf(f.name);
    await expect(Live.stop(SYMBOL, f.name)).resolves.toBeUndefined(); // never ran
    Live.background(SYMBOL, f.ctx);
    f.clock.flush(at(1));
    await expect(Live.stop(SYMBOL, f.name)).resolves.toBeUndefined();
    await expect(Live.stop(SYMBOL, f.name)).resolves.toBeUndefined();
    await Live.stop(SYMBOL, f.name);
    expect(done).toHaveLength(0); // L1 is still open
    f.clock.flush(at(10));
    expect(done).toHaveLength(1);
    expect(f.strategy.calls).toEqual([0]);
    await expect(Live.stop(SYMBOL, f.name)).resolves.toBeUndefined(); // a done pair
    f.clock.flush(at(20));
    expect(done).toHaveLength(1);
    expect(await statusOf(SYMBOL, f.name)).toBe("done");
  });

  it("Live.stop ends a loop held only by run consumers: they complete after the last result", async () => {
    const f = fixture();
    const done = doneOf(f.name);
    let completed = false;
    Live.run(SYMBOL, f.ctx).subscribe({ complete: () => (completed = true) });
    f.clock.flush(at(1));
    await Live.stop(SYMBOL, f.name);
    expect(completed).toBe(true);
    expect(done).toHaveLength(1);
    expect(await statusOf(SYMBOL, f.name)).toBe("done");
  });

  it("the closure of a loop that already ended does nothing (a later loop is not stopped by it)", async () => {
    const f = fixture();
    const done = doneOf(f.name);
    const cancelFirst = Live.background(SYMBOL, f.ctx);
    f.clock.flush(at(0));
    cancelFirst();
    expect(done).toHaveLength(1);

    const cancelSecond = Live.background(SYMBOL, f.ctx);
    f.clock.flush(at(2));
    cancelFirst();
    f.clock.flush(at(4));
    expect(done).toHaveLength(1);
    expect(await statusOf(SYMBOL, f.name)).toBe("running");
    expect(f.strategy.calls).toEqual([0, 0, at(1), at(2), at(3), at(4)]); // the second loop started at 0 too

    cancelSecond();
    expect(done).toHaveLength(2);
    expect(await statusOf(SYMBOL, f.name)).toBe("done");
  });

  it("an error that ends a background loop reaches exit$ and listenExit", async () => {
    const f = fixture();
    f.store.write(f.key, foreignRow(SYMBOL, f.ctx.exchangeName));
    const exited = exits();
    const viaObservable: Error[] = [];
    const sub = exit$.subscribe((e) => viaObservable.push(e));
    cleanups.push(() => sub.unsubscribe());
    const done = doneOf(f.name);
    Live.background(SYMBOL, f.ctx);
    f.clock.flush(at(1));
    expect(exited).toHaveLength(1);
    expect(exited[0]).toBeInstanceOf(StoreConflictError);
    expect(exited[0]?.message).toContain(f.key);
    expect(viaObservable).toEqual(exited);
    expect(done).toHaveLength(0);
    expect(await statusOf(SYMBOL, f.name)).toBe("done");
  });

  it("background with an option the engine rejects (tickMs 0) does not fail silently: it throws or reports on exit$", () => {
    // API.md: errors that end a background run reach exit$; tradeContext rejects tickMs <= 0.
    const f = fixture();
    const exited = exits();
    let thrown: unknown;
    try {
      Live.background(SYMBOL, { ...f.ctx, tickMs: 0 });
    } catch (error) {
      thrown = error;
    }
    f.clock.flush(at(3));
    expect(thrown !== undefined || exited.length === 1).toBe(true);
  });
});

describe("joining a running pair", () => {
  it("a second run and a background share ONE loop: getSignal once per tick, the same results to every consumer", () => {
    // L1 opens at tick 0, closes at tick 3; ticks 4 and 5 ask the strategy again.
    const f = fixture({ script: [LONG], prices: { 3: 102.5 } });
    const perf: PerformanceEvent[] = [];
    cleanups.push(listenPerformance((e) => e.strategyName === f.name && perf.push(e)));
    const a: LiveResult[] = [];
    const b: LiveResult[] = [];
    const subA = Live.run(SYMBOL, f.ctx).subscribe((r) => a.push(r));
    const subB = Live.run(SYMBOL, f.ctx).subscribe((r) => b.push(r));
    const cancel = Live.background(SYMBOL, f.ctx);
    f.clock.flush(at(5));
    expect(f.strategy.calls).toEqual([0, at(4), at(5)]);
    expect(perf.map((e) => e.timestamp)).toEqual([0, 1, 2, 3, 4, 5].map(at));
    expect(a.map((r) => r.action)).toEqual(["opened", "closed"]);
    expect(b).toHaveLength(2);
    expect(b[0]).toBe(a[0]);
    expect(b[1]).toBe(a[1]);
    subA.unsubscribe();
    subB.unsubscribe();
    cancel();
  });

  it("a consumer that joins later receives only the results produced while it is attached", () => {
    const f = fixture({ script: [LONG], prices: { 3: 102.5 } });
    const cancel = Live.background(SYMBOL, f.ctx);
    f.clock.flush(at(1));
    const late: string[] = [];
    const sub = Live.run(SYMBOL, f.ctx).subscribe((r) => late.push(r.action));
    f.clock.flush(at(5));
    expect(late).toEqual(["closed"]);
    expect(f.strategy.calls).toEqual([0, at(4), at(5)]);
    sub.unsubscribe();
    cancel();
  });

  it("two backgrounds share one loop; one closure stops it gracefully, with one done event", async () => {
    const f = fixture();
    const done = doneOf(f.name);
    const first = Live.background(SYMBOL, f.ctx);
    const second = Live.background(SYMBOL, f.ctx);
    f.clock.flush(at(2));
    expect(f.strategy.calls).toEqual([0, at(1), at(2)]);
    second();
    expect(done).toHaveLength(1);
    first();
    expect(done).toHaveLength(1);
    expect(await statusOf(SYMBOL, f.name)).toBe("done");
  });
});

describe("Live.list", () => {
  it("statuses idle -> running -> done -> running again", async () => {
    const f = fixture();
    const run = Live.run(SYMBOL, f.ctx);
    expect((await Live.list()).filter((p) => p.strategyName === f.name)).toEqual([
      { id: `${SYMBOL}:${f.name}`, symbol: SYMBOL, strategyName: f.name, status: "idle" },
    ]);
    const sub = run.subscribe();
    expect(await statusOf(SYMBOL, f.name)).toBe("running");
    f.clock.flush(at(1));
    sub.unsubscribe();
    expect(await statusOf(SYMBOL, f.name)).toBe("done");
    const cancel = Live.background(SYMBOL, f.ctx);
    expect(await statusOf(SYMBOL, f.name)).toBe("running");
    f.clock.flush(at(3));
    expect(f.strategy.calls).toEqual([0, at(1), at(1), at(2), at(3)]); // a new loop ticks at once
    cancel();
    expect(await statusOf(SYMBOL, f.name)).toBe("done");
    const again = Live.run(SYMBOL, f.ctx).subscribe();
    expect(await statusOf(SYMBOL, f.name)).toBe("running");
    again.unsubscribe();
  });

  it("three pairs (BTCUSDT, ETHUSDT, SOLUSDT) running at once are listed as running", async () => {
    const f = fixture();
    const symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];
    const cancels = symbols.map((symbol) => Live.background(symbol, f.ctx));
    f.clock.flush(at(2));
    const listed = (await Live.list()).filter((p) => p.strategyName === f.name).sort((x, y) => x.id.localeCompare(y.id));
    expect(listed).toEqual(symbols.map((symbol) => ({ id: `${symbol}:${f.name}`, symbol, strategyName: f.name, status: "running" })));
    expect(f.strategy.calls).toHaveLength(9); // 3 ticks x 3 pairs
    for (const cancel of cancels) cancel();
    expect((await Live.list()).filter((p) => p.strategyName === f.name).map((p) => p.status)).toEqual(["done", "done", "done"]);
  });

  it("lists a pair touched only by getData/getReport/stop as idle", async () => {
    // API.md: list() holds every pair that any Live method has touched; idle before its first start.
    const f = fixture();
    await Live.getData("XRPUSDT", f.name);
    await Live.getReport("ADAUSDT", f.name);
    await Live.stop("DOTUSDT", f.name);
    const listed = (await Live.list()).filter((p) => p.strategyName === f.name).map((p) => [p.symbol, p.status]);
    expect(listed.sort()).toEqual([
      ["ADAUSDT", "idle"],
      ["DOTUSDT", "idle"],
      ["XRPUSDT", "idle"],
    ]);
  });

  it("inside a doneLive$ listener the loop has ended: list() says done", async () => {
    // API.md: doneLive$ tells when the loop has ended; list() says done once it has ended.
    const f = fixture();
    let listed: Promise<Awaited<ReturnType<typeof Live.list>>> | undefined;
    cleanups.push(listenDoneLive((e) => e.strategyName === f.name && (listed ??= Live.list())));
    const cancel = Live.background(SYMBOL, f.ctx);
    f.clock.flush(at(0));
    cancel();
    expect(listed).toBeDefined();
    expect((await listed)?.find((p) => p.strategyName === f.name)?.status).toBe("done");
  });

  it("a pair started again from a doneLive$ listener runs a new loop", async () => {
    // API.md: a done pair can be started again; the done event comes after the loop's last result.
    const f = fixture();
    let restarted = false;
    cleanups.push(
      listenDoneLive((e) => {
        if (e.strategyName !== f.name || restarted) return;
        restarted = true;
        Live.background(SYMBOL, f.ctx);
      }),
    );
    const cancel = Live.background(SYMBOL, f.ctx);
    f.clock.flush(at(0));
    cancel();
    expect(restarted).toBe(true);
    f.clock.flush(at(2));
    expect(await statusOf(SYMBOL, f.name)).toBe("running");
    expect(f.strategy.calls).toEqual([0, 0, at(1), at(2)]);
  });
});

describe("teardown and resume", () => {
  it("the last consumer leaving tears the loop down; the open signal stays in the store and resumes on the next start", async () => {
    const f = fixture({ script: [LONG], prices: { 5: 102.5 } });
    const done = doneOf(f.name);
    const sub = Live.run(SYMBOL, f.ctx).subscribe();
    f.clock.flush(at(1));
    sub.unsubscribe();
    expect(await statusOf(SYMBOL, f.name)).toBe("done");
    expect(f.clock.pending).toBe(0);
    expect(done).toHaveLength(0);
    expect(f.store.read(f.key)).toMatchObject({ version: 1, status: "opened", signal: { id: "L1", pendingAt: 0 } });
    // Statistics of the ended loop are kept.
    expect((await Live.getData(SYMBOL, f.name)).eventList.map((r) => r.action)).toEqual(["active", "opened"]);

    // The next loop starts at at(1) and ticks at at(1), at(2), …: L1 is resumed, not asked for again.
    const results: LiveResult[] = [];
    const again = Live.run(SYMBOL, f.ctx).subscribe((r) => results.push(r));
    expect((await Live.getData(SYMBOL, f.name)).eventList).toEqual([]); // reset when a new loop starts
    f.clock.flush(at(5));
    expect(results.map((r) => [r.action, r.signal.id, r.timestamp])).toEqual([["closed", "L1", at(5)]]);
    expect(f.strategy.calls).toEqual([0]);
    expect(f.store.read(f.key)).toBeNull();
    const stats = await Live.getData(SYMBOL, f.name);
    expect(stats.eventList.map((r) => r.action)).toEqual(["closed", "active"]);
    expect(stats.totalClosed).toBe(1);
    again.unsubscribe();
  });

  it("setDefaultStore: the facade's store when ctx.store is absent", () => {
    const f = fixture({ script: [LONG] });
    const backing = memoryStore();
    const reads: string[] = [];
    setDefaultStore({ read: (key) => (reads.push(key), backing.read(key)), write: (key, value) => backing.write(key, value) });
    const { store: _unused, ...withoutStore } = f.ctx;
    const cancel = Live.background(SYMBOL, withoutStore);
    f.clock.flush(at(0));
    expect(reads).toEqual([f.key]);
    expect(backing.read(f.key)).toMatchObject({ status: "opened", signal: { id: "L1" } });
    expect(f.store.read(f.key)).toBeNull();
    cancel();
    expect(() => setDefaultStore({} as SignalStore)).toThrow(TypeError);
  });
});

describe("events", () => {
  it("signal$ and signalLive$ carry every tick result (idle, opened, active, closed), each but idle with its signal", () => {
    // Tick 0 idle (null), tick 1 L1 opens, tick 2 active, tick 3 closed (102.5), tick 4 idle.
    const f = fixture({ script: [null, LONG], prices: { 3: 102.5 } });
    const viaListen: TickResult[] = [];
    const viaLive: TickResult[] = [];
    const viaObservable: TickResult[] = [];
    const viaLiveObservable: TickResult[] = [];
    cleanups.push(listenSignal((r) => r.strategyName === f.name && viaListen.push(r)));
    cleanups.push(listenSignalLive((r) => r.strategyName === f.name && viaLive.push(r)));
    const s1 = signal$.subscribe((r) => r.strategyName === f.name && viaObservable.push(r));
    const s2 = signalLive$.subscribe((r) => r.strategyName === f.name && viaLiveObservable.push(r));
    cleanups.push(() => s1.unsubscribe(), () => s2.unsubscribe());
    const cancel = Live.background(SYMBOL, f.ctx);
    f.clock.flush(at(4));
    expect(viaListen.map((r) => [r.action, r.signal?.id ?? null, r.timestamp])).toEqual([
      ["idle", null, 0],
      ["opened", "L1", at(1)],
      ["active", "L1", at(2)],
      ["closed", "L1", at(3)],
      ["idle", null, at(4)],
    ]);
    expect(viaLive).toEqual(viaListen);
    expect(viaObservable).toEqual(viaListen);
    expect(viaLiveObservable).toEqual(viaListen);
    for (const r of viaListen) {
      expect(r).toMatchObject({ symbol: SYMBOL, strategyName: f.name, exchangeName: f.ctx.exchangeName, backtest: false });
      if (r.action !== "idle") expect(r.signal).toMatchObject({ id: "L1", symbol: SYMBOL, strategyName: f.name, position: "long" });
    }
    cancel();
  });

  it("events of one tick in order: store write, callbacks, signal$, signalLive$, the stream's emission; doneLive$ after the last result", () => {
    const log: string[] = [];
    const f = fixture({
      script: [LONG],
      prices: { 1: 102.5 },
      callbacks: {
        onWrite: () => log.push("onWrite"),
        onOpen: () => log.push("onOpen"),
        onClose: () => log.push("onClose"),
        onTick: (_s, r) => log.push(`onTick ${r.action}`),
      },
    });
    const store = f.store;
    const ctx: LiveContext = { ...f.ctx, store: { read: (k) => store.read(k), write: (k, v) => (log.push(v === null ? "clear" : "write"), store.write(k, v)) } };
    cleanups.push(listenSignal((r) => r.strategyName === f.name && log.push(`signal$ ${r.action}`)));
    cleanups.push(listenSignalLive((r) => r.strategyName === f.name && log.push(`signalLive$ ${r.action}`)));
    cleanups.push(listenDoneLive((e) => e.strategyName === f.name && log.push("done")));
    Live.run(SYMBOL, ctx).subscribe({ next: (r) => log.push(`run ${r.action}`), complete: () => log.push("complete") });
    f.clock.flush(at(0));
    void Live.stop(SYMBOL, f.name);
    f.clock.flush(at(1));
    expect(log).toEqual([
      "write",
      "onWrite",
      "onOpen",
      "onTick opened",
      "signal$ opened",
      "signalLive$ opened",
      "run opened",
      "clear",
      "onWrite",
      "onClose",
      "onTick closed",
      "signal$ closed",
      "signalLive$ closed",
      "run closed",
      "done",
      "complete",
    ]);
  });

  it("listenSignalLiveOnce(filter, fn) fires once, with the first result that passes the filter", () => {
    const f = fixture({ script: [LONG], prices: { 5: 102.5 } });
    const got: TickResult[] = [];
    const off = listenSignalLiveOnce((r) => r.strategyName === f.name && r.action === "active", (r) => got.push(r));
    cleanups.push(off);
    const cancel = Live.background(SYMBOL, f.ctx);
    f.clock.flush(at(4)); // active at ticks 1..4
    expect(got.map((r) => [r.action, r.timestamp])).toEqual([["active", at(1)]]);
    expect(() => off()).not.toThrow();
    cancel();
  });

  it("performance$: one live_tick event per tick; previousTimestamp null on the loop's first tick, then the previous tick's", async () => {
    const f = fixture();
    const perf: PerformanceEvent[] = [];
    cleanups.push(listenPerformance((e) => e.strategyName === f.name && perf.push(e)));
    const viaObservable: PerformanceEvent[] = [];
    const sub = performance$.subscribe((e) => e.strategyName === f.name && viaObservable.push(e));
    cleanups.push(() => sub.unsubscribe());
    const cancel = Live.background(SYMBOL, f.ctx);
    f.clock.flush(at(3));
    expect(perf.map((e) => [e.timestamp, e.previousTimestamp])).toEqual([
      [0, null],
      [at(1), 0],
      [at(2), at(1)],
      [at(3), at(2)],
    ]);
    expect(viaObservable).toEqual(perf);
    for (const e of perf) {
      expect(e).toMatchObject({ metricType: "live_tick", symbol: SYMBOL, strategyName: f.name, exchangeName: f.ctx.exchangeName, backtest: false });
      expect(e.duration).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(e.duration)).toBe(true);
    }
    const stats = await Performance.getData(SYMBOL, f.name);
    expect(stats).toMatchObject({ metricType: "live_tick", count: 4, avgWait: TICK, minWait: TICK, maxWait: TICK });
    expect(stats.p50).not.toBeNull();
    expect(stats.totalDuration).toBeCloseTo(perf.reduce((sum, e) => sum + e.duration, 0), 9);
    expect(await Performance.getReport(SYMBOL, f.name)).toMatch(new RegExp(`^# Performance Report: ${f.name} on ${SYMBOL}\\n\\n\\| Metric \\| Value \\|\\n[^]*\\| Ticks \\| 4 \\|`));
    cancel();

    // A new loop of the pair starts again with previousTimestamp null.
    perf.length = 0;
    const again = Live.background(SYMBOL, f.ctx);
    f.clock.flush(at(4));
    expect(perf.map((e) => [e.timestamp, e.previousTimestamp])).toEqual([[at(3), null], [at(4), at(3)]]);
    expect((await Performance.getData(SYMBOL, f.name)).count).toBe(2);
    again();
  });

  it("performance$: after a failed tick is retried, previousTimestamp is the previous event's timestamp (null only on the loop's first tick)", () => {
    // The exchange fails once at tick 2 (one attempt per tick); the loop resubscribes at tick 3.
    sequence++;
    const name = `facade-${sequence}`;
    const clock = new VirtualClock(0);
    const base = replayExchange(candlesFromPrices(Array(100).fill(100), { start: -60_000 }), clock);
    addExchange({
      exchangeName: `facade-ex-${sequence}`,
      getCandles: (symbol, interval, since, limit) => {
        if (clock.now() === at(2)) throw new Error("exchange down");
        return base.getCandles(symbol, interval, since, limit);
      },
    });
    addStrategy({ strategyName: name, interval: "1m", getSignal: () => null });
    const perf: PerformanceEvent[] = [];
    cleanups.push(listenPerformance((e) => e.strategyName === name && perf.push(e)));
    const errors: Error[] = [];
    cleanups.push(listenError((e) => errors.push(e)));
    const cancel = Live.background(SYMBOL, {
      strategyName: name,
      exchangeName: `facade-ex-${sequence}`,
      scheduler: clock,
      store: memoryStore(),
      config: { ...config, CC_GET_CANDLES_RETRY_COUNT: 1 },
    });
    clock.flush(at(4));
    expect(errors.some((e) => e.name === "ExchangeError")).toBe(true);
    expect(perf.map((e) => [e.timestamp, e.previousTimestamp])).toEqual([
      [0, null],
      [at(1), 0],
      [at(3), at(1)],
      [at(4), at(3)],
    ]);
    cancel();
  });

  it("a listener that throws is reported on error$ and stays subscribed; the loop and other listeners go on", async () => {
    const f = fixture();
    const errors: Error[] = [];
    cleanups.push(listenError((e) => errors.push(e)));
    const viaObservable: Error[] = [];
    const sub = error$.subscribe((e) => viaObservable.push(e));
    cleanups.push(() => sub.unsubscribe());
    let calls = 0;
    cleanups.push(
      listenSignalLive((r) => {
        if (r.strategyName !== f.name) return;
        calls++;
        throw new Error(`listener boom ${calls}`);
      }),
    );
    const others = liveActionsOf(f.name);
    const cancel = Live.background(SYMBOL, f.ctx);
    f.clock.flush(at(2));
    expect(calls).toBe(3);
    // Typed: a ListenerError each, what the listener threw in `cause`.
    expect(errors.map((e) => e.name)).toEqual(["ListenerError", "ListenerError", "ListenerError"]);
    expect(errors.map((e) => (e.cause as Error).message)).toEqual(["listener boom 1", "listener boom 2", "listener boom 3"]);
    expect(viaObservable).toEqual(errors);
    expect(others).toEqual(["idle", "idle", "idle"]);
    expect(await statusOf(SYMBOL, f.name)).toBe("running");
    cancel();
  });

  it("an error$ listener that throws is logged (setLogger), not rethrown; the loop goes on", async () => {
    const f = fixture({ getSignal: () => { throw new Error("strategy boom"); } });
    logged.error.mockClear();
    const listenerError = new Error("error listener boom");
    cleanups.push(listenError(() => { throw listenerError; }));
    const seen: Error[] = [];
    cleanups.push(listenError((e) => seen.push(e)));
    const cancel = Live.background(SYMBOL, f.ctx);
    expect(() => f.clock.flush(at(1))).not.toThrow();
    expect(seen).toHaveLength(2);
    expect(seen[0]).toBeInstanceOf(StrategyError);
    expect(seen[0]?.message).toContain("strategy boom");
    expect(logged.error).toHaveBeenCalledTimes(2);
    expect(logged.error).toHaveBeenCalledWith(expect.stringContaining("error$ listener threw"), listenerError);
    expect(await statusOf(SYMBOL, f.name)).toBe("running");
    cancel();
  });

  it("every listen* returns a working unsubscribe", () => {
    const spies = {
      signal: vi.fn(),
      signalLive: vi.fn(),
      signalLiveOnce: vi.fn(),
      performance: vi.fn(),
      doneLive: vi.fn(),
      error: vi.fn(),
      exit: vi.fn(),
    };
    const offs = [
      listenSignal(spies.signal),
      listenSignalLive(spies.signalLive),
      listenSignalLiveOnce(() => true, spies.signalLiveOnce),
      listenPerformance(spies.performance),
      listenDoneLive(spies.doneLive),
      listenError(spies.error),
      listenExit(spies.exit),
    ];
    for (const off of offs) {
      expect(typeof off).toBe("function");
      off();
    }
    // Control listeners show that every kind of event did happen.
    const seen = { signal: 0, signalLive: 0, performance: 0, doneLive: 0, error: 0, exit: 0 };
    cleanups.push(
      listenSignal(() => seen.signal++),
      listenSignalLive(() => seen.signalLive++),
      listenPerformance(() => seen.performance++),
      listenDoneLive(() => seen.doneLive++),
      listenError(() => seen.error++),
      listenExit(() => seen.exit++),
    );
    const trading = fixture({ script: [LONG], prices: { 2: 102.5 } });
    const failing = fixture({ getSignal: () => { throw new Error("boom"); } });
    const conflicting = fixture();
    conflicting.store.write(conflicting.key, foreignRow(SYMBOL, conflicting.ctx.exchangeName));
    const cancel = Live.background(SYMBOL, trading.ctx);
    const cancelFailing = Live.background(SYMBOL, failing.ctx);
    Live.background(SYMBOL, conflicting.ctx);
    trading.clock.flush(at(1));
    cancel();
    trading.clock.flush(at(3));
    failing.clock.flush(at(1));
    cancelFailing();
    conflicting.clock.flush(at(1));
    expect(Object.values(seen).every((count) => count > 0)).toBe(true);
    for (const spy of Object.values(spies)) expect(spy).not.toHaveBeenCalled();
  });

  it("doneLive$ as an observable carries { symbol, strategyName, exchangeName, backtest: false }", () => {
    const f = fixture();
    const done: DoneEvent[] = [];
    const sub = doneLive$.subscribe((e) => e.strategyName === f.name && done.push(e));
    cleanups.push(() => sub.unsubscribe());
    const cancel = Live.background("ETHUSDT", f.ctx);
    f.clock.flush(at(0));
    cancel();
    expect(done).toEqual([{ symbol: "ETHUSDT", strategyName: f.name, exchangeName: f.ctx.exchangeName, backtest: false }]);
  });
});

describe("Live.getData, Live.getReport and Live.dump", () => {
  it("getData and getReport reflect the pair's loop; a pair that never ran reports no events", async () => {
    const f = fixture({ script: [LONG], prices: { 3: 102.5 } });
    expect(await Live.getReport(SYMBOL, f.name)).toBe(`# Live Trading Report: ${f.name}\n\nNo events recorded yet.\n`);
    const empty = await Live.getData(SYMBOL, f.name);
    expect(empty).toMatchObject({ totalEvents: 0, totalClosed: 0, winRate: null, maxDrawdown: null, totalPnl: 0 });

    const cancel = Live.background(SYMBOL, f.ctx);
    f.clock.flush(at(4));
    cancel();
    const stats = await Live.getData(SYMBOL, f.name);
    expect(stats.eventList.map((r) => [r.action, r.timestamp])).toEqual([
      ["closed", at(3)],
      ["active", at(2)],
      ["opened", 0],
    ]);
    expect(stats.totalEvents).toBe(3);
    expect(stats.totalClosed).toBe(1);
    expect(stats.winCount).toBe(1);
    // long 100 -> 102 with 0.1 % slippage and 0.1 % fee a side: (101.898 - 100.1) / 100.1 x 100 - 0.2
    expect(stats.totalPnl).toBeCloseTo(1.5962038, 6);
    const report = await Live.getReport(SYMBOL, f.name);
    expect(report).toContain(`# Live Trading Report: ${f.name}\n\n| Timestamp | Action |`);
    expect(report).toContain(`| ${new Date(at(3)).toISOString()} | CLOSED | BTCUSDT | L1 | LONG | 102.00000000 USDT | 100.00000000 USDT |`);
  });

  it("the event list is bounded by ctx.maxEvents", async () => {
    // Every 3 minutes: opened (100), active (100), closed (102.5) -> 3 events per signal.
    const prices: Record<number, number> = {};
    for (let m = 2; m < 30; m += 3) prices[m] = 102.5;
    const f = fixture({ getSignal: () => LONG, prices });
    const cancel = Live.background(SYMBOL, { ...f.ctx, maxEvents: 3 });
    f.clock.flush(at(8)); // three signals: closed at ticks 2, 5, 8
    cancel();
    const stats = await Live.getData(SYMBOL, f.name);
    expect(stats.totalClosed).toBe(3);
    expect(stats.totalEvents).toBe(3);
    expect(stats.eventList.map((r) => [r.action, r.timestamp])).toEqual([
      ["closed", at(8)],
      ["active", at(7)],
      ["opened", at(6)],
    ]);
    const report = await Live.getReport(SYMBOL, f.name);
    expect(report.split("\n").filter((line) => /^\| \d{4}-/.test(line))).toHaveLength(3);
  });

  it("dump writes {path}/{symbol}_{strategyName}.md, creating directories; it rejects with ReportWriteError when it cannot write", async () => {
    const f = fixture({ script: [LONG], prices: { 2: 102.5 } });
    const cancel = Live.background(SYMBOL, f.ctx);
    f.clock.flush(at(3));
    cancel();
    const dir = await mkdtemp(join(tmpdir(), "rxtrade-dump-"));
    try {
      const path = join(dir, "nested", "live");
      await expect(Live.dump(SYMBOL, f.name, path)).resolves.toBeUndefined();
      const written = await readFile(join(path, `${SYMBOL}_${f.name}.md`), "utf8");
      expect(written).toBe(await Live.getReport(SYMBOL, f.name));
      expect(written).toContain("| CLOSED |");

      const aFile = join(dir, "not-a-directory");
      await writeFile(aFile, "x");
      const failure = Live.dump(SYMBOL, f.name, aFile);
      await expect(failure).rejects.toBeInstanceOf(ReportWriteError);
      await expect(failure).rejects.toMatchObject({ name: "ReportWriteError" });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
