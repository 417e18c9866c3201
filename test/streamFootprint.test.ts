// The heap of an idle liveTrade$ stream (issue 10, item 9: at most 6 KB each, 10,000 streams
// in real time; bench/manyStreams.mjs measures it, bench/heapDiff.mjs shows where it goes).
// Its largest avoidable part was rxjs's finalizer lists: `Subscription.add` keeps finalizers in
// an array that V8 gives 17 slots (about 180 bytes) at the first one, and most links of a
// stream hold exactly one. The engine's subscribers keep that one in a field (CompactSubscriber);
// the lists left are those of rxjs's own subscribers: the caller's, `filter`'s and `retry`'s.
// The lists are counted by watching `Subscription.prototype.add` (rxjs 7 makes the list,
// `_finalizers`, at the first add): if rxjs changes that, these tests fail loudly.
import { Subject, Subscription } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Candle, type ExchangeSchema, listenSignal, liveTrade$, type LockRelease, memoryStore, type SignalStore, type StrategySchema } from "rxtrade";
import { VirtualClock } from "rxtrade/testing";

const TICK = 60_001;
const STREAMS = 20;
const config = { CC_AVG_PRICE_CANDLES_COUNT: 1, CC_GET_CANDLES_RETRY_COUNT: 1 };
const idle: StrategySchema = { strategyName: "footprint-idle", interval: "1m", getSignal: () => null };

/** One closed candle at 100 for each requested minute. */
const flat: ExchangeSchema = {
  exchangeName: "flat",
  getCandles: (_symbol, _interval, since, limit): Candle[] =>
    Array.from({ length: limit }, (_, i) => ({ timestamp: since.getTime() + i * 60_000, open: 100, high: 100, low: 100, close: 100, volume: 1 })),
};

/** The same store, answering every call with a Promise (as fileStore does). */
function promiseStore(): SignalStore {
  const store = memoryStore();
  // memoryStore answers synchronously: its values are plain (the casts only say so).
  return {
    read: (key) => Promise.resolve().then(() => store.read(key) as unknown),
    write: (key, value) => Promise.resolve().then(() => store.write(key, value) as void),
    lock: (key) => Promise.resolve().then(() => store.lock!(key) as LockRelease),
  };
}

// What rxjs keeps privately: `_finalizers`, null until the first add.
type Finalized = { readonly closed: boolean; _finalizers: unknown[] | null };
const proto = Subscription.prototype as unknown as { add(this: Finalized, teardown: unknown): void };
const rxjsAdd = proto.add;
let withList: Set<Finalized>;
let ticks: number;
let unlisten: () => void;

beforeEach(() => {
  withList = new Set();
  ticks = 0;
  unlisten = listenSignal(() => ticks++);
  proto.add = function (this: Finalized, teardown: unknown) {
    const had = this._finalizers !== null && this._finalizers !== undefined;
    rxjsAdd.call(this, teardown);
    if (!had && Array.isArray(this._finalizers)) withList.add(this);
  };
});
afterEach(() => {
  proto.add = rxjsAdd;
  unlisten();
});

/** The rxjs finalizer lists alive now: made by `add`, their subscription still open, the list still there. */
function liveLists(): number {
  return [...withList].filter((s) => !s.closed && Array.isArray(s._finalizers)).length;
}

describe("the footprint of idle liveTrade$ streams", () => {
  it("a stream on a synchronous store holds 3 rxjs finalizer lists (its subscriber's, filter's, retry's), before and after 5 ticks; a stop leaves none", () => {
    const clock = new VirtualClock(0);
    const stop$ = new Subject<void>();
    let completed = 0;
    for (let i = 0; i < STREAMS; i++) {
      liveTrade$(`S${i}USDT`, idle, { exchange: flat, store: memoryStore(), scheduler: clock, stop$, config }).subscribe({ complete: () => completed++ });
    }
    expect(liveLists()).toBe(3 * STREAMS);
    clock.flush(5 * TICK);
    expect(ticks).toBe(6 * STREAMS); // at 0, TICK, … 5 * TICK
    expect(liveLists()).toBe(3 * STREAMS);
    stop$.next();
    expect(completed).toBe(STREAMS);
    expect(liveLists()).toBe(0);
    expect(stop$.observed).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it("a stream on a store that answers with Promises holds the same 3 once its read has settled (the read's way out is dropped)", async () => {
    const clock = new VirtualClock(0);
    const subscriptions = Array.from({ length: STREAMS }, (_, i) =>
      liveTrade$(`S${i}USDT`, idle, { exchange: flat, store: promiseStore(), scheduler: clock, config }).subscribe(),
    );
    await clock.flushAsync(5 * TICK);
    expect(ticks).toBe(6 * STREAMS);
    expect(liveLists()).toBe(3 * STREAMS);
    for (const subscription of subscriptions) subscription.unsubscribe();
    expect(liveLists()).toBe(0);
    await clock.flushAsync(6 * TICK);
    expect(clock.pending).toBe(0);
  });
});
