// Issue 10, item 1: the engine tells a scheduler that watches calls (CallWatcher, duck-typed
// `callStarted`) about each exchange, store and strategy call in flight; VirtualClock.flushAsync
// waits for them before moving virtual time on, each for a bounded real time, so real I/O runs
// in virtual time and a call that never settles still reaches its time limit quickly.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { map, Subject, timer } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import {
  type Candle,
  type ExchangeSchema,
  listenError,
  liveTrade$,
  memoryStore,
  replayExchange,
  type SignalDto,
  type SignalStore,
  type StrategySchema,
  tradeContext,
} from "rxtrade";
import { fileStore } from "rxtrade/node";
import { candlesFromMarble, scriptedStrategy, VirtualClock } from "rxtrade/testing";

const TICK = 60_001;
const config = { CC_AVG_PRICE_CANDLES_COUNT: 1 };
const LONG: SignalDto = { position: "long", priceTakeProfit: 101, priceStopLoss: 99, minuteEstimatedTime: 60 };
//                                 minute: 0123456789
const candles = candlesFromMarble("aaaab-c---", { a: 100, b: 100.5, c: 101.5 }, { start: -60_000 });

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()?.();
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "rxtrade-callWatcher-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
function errorsSeen(clock: VirtualClock): string[] {
  const errors: string[] = [];
  cleanups.push(listenError((e) => errors.push(`${e.name} at ${clock.now()}: ${(e.cause as Error | undefined)?.name ?? "-"}`)));
  return errors;
}

/** A VirtualClock that records what the engine reports, in order. */
class RecordingClock extends VirtualClock {
  readonly log: string[] = [];
  override callStarted(call: string, limitMs: number): () => void {
    this.log.push(`start ${call} ${limitMs}`);
    const end = super.callStarted(call, limitMs);
    let ended = false;
    return () => {
      this.log.push(`${ended ? "AGAIN" : "end"} ${call}`);
      ended = true;
      end();
    };
  }
}

/** memoryStore behind Promises (the answer comes a microtask later). */
function promiseStore(): SignalStore {
  const inner = memoryStore();
  return {
    read: async (key) => inner.read(key) as unknown,
    write: async (key, value) => {
      inner.write(key, value);
    },
    lock: async (key) => inner.lock?.(key) as () => void,
  };
}

/** Trades of a strategy opening a long at its second call; the stop comes at tick 6. */
async function trades(clock: VirtualClock, options: { store?: SignalStore; exchange?: ExchangeSchema; strategy?: StrategySchema }) {
  const stop$ = new Subject<void>();
  const out: string[] = [];
  const strategy = options.strategy ?? scriptedStrategy("w", [null, LONG]);
  liveTrade$("BTCUSDT", strategy, { exchange: options.exchange ?? replayExchange(candles, clock), store: options.store, scheduler: clock, stop$, config }).subscribe({
    next: (r) => out.push(`${r.action} @${r.currentPrice} t=${clock.now() / TICK}`),
    complete: () => out.push(`complete t=${clock.now() / TICK}`),
    error: (e: Error) => out.push(`${e.name} t=${clock.now() / TICK}`),
  });
  clock.schedule(() => stop$.next(), 6 * TICK);
  await clock.flushAsync(20 * TICK);
  return out;
}
const EXPECTED = ["opened @100 t=1", "closed @101 t=6", "complete t=6"];

describe("CallWatcher: the engine reports its calls in flight", () => {
  it("store, exchange and strategy calls answered with Promises, each ended once, with its time limit", async () => {
    const clock = new RecordingClock(0);
    const replay = replayExchange(candles, clock);
    const exchange: ExchangeSchema = { exchangeName: "promised", getCandles: async (...args) => replay.getCandles(...args) as Candle[] };
    let asked = 0;
    const strategy: StrategySchema = { strategyName: "w", interval: "1m", getSignal: async () => (++asked === 2 ? LONG : null) };
    expect(await trades(clock, { store: promiseStore(), exchange, strategy })).toEqual(EXPECTED);

    const started = clock.log.filter((line) => line.startsWith("start"));
    expect(new Set(started)).toEqual(
      new Set([
        "start lock(BTCUSDT:w) 30000",
        "start read(BTCUSDT:w) 30000",
        "start getCandles(BTCUSDT, 1m) 30000",
        "start getSignal(BTCUSDT) of w 180000",
        "start write(BTCUSDT:w) 30000",
      ]),
    );
    expect(clock.log.filter((line) => line.startsWith("end")).length).toBe(started.length);
    expect(clock.log.filter((line) => line.startsWith("AGAIN"))).toEqual([]);
    // One getCandles per tick 0–6, a getSignal at ticks 0 and 1, a write at the open and the close.
    expect(started.filter((line) => line.includes("getCandles")).length).toBe(7);
    expect(started.filter((line) => line.includes("getSignal")).length).toBe(2);
    expect(started.filter((line) => line.includes("write")).length).toBe(2);
    expect(clock.callsInFlight).toEqual([]);
  });

  it("synchronous answers and Observables are not reported", async () => {
    const clock = new RecordingClock(0);
    const replay = replayExchange(candles, clock);
    // An Observable runs on the clock itself: waiting for it before moving time on would wait for nothing.
    const exchange: ExchangeSchema = {
      exchangeName: "observed",
      getCandles: (symbol, interval, since, limit) => timer(0, clock).pipe(map(() => replay.getCandles(symbol, interval, since, limit) as Candle[])),
    };
    expect(await trades(clock, { exchange })).toEqual(EXPECTED);
    expect(clock.log).toEqual([]);
  });

  it("the store decorator keeps the store's other properties and one lock queue per store", () => {
    const clock = new VirtualClock(0);
    const dir = tempDir();
    const store = fileStore(dir);
    const strategy = scriptedStrategy("w", []);
    const watched = tradeContext("BTCUSDT", strategy, { exchange: replayExchange(candles, clock), store, scheduler: clock }).store as typeof store;
    expect(watched).not.toBe(store);
    expect(watched.dir).toBe(store.dir);
    expect(watched.lockScope).toBe(store.lockScope);
    expect(watched.pathOf("k")).toBe(store.pathOf("k"));
    const memory = memoryStore();
    const scopeOf = () => (tradeContext("BTCUSDT", strategy, { exchange: replayExchange(candles, clock), store: memory, scheduler: clock }).store as { lockScope?: unknown }).lockScope;
    expect(typeof scopeOf()).toBe("string");
    expect(scopeOf()).toBe(scopeOf());
    // Without a watching scheduler the store is the one given.
    expect(tradeContext("BTCUSDT", strategy, { exchange: replayExchange(candles, clock), store }).store).toBe(store);
  });
});

describe("VirtualClock.flushAsync waits for calls in flight", () => {
  it("a Promise exchange doing real file I/O gives the same trades as the synchronous replay", async () => {
    const dir = tempDir();
    const file = join(dir, "candles.json");
    writeFileSync(file, JSON.stringify(candles));
    const clock = new VirtualClock(0);
    const errors = errorsSeen(clock);
    const replay = replayExchange(JSON.parse(await readFile(file, "utf8")) as Candle[], clock);
    const exchange: ExchangeSchema = {
      exchangeName: "from-disk",
      getCandles: async (symbol, interval, since, limit) => {
        await readFile(file); // real I/O before every answer
        return replay.getCandles(symbol, interval, since, limit) as Candle[];
      },
    };
    expect(await trades(clock, { exchange })).toEqual(EXPECTED);
    expect(errors).toEqual([]);
  });

  it("a store read that never settles is waited for callGraceMs of real time, then virtual time reaches its limit", async () => {
    const clock = new VirtualClock(0, { callGraceMs: 100 });
    const errors = errorsSeen(clock);
    const store: SignalStore = { read: () => new Promise(() => {}), write: () => undefined };
    const subscription = liveTrade$("BTCUSDT", scriptedStrategy("hang", []), { exchange: replayExchange(candles, clock), store, scheduler: clock, config }).subscribe();
    const started = performance.now();
    await clock.flushAsync(30_000);
    const realMs = performance.now() - started;
    subscription.unsubscribe();
    expect(errors).toEqual(["StoreReadError at 30000: CallTimeoutError"]);
    // Timed out: the engine no longer waits for it, nor does the clock.
    expect(clock.callsInFlight).toEqual([]);
    expect(realMs).toBeGreaterThanOrEqual(95);
    expect(realMs).toBeLessThan(1000);
  });

  it("refuses a grace that is not a number of ms", () => {
    expect(() => new VirtualClock(0, { callGraceMs: -1 })).toThrow(
      "rxtrade: VirtualClock option callGraceMs (-1) must be a number of ms from 0 to 2147483647",
    );
    expect(() => new VirtualClock(0, { callGraceMs: Number.NaN })).toThrow(RangeError);
  });
});
