// Review of issue 10, item 1: a graceful stop that arrives while the retry waits, with nothing
// open, completed the stream but left the tick timer of the retry's last resubscription running
// forever (the process never exited; StreamStalledError after the end; an endless TestScheduler.run).
// Its cause: `tick` completes in its constructor when the stop was already requested, and only
// then subscribes its source; the link made for it (`StallWatch.clock`) was a ChainSubscriber
// pointed at a closed ChainSubscriber, so nothing ever closed it and `timer(0, tickMs)` ran on.
import { asyncScheduler, Observable, type SchedulerAction, type SchedulerLike, Subject, Subscriber, type Subscription, timer } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import {
  addExchange,
  addStrategy,
  type ExchangeSchema,
  Live,
  listenDoneLive,
  listenError,
  liveTrade$,
  memoryStore,
  type StrategySchema,
  type TickResult,
} from "rxtrade";
import { createTestScheduler, marbleExchange, VirtualClock } from "rxtrade/testing";
import { ChainSubscriber } from "../operators/chainSubscriber";

const TICK = 60_001;
const STOP_AT = 4 * TICK + 10; // inside the wait after the failed ticks at 3 * TICK and 4 * TICK
const config = { CC_AVG_PRICE_CANDLES_COUNT: 1, CC_GET_CANDLES_RETRY_COUNT: 1 };
const idle: StrategySchema = { strategyName: "r10-idle", interval: "1m", getSignal: () => null };

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()?.();
});

/** `ok`, except that every call from `from` (inclusive) to `until` (exclusive) throws. */
function downBetween(ok: ExchangeSchema, clock: { now(): number }, from: number, until = Number.POSITIVE_INFINITY): ExchangeSchema {
  return {
    exchangeName: ok.exchangeName,
    getCandles: (...args) => {
      const now = clock.now();
      if (now >= from && now < until) throw new Error(`down at ${now}`);
      return ok.getCandles(...args);
    },
  };
}

/** What error$ says, with the clock's time, for the events of this test only. */
function errorsSeen(clock: { now(): number }): string[] {
  const seen: string[] = [];
  cleanups.push(listenError((error) => seen.push(`${clock.now()} ${(error as Error).name}`)));
  return seen;
}

describe("ChainSubscriber: a link made for a destination that has already closed", () => {
  class Pass<T> extends ChainSubscriber<T> {
    protected override _next(value: T): void {
      this.out.next(value);
    }
  }
  // Completes in its constructor, as `tick` does when the stop was requested before it subscribed.
  class DoneAtOnce<T> extends ChainSubscriber<T> {
    constructor(destination: Subscriber<T>) {
      super(destination);
      this.out.complete();
      this.unsubscribe();
    }
  }
  // As the engine's operators are written: the link is chained to its destination, no teardown
  // is returned (a returned Subscription, added to a closed destination, would close it anyway).
  const pass = <T>(source: Observable<T>) =>
    new Observable<T>((subscriber) => {
      source.subscribe(new Pass(subscriber));
    });
  const doneAtOnce = <T>(source: Observable<T>) =>
    new Observable<T>((subscriber) => {
      source.subscribe(new DoneAtOnce(subscriber));
    });

  it("is born closed, so the timer it is subscribed to is torn down at once", () => {
    const clock = new VirtualClock(0);
    const seen: string[] = [];
    timer(0, 10, clock).pipe(pass, doneAtOnce).subscribe({ next: () => seen.push("next"), complete: () => seen.push("complete") });
    expect(seen).toEqual(["complete"]);
    expect(clock.pending).toBe(0);
  });

  it("does not run a subclass's unsubscribe before its fields exist (a closed plain destination)", () => {
    class Logged<T> extends ChainSubscriber<T> {
      private readonly log: string[] = [];
      override unsubscribe(): void {
        this.log.push("unsubscribe");
        super.unsubscribe();
      }
    }
    const destination = new Subscriber<number>();
    destination.unsubscribe();
    const link = new Logged<number>(destination);
    expect(link.closed).toBe(true);
    expect(() => link.unsubscribe()).not.toThrow();
  });
});

describe("a graceful stop while the retry waits, nothing open (review 10.1)", () => {
  it("marble: the stream completes at the stop, and nothing is left scheduled (bounded: no endless run)", () => {
    const scheduler = createTestScheduler((actual, expected) => expect(actual).toEqual(expected));
    errorsSeen(scheduler);
    scheduler.run(({ hot, expectObservable }) => {
      const exchange = downBetween(marbleExchange("aaaaaaaaaaaa", { a: 100 }, scheduler, { start: -60_000 }), scheduler, 3 * TICK);
      const stop$ = hot(`${STOP_AT}ms s`);
      expectObservable(liveTrade$("BTCUSDT", idle, { exchange, scheduler, stop$, config })).toBe(`${STOP_AT}ms |`);
      // A periodic action left behind would run forever: look 100 tick periods on, and fail there.
      scheduler.schedule(() => {
        const left = scheduler.actions.length;
        if (left > 0) throw new Error(`${left} action(s) still scheduled 100 tick periods after the stop`);
      }, 100 * TICK);
    });
  });

  it("VirtualClock: doneLive$ and the completion at the stop, then nothing scheduled and no StreamStalledError", () => {
    const clock = new VirtualClock(0);
    const exchange = downBetween(marbleExchange("aaaaaaaaaaaa", { a: 100 }, clock, { start: -60_000 }), clock, 3 * TICK);
    const stop$ = new Subject<void>();
    const errors = errorsSeen(clock);
    const log: string[] = [];
    cleanups.push(listenDoneLive((e) => e.strategyName === idle.strategyName && log.push(`doneLive$ ${clock.now()}`)));
    liveTrade$("BTCUSDT", idle, { exchange, scheduler: clock, stop$, config, store: memoryStore() }).subscribe({
      next: (r) => log.push(r.action),
      complete: () => log.push(`complete ${clock.now()}`),
    });
    clock.schedule(() => stop$.next(), STOP_AT);
    clock.flush(STOP_AT);
    expect(log).toEqual([`doneLive$ ${STOP_AT}`, `complete ${STOP_AT}`]);
    expect(clock.pending).toBe(0);
    clock.flush(100 * TICK);
    expect(clock.now()).toBe(100 * TICK);
    expect(errors).toEqual([`${3 * TICK} ExchangeError`, `${4 * TICK} ExchangeError`]);
    expect(log).toEqual([`doneLive$ ${STOP_AT}`, `complete ${STOP_AT}`]);
  });
});

describe("a graceful stop while the retry waits, a position open (review 10.1)", () => {
  it("the open signal is kept to its close (each failure after the stop waits its whole period), then the stream ends and nothing is scheduled", () => {
    const clock = new VirtualClock(0);
    // Minute k (from -1) at 100, from minute 9 at 102: above the take profit.
    const ok = marbleExchange("aaaaaaaaaabbbbbbbbbbbb", { a: 100, b: 102 }, clock, { start: -60_000 });
    const exchange = downBetween(ok, clock, 3 * TICK, 5 * TICK + 20);
    let asked = 0;
    const strategy: StrategySchema = {
      strategyName: "r10-open",
      interval: "1m",
      getSignal: () => (asked++ === 0 ? { id: "L1", position: "long", priceTakeProfit: 101, priceStopLoss: 99, minuteEstimatedTime: 60 } : null),
    };
    const stop$ = new Subject<void>();
    const errors = errorsSeen(clock);
    const log: string[] = [];
    liveTrade$("BTCUSDT", strategy, { exchange, scheduler: clock, stop$, config, store: memoryStore() }).subscribe({
      next: (r: TickResult) => log.push(`${clock.now()} ${r.action}`),
      complete: () => log.push(`${clock.now()} complete`),
    });
    clock.schedule(() => stop$.next(), STOP_AT);
    clock.flush(100 * TICK);
    // The retry after the stop reads the store at once (240014) and fails again; then it waits a
    // whole period (300015: still down) and another (360016: up). Ticks go on from there and the
    // close comes with minute 9's price at 360016 + 4 periods = 600020.
    expect(errors).toEqual([`${3 * TICK} ExchangeError`, `${4 * TICK} ExchangeError`, `${STOP_AT} ExchangeError`, `${STOP_AT + TICK} ExchangeError`]);
    expect(log).toEqual([`0 opened`, `${STOP_AT + 6 * TICK} closed`, `${STOP_AT + 6 * TICK} complete`]);
    expect(clock.pending).toBe(0);
    expect(asked).toBe(1);
  });
});

describe("Live.background: a stop while the retry waits, nothing open (review 10.1)", () => {
  it("the pair is done and stays done: no stall reported after it, nothing scheduled", async () => {
    const clock = new VirtualClock(0);
    addExchange(downBetween(marbleExchange("aaaaaaaaaaaa", { a: 100 }, clock, { start: -60_000, exchangeName: "r10-bg-ex" }), clock, 3 * TICK));
    addStrategy({ strategyName: "r10-bg", interval: "1m", getSignal: () => null });
    const errors = errorsSeen(clock);
    const status = async () => (await Live.list()).find((p) => p.id === "BTCUSDT:r10-bg")?.status;
    const stop = Live.background("BTCUSDT", { strategyName: "r10-bg", exchangeName: "r10-bg-ex", scheduler: clock, config, store: memoryStore() });
    clock.flush(STOP_AT - 10);
    expect(await status()).toBe("running");
    clock.schedule(stop, 10);
    clock.flush(STOP_AT);
    expect(await status()).toBe("done");
    expect(clock.pending).toBe(0);
    // CC_STALL_TICKS periods on and more: a leaked tick timer would have called the pair stalled by now.
    clock.flush(100 * TICK);
    expect(await status()).toBe("done");
    expect(errors.filter((e) => e.endsWith("StreamStalledError"))).toEqual([]);
    expect(clock.pending).toBe(0);
  });
});

describe("the real scheduler: a stop while the retry waits, nothing open (review 10.1)", () => {
  it("after the end no action of the stream is still scheduled (the process can exit) and no stall is reported", async () => {
    // asyncScheduler, with every action it hands out kept in view.
    const actions: Array<{ closed: boolean }> = [];
    const scheduler: SchedulerLike = {
      now: () => asyncScheduler.now(),
      schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay?: number, state?: T): Subscription {
        const action = asyncScheduler.schedule(work, delay, state);
        actions.push(action);
        return action;
      },
    };
    const tickMs = 20;
    const start = scheduler.now();
    let calls = 0;
    const exchange: ExchangeSchema = {
      exchangeName: "r10-real",
      // Up for the first tick, down from the second on.
      getCandles: (_symbol, _interval, since, limit) => {
        if (calls++ > 0) throw new Error("down");
        return Array.from({ length: limit }, (_, k) => ({ timestamp: since.getTime() + k * 60_000, open: 100, high: 100, low: 100, close: 100, volume: 1 }));
      },
    };
    const stop$ = new Subject<void>();
    const errors = errorsSeen({ now: () => scheduler.now() - start });
    // Half a period into the wait after the first failure: Node runs that timer before the retry's.
    cleanups.push(listenError(() => setTimeout(() => stop$.next(), tickMs / 2)));
    const ended = new Promise<void>((resolve) => {
      liveTrade$("BTCUSDT", { ...idle, strategyName: "r10-real" }, { exchange, scheduler, stop$, tickMs, config, store: memoryStore() }).subscribe({
        complete: resolve,
      });
    });
    await ended;
    expect(actions.filter((a) => !a.closed)).toEqual([]);
    // CC_STALL_TICKS (5) periods and more: a leaked tick timer would report a stall by now.
    await new Promise((resolve) => setTimeout(resolve, 8 * tickMs));
    expect(errors.filter((e) => e.endsWith("StreamStalledError"))).toEqual([]);
  });
});
