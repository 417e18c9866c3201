// liveTrade$ is rxjs's own filter and retry around rxtrade's tick, persistence, lock and stop
// gate (issue 10, item 9). The retry's timing, its fatal path, the stop during its wait and
// error$ once per failure, in virtual time; the operators kept for recomposition.
import { readFileSync } from "node:fs";
import { map, type MonoTypeOperatorFunction, Observable, Subject, takeWhile, throwError } from "rxjs";
import type { TestScheduler } from "rxjs/testing";
import { afterEach, describe, expect, it } from "vitest";
import {
  ConfigError,
  ExchangeError,
  listenError,
  listenExit,
  liveTrade$,
  memoryStore,
  type ExchangeSchema,
  type SignalDto,
  type SignalStore,
  StoreConflictError,
  StoreLockedError,
  type TickResult,
} from "rxtrade";
import { isFatalError, isOpenedOrClosed, keepOpenedClosed, retryAfter, stopGate } from "rxtrade/operators";
import { createTestScheduler, marbleExchange, scriptedStrategy } from "rxtrade/testing";

const TICK = 60_001;
const config = { CC_AVG_PRICE_CANDLES_COUNT: 1, CC_GET_CANDLES_RETRY_COUNT: 1 };
const prices = { a: 100, b: 101, c: 102 };
// Immediate long at the tick price (100): TP 102, SL 98, one hour.
const LONG: SignalDto = { id: "L1", position: "long", priceTakeProfit: 102, priceStopLoss: 98, minuteEstimatedTime: 60 };
const short = (r: TickResult) => ({ action: r.action, id: r.signal?.id ?? null });

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const off of cleanups.splice(0)) off();
});

function newScheduler(): TestScheduler {
  return createTestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

function errorsAt(scheduler: TestScheduler): Array<{ name: string; at: number }> {
  const seen: Array<{ name: string; at: number }> = [];
  cleanups.push(listenError((error) => seen.push({ name: error.name, at: scheduler.now() })));
  return seen;
}

/** A memoryStore that notes the frame of every read: each subscription of the retried part reads once. */
function recordingStore(scheduler: TestScheduler): SignalStore & { reads: number[]; raw: ReturnType<typeof memoryStore> } {
  const raw = memoryStore();
  const reads: number[] = [];
  return {
    reads,
    raw,
    read: (key) => (reads.push(scheduler.now()), raw.read(key)),
    write: (key, value) => raw.write(key, value),
    lock: (key) => raw.lock!(key),
  };
}

/** Tick k sees the price of character k; `down(now)` says when getCandles throws instead. */
function exchangeFor(scheduler: TestScheduler, tickPrices: string, down: (now: number) => boolean): ExchangeSchema {
  const base = marbleExchange(`${tickPrices}${"-".repeat(60)}`, prices, scheduler, { start: -60_000 });
  return {
    exchangeName: base.exchangeName,
    getCandles(symbol, interval, since, limit) {
      if (down(scheduler.now())) throw new Error("exchange down");
      return base.getCandles(symbol, interval, since, limit);
    },
  };
}

describe("the shape of liveTrade$", () => {
  it("its pipeline is rxjs's filter and retry({ delay }) on timer(tickMs, scheduler); the custom filter and retry are not in it", () => {
    const source = readFileSync(new URL("../src/liveTrade.ts", import.meta.url), "utf8");
    const rxjsImport = /import \{([^}]*)\} from "rxjs";/.exec(source)?.[1] ?? "";
    expect(rxjsImport.split(",").map((name) => name.trim())).toEqual(expect.arrayContaining(["filter", "retry", "timer", "race"]));
    expect(source).toContain(".pipe(filter(isOpenedOrClosed))");
    expect(source).toMatch(/retry\(\{\s*delay: \(error\) => \{/);
    expect(source).toContain("timer(tickMs, scheduler)");
    expect(source).not.toMatch(/keepOpenedClosed|retryAfter\(/);
  });
});

describe("liveTrade$'s retry (marbles)", () => {
  it("a tick error at 120002 ms resubscribes at 120002 + 60001 ms: the store is read again then, the open signal resumes and closes", () => {
    const scheduler = newScheduler();
    const strategy = scriptedStrategy("shape-retry", [LONG]);
    const errors = errorsAt(scheduler);
    const store = recordingStore(scheduler);
    scheduler.run(({ expectObservable }) => {
      //                                           tick: 0123
      const exchange = exchangeFor(scheduler, "abac", (now) => now === 2 * TICK);
      const live$ = liveTrade$("BTCUSDT", strategy, { exchange, store, scheduler, config });
      // Opened at 0; tick 2 fails (nothing emitted); resubscribed at 180003, where the restored
      // L1 sees 102 and closes by TP.
      expectObservable(live$.pipe(map(short)), "^ 300005ms !").toBe("o 180002ms c", {
        o: { action: "opened", id: "L1" },
        c: { action: "closed", id: "L1" },
      });
    });
    expect(store.reads).toEqual([0, 3 * TICK]);
    expect(errors).toEqual([{ name: "ExchangeError", at: 2 * TICK }]);
    expect(strategy.calls).toEqual([0, 4 * TICK, 5 * TICK]);
  });

  it("a fatal error is reported once and ends the stream on its frame, without a retry (StoreConflictError found by the retry's read)", () => {
    const scheduler = newScheduler();
    const strategy = scriptedStrategy("shape-fatal", [LONG]);
    const errors = errorsAt(scheduler);
    const exits: Array<{ name: string; at: number }> = [];
    cleanups.push(listenExit((error) => exits.push({ name: error.name, at: scheduler.now() })));
    const store = recordingStore(scheduler);
    scheduler.run(({ expectObservable }) => {
      const exchange = exchangeFor(scheduler, "abac", (now) => now === 2 * TICK);
      // During the retry's wait, something else writes the key.
      scheduler.schedule(() => store.raw.write("BTCUSDT:shape-fatal", { foo: 1 }), 150_000);
      const live$ = liveTrade$("BTCUSDT", strategy, { exchange, store, scheduler, config });
      expectObservable(live$.pipe(map(short)), "^ 600000ms !").toBe("o 180002ms #", { o: { action: "opened", id: "L1" } }, expect.any(StoreConflictError));
    });
    // Read at the start and once by the retry: the fatal error is not retried.
    expect(store.reads).toEqual([0, 3 * TICK]);
    expect(errors).toEqual([
      { name: "ExchangeError", at: 2 * TICK },
      { name: "StoreConflictError", at: 3 * TICK },
    ]);
    expect(exits).toEqual([{ name: "StoreConflictError", at: 3 * TICK }]);
    expect(store.raw.read("BTCUSDT:shape-fatal")).toEqual({ foo: 1 }); // not overwritten
  });

  it("a held key (StoreLockedError) ends the stream at once, reported once, never read", () => {
    const scheduler = newScheduler();
    const errors = errorsAt(scheduler);
    const store = recordingStore(scheduler);
    void store.raw.lock!("BTCUSDT:shape-locked"); // someone else holds the key
    scheduler.run(({ expectObservable }) => {
      const exchange = exchangeFor(scheduler, "a", () => false);
      const live$ = liveTrade$("BTCUSDT", scriptedStrategy("shape-locked", [LONG]), { exchange, store, scheduler, config });
      expectObservable(live$, "^ 300005ms !").toBe("#", undefined, expect.any(StoreLockedError));
    });
    expect(store.reads).toEqual([]);
    expect(errors).toEqual([{ name: "StoreLockedError", at: 0 }]);
  });

  it("a stop during the wait resubscribes at the stop's frame, once; later failures wait a whole tick period, each reported once", () => {
    const scheduler = newScheduler();
    const strategy = scriptedStrategy("shape-stop-wait", [LONG]);
    const errors = errorsAt(scheduler);
    const store = recordingStore(scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      // Down from tick 2 on: L1 stays open, every attempt fails.
      const exchange = exchangeFor(scheduler, "ab", (now) => now >= 2 * TICK);
      const live$ = liveTrade$("BTCUSDT", strategy, { exchange, store, scheduler, config, stop$: cold("150000ms s") });
      expectObservable(live$.pipe(map(short)), "^ 400000ms !").toBe("o", { o: { action: "opened", id: "L1" } });
    });
    // 0: first read; 120002 fails; the stop at 150000 cuts the wait short (read at once); that
    // attempt fails at once and waits a whole period: 210001, 270002, 330003, 390004.
    expect(store.reads).toEqual([0, 150_000, 210_001, 270_002, 330_003, 390_004]);
    expect(errors.filter((e) => e.name !== "StreamStalledError")).toEqual(
      [2 * TICK, 150_000, 210_001, 270_002, 330_003, 390_004].map((at) => ({ name: "ExchangeError", at })),
    );
    expect(strategy.calls).toEqual([0]);
    expect(store.raw.read("BTCUSDT:shape-stop-wait")).toMatchObject({ status: "opened" });
  });
});

describe("retryAfter (rxjs's retry with the same delay)", () => {
  it("resubscribes delayMs after an error; a stop during a wait cuts that wait short, later waits are whole", () => {
    const scheduler = newScheduler();
    const errors = errorsAt(scheduler);
    scheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = cold("--a--#");
      const stop$ = hot("   -------------------------s");
      //                   0    5    10   15   20   25   30   35   40
      // a at 2, error at 5; a at 17, error at 20; the stop at 25 resubscribes at once: a at 27,
      // error at 30; the stop already requested, the next wait is whole: a at 42.
      expectObservable(source.pipe(retryAfter(10, scheduler, stop$)), "^ 43ms !").toBe("--a 14ms a 9ms a 14ms a");
      expectSubscriptions(source.subscriptions).toBe([
        "^----!",
        "15ms ^----!",
        "25ms ^----!",
        "40ms ^---!",
      ]);
    });
    expect(errors.map((e) => e.at)).toEqual([5, 20, 30]);
  });

  it("rethrows StoreConflictError, StoreLockedError and ConfigError at once, reported once; retries anything else", () => {
    const fatal = [new StoreConflictError({ key: "k", found: 1, reason: "1" }), new StoreLockedError({ key: "k" }), new ConfigError(["bad"])];
    for (const error of fatal) expect(isFatalError(error)).toBe(true);
    expect(isFatalError(new ExchangeError("down"))).toBe(false);
    expect(isFatalError(new Error("EACCES"))).toBe(false);

    const scheduler = newScheduler();
    const errors = errorsAt(scheduler);
    scheduler.run(({ expectObservable }) => {
      expectObservable(throwError(() => fatal[2]).pipe(retryAfter(10, scheduler)), "^ 50ms !").toBe("#", undefined, fatal[2]);
    });
    expect(errors).toEqual([{ name: "ConfigError", at: 0 }]);
  });
});

describe("the operators kept for recomposition", () => {
  it("keepOpenedClosed is filter(isOpenedOrClosed): opened and closed pass, nothing else", () => {
    const scheduler = newScheduler();
    const r = (action: string) => ({ action }) as TickResult;
    const values = { i: r("idle"), s: r("scheduled"), o: r("opened"), a: r("active"), c: r("closed"), x: r("cancelled") };
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold("isoaacx|", values).pipe(keepOpenedClosed())).toBe("--o--c-|", values);
    });
    expect(Object.values(values).filter(isOpenedOrClosed).map((v) => v.action)).toEqual(["opened", "closed"]);
  });

  // The same source and stop, through stopGate and through the takeWhile that reads the same.
  type Gate = (stop$: Subject<void>, stopped: () => boolean) => MonoTypeOperatorFunction<TickResult>;
  const gates: Array<[string, Gate]> = [
    ["stopGate", (stop$) => stopGate(stop$)],
    ["takeWhile", (_stop$, stopped) => takeWhile((r) => !stopped() || r.action === "active", true)],
  ];
  function gateRun(gate: Gate, stopOn: string | undefined) {
    const order: string[] = [];
    const stop$ = new Subject<void>();
    let stopped = false;
    stop$.subscribe(() => (stopped = true));
    const source = new Subject<TickResult>();
    const withTeardown = new Observable<TickResult>((subscriber) => {
      const inner = source.subscribe(subscriber);
      return () => {
        inner.unsubscribe();
        order.push("source torn down");
      };
    });
    withTeardown.pipe(gate(stop$, () => stopped)).subscribe({
      next: (r) => {
        order.push(r.action);
        if (r.action === stopOn) stop$.next(); // e.g. Live.stop from a listener of that result
      },
      complete: () => order.push("complete"),
    });
    return { order, stop$, next: (action: string) => source.next({ action } as TickResult) };
  }

  it("stopGate tears its source down (a store lock in it) before the completion is announced; takeWhile after", () => {
    const [gate, take] = gates.map(([, g]) => {
      const run = gateRun(g, undefined);
      run.next("active");
      run.stop$.next();
      run.next("active"); // an open position runs on after the stop
      run.next("closed");
      return run.order;
    });
    expect(gate).toEqual(["active", "active", "closed", "source torn down", "complete"]);
    expect(take).toEqual(["active", "active", "closed", "complete", "source torn down"]);
  });

  it("stopGate looks at the stop after a result is delivered: a stop requested by its subscriber ends the stream right after it; takeWhile waits for the next result", () => {
    const [gate, take] = gates.map(([, g]) => {
      const run = gateRun(g, "idle");
      run.next("active");
      run.next("idle");
      return run.order;
    });
    expect(gate).toEqual(["active", "idle", "source torn down", "complete"]);
    expect(take).toEqual(["active", "idle"]);
  });
});
