// The journal on the live path (LiveOptions.journal / journalLevel), on a memoryJournal, in
// virtual time (VirtualClock). One tick every 60001 ms; with CC_AVG_PRICE_CANDLES_COUNT 1 and
// flat candles, the tick at t sees the price of minute floor(t / 60000) - 1.
import { map, Subject, type Subscription } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import {
  encodeState,
  JournalError,
  StoreConflictError,
  StoreLockedError,
  listenError,
  liveTrade$,
  memoryJournal,
  memoryStore,
  replayExchange,
  type Candle,
  type ExchangeSchema,
  type Journal,
  type JournalEntry,
  type LiveOptions,
  type SignalDto,
  type SignalRow,
  type SignalStore,
  type StrategySchema,
  type TickResult,
} from "rxtrade";
import { candlesFromPrices, scriptedStrategy, VirtualClock } from "rxtrade/testing";

const TICK = 60_001;
const MINUTE = 60_000;
const SYMBOL = "BTCUSDT";
const config = { CC_AVG_PRICE_CANDLES_COUNT: 1, CC_GET_CANDLES_RETRY_COUNT: 1 };

// Opened at the tick's price (100): TP 102, SL 98, 15 minutes.
const LONG: SignalDto = { id: "P1", position: "long", priceTakeProfit: 102, priceStopLoss: 98, minuteEstimatedTime: 15 };

/** Flat one-minute candles from minute -10 to 1000, priced by `priceAt(minute)`. */
function exchangeOf(clock: VirtualClock, priceAt: (minute: number) => number): ExchangeSchema {
  const prices = Array.from({ length: 1011 }, (_, i) => priceAt(i - 10));
  return replayExchange(candlesFromPrices(prices, { start: -10 * MINUTE }), clock);
}
// 100 until minute 2, 102 from minute 3: LONG opens at 0 and closes at take profit at 4 x 60001.
const risesAtMinute3 = (m: number) => (m < 3 ? 100 : 102);

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const off of cleanups.splice(0)) off();
});

function errorsAt(clock: VirtualClock): Array<{ error: Error; at: number }> {
  const seen: Array<{ error: Error; at: number }> = [];
  cleanups.push(listenError((error) => seen.push({ error, at: clock.now() })));
  return seen;
}

interface Run {
  results: Array<TickResult & { at: number }>;
  error: unknown;
  completed: boolean;
  subscription: Subscription;
  stop$: Subject<void>;
}

function start(clock: VirtualClock, strategy: StrategySchema, options: Partial<LiveOptions> & Pick<LiveOptions, "exchange">, onNext?: (r: TickResult) => void): Run {
  const run = { results: [], error: undefined, completed: false, stop$: new Subject<void>() } as unknown as Run;
  run.subscription = liveTrade$(SYMBOL, strategy, { scheduler: clock, config, stop$: run.stop$, ...options }).subscribe({
    next: (r) => {
      onNext?.(r);
      run.results.push({ ...r, at: clock.now() });
    },
    error: (e: unknown) => (run.error = e),
    complete: () => (run.completed = true),
  });
  return run;
}

const kindsOf = (entries: readonly JournalEntry[]) =>
  entries.map((e) => (e.kind === "trade" ? `trade ${e.result.action} ${e.result.signal.id} @${e.at}${e.recovered ? " recovered" : ""}` : e.kind === "run" ? `run ${e.event} @${e.at}` : e.kind === "tick" ? `tick ${e.action} @${e.at}` : `${e.kind} @${e.at}`));

async function all(journal: Journal, key: string): Promise<JournalEntry[]> {
  const entries: JournalEntry[] = [];
  for await (const entry of journal.read(key)) entries.push(entry);
  return entries;
}

describe("level trades", () => {
  it("journals the run's start, each trade after its store write and before it is emitted, and the graceful stop", async () => {
    const name = "j-trades";
    const key = `${SYMBOL}:${name}`;
    const clock = new VirtualClock(0);
    const journal = memoryJournal();
    const inner = memoryStore();
    // What the journal held when each write was made, and when each result was emitted.
    const atWrite: number[] = [];
    const atEmit: number[] = [];
    const store: SignalStore = { read: (k) => inner.read(k), write: (k, v) => (atWrite.push(journal.entries.get(key)?.length ?? 0), inner.write(k, v)) };
    const run = start(clock, scriptedStrategy(name, [LONG]), { exchange: exchangeOf(clock, risesAtMinute3), store, journal }, () => atEmit.push(journal.entries.get(key)?.length ?? 0));
    clock.schedule(() => run.stop$.next(), 300_000);
    clock.flush(400_000);

    expect(run.completed).toBe(true);
    expect(run.results.map((r) => [r.action, r.at])).toEqual([
      ["opened", 0],
      ["closed", 4 * TICK],
    ]);
    const entries = await all(journal, key);
    expect(kindsOf(entries)).toEqual(["run start @0", "trade opened P1 @0", `trade closed P1 @${4 * TICK}`, "run stop @300000"]);
    // Written before the journal had the trade, emitted after it had it.
    expect(atWrite).toEqual([1, 2]);
    expect(atEmit).toEqual([2, 3]);
    // The full result, as it was emitted.
    expect(entries[1]).toEqual({ kind: "trade", key, at: 0, result: { ...run.results[0], at: undefined } });
    expect((entries[2] as Extract<JournalEntry, { kind: "trade" }>).result).toMatchObject({ action: "closed", closeReason: "take_profit", currentPrice: 102, pnl: { priceOpen: 100, priceClose: 102 } });
    expect(entries[0]).toEqual({ kind: "run", key, at: 0, event: "start", symbol: SYMBOL, strategyName: name, exchangeName: "replay", level: "trades", tickMs: TICK });
    expect(entries[3]).toMatchObject({ kind: "run", event: "stop", reason: "stopped", level: "trades" });
  });

  it("a stop that ends the run as its last result passes appends the stop entry before the stream completes", async () => {
    const name = "j-stop-last";
    const key = `${SYMBOL}:${name}`;
    const clock = new VirtualClock(0);
    const journal = memoryJournal();
    let entriesAtEnd: string[] = [];
    const run = start(clock, scriptedStrategy(name, [LONG]), { exchange: exchangeOf(clock, risesAtMinute3), journal });
    run.subscription.add(() => (entriesAtEnd = kindsOf(journal.entries.get(key) ?? [])));
    // Stopped while P1 is open: it runs to its close, which ends the run.
    clock.schedule(() => run.stop$.next(), 90_000);
    clock.flush(400_000);
    expect(run.completed).toBe(true);
    expect(entriesAtEnd).toEqual(["run start @0", "trade opened P1 @0", `trade closed P1 @${4 * TICK}`, `run stop @${4 * TICK}`]);
  });

  it("level off (no journal) and a level without a journal", () => {
    const clock = new VirtualClock(0);
    const exchange = exchangeOf(clock, () => 100);
    expect(() => liveTrade$(SYMBOL, scriptedStrategy("x", []), { exchange, journalLevel: "full" })).toThrow(
      'rxtrade: journalLevel "full" needs a journal: pass journal: memoryJournal() (or fileJournal(dir) from rxtrade/node, indexedDbJournal() from rxtrade/browser)',
    );
    expect(() => liveTrade$(SYMBOL, scriptedStrategy("x", []), { exchange, journal: memoryJournal(), journalLevel: "all" as "full" })).toThrow(
      'rxtrade: journalLevel ("all") must be one of off, trades, full',
    );
    const journal = memoryJournal();
    const run = start(clock, scriptedStrategy("j-off", [LONG]), { exchange, journal, journalLevel: "off" });
    clock.flush(3 * TICK);
    run.subscription.unsubscribe();
    expect(run.results.map((r) => r.action)).toEqual(["opened"]);
    expect(journal.entries.size).toBe(0);
  });
});

describe("runs that end with an error", () => {
  it("a store value that is not the stream's: the run never started, nothing is journaled", async () => {
    const name = "j-conflict";
    const key = `${SYMBOL}:${name}`;
    const clock = new VirtualClock(0);
    const journal = memoryJournal();
    const store = memoryStore();
    store.write(key, encodeState({ status: "opened", signal: { ...openRow("someone-else", "X1") } }));
    errorsAt(clock);
    const run = start(clock, scriptedStrategy(name, []), { exchange: exchangeOf(clock, () => 100), store, journal });
    clock.flush(TICK);
    expect(run.error).toBeInstanceOf(StoreConflictError);
    expect(journal.entries.get(key)).toBeUndefined();
  });

  it("a lost lock (a write refused with StoreLockedError): the run appends nothing more, not even its stop", async () => {
    const name = "j-lost-lock";
    const key = `${SYMBOL}:${name}`;
    const clock = new VirtualClock(0);
    const journal = memoryJournal();
    const inner = memoryStore();
    const errors = errorsAt(clock);
    let lost = false;
    const store: SignalStore = {
      read: (k) => inner.read(k),
      write: (k, v) => {
        if (lost) throw new StoreLockedError({ key: k, message: `${k}: the lock file was replaced` });
        return inner.write(k, v);
      },
    };
    const run = start(clock, scriptedStrategy(name, [LONG]), { exchange: exchangeOf(clock, risesAtMinute3), store, journal });
    clock.schedule(() => (lost = true), 2 * TICK);
    clock.flush(400_000);
    expect(run.error).toBeInstanceOf(StoreLockedError);
    expect(kindsOf(journal.entries.get(key) ?? [])).toEqual(["run start @0", "trade opened P1 @0"]);
    expect(errors.map((e) => e.error.name)).toEqual(["StoreLockedError"]);
  });

  it("a fatal error: the stop entry says it", async () => {
    const name = "j-fatal";
    const key = `${SYMBOL}:${name}`;
    const clock = new VirtualClock(0);
    const journal = memoryJournal();
    const inner = memoryStore();
    errorsAt(clock);
    let foreign = false;
    // From the second read on (the retry after a failed write), the key holds another strategy's signal.
    const store: SignalStore = {
      read: (k) => (foreign ? encodeState({ status: "opened", signal: openRow("someone-else", "X1") }) : inner.read(k)),
      write: (k, v) => {
        if (v === null) {
          foreign = true;
          throw new Error("EIO");
        }
        return inner.write(k, v);
      },
    };
    const run = start(clock, scriptedStrategy(name, [LONG]), { exchange: exchangeOf(clock, risesAtMinute3), store, journal });
    clock.flush(400_000);
    expect(run.error).toBeInstanceOf(StoreConflictError);
    const entries = journal.entries.get(key) ?? [];
    expect(kindsOf(entries)).toEqual(["run start @0", "trade opened P1 @0", `run stop @${5 * TICK}`]);
    expect(entries[2]).toMatchObject({ reason: "error", error: { name: "StoreConflictError", message: expect.stringContaining(`${key} holds signal X1 of strategy someone-else`) } });
  });
});

describe("level full", () => {
  it("records every tick's candles, price, the strategy's answer and the action, with exact values", async () => {
    const name = "j-full";
    const key = `${SYMBOL}:${name}`;
    const clock = new VirtualClock(0);
    const journal = memoryJournal();
    // Minute m is priced 100 + m (so the tick at t sees 100 + floor(t / 60000) - 1).
    const exchange = exchangeOf(clock, (m) => 100 + m);
    let asked = 0;
    const strategy: StrategySchema = {
      strategyName: name,
      interval: "1m",
      // Reads the last three closed minutes; the second time, a long: TP +3, SL -3.
      getSignal: (_symbol, _when, ctx) =>
        ctx.candles$("1m", 3).pipe(
          map((candles) => {
            asked++;
            const last = (candles.at(-1) as Candle).close;
            return asked === 2 ? { id: "F1", position: "long" as const, priceTakeProfit: last + 3, priceStopLoss: last - 3, minuteEstimatedTime: 60, note: "from 3 candles" } : null;
          }),
        ),
    };
    const run = start(clock, strategy, { exchange, journal, journalLevel: "full" });
    clock.schedule(() => run.stop$.next(), 2 * TICK + 1);
    clock.flush(3 * TICK - 1);
    run.subscription.unsubscribe();

    const flat = (m: number, price: number) => ({ timestamp: m * MINUTE, open: price, high: price, low: price, close: price, volume: 1 });
    const entries = await all(journal, key);
    expect(kindsOf(entries)).toEqual(["run start @0", "tick idle @0", `tick opened @${TICK}`, `trade opened F1 @${TICK}`, `tick active @${2 * TICK}`, `run stop @${3 * TICK - 1}`]);
    expect(entries[1]).toEqual({
      kind: "tick",
      key,
      at: 0,
      candles: [
        { interval: "1m", since: -MINUTE, limit: 1, candles: [flat(-1, 99)] },
        { interval: "1m", since: -3 * MINUTE, limit: 3, candles: [flat(-3, 97), flat(-2, 98), flat(-1, 99)] },
      ],
      price: 99,
      answer: { signal: null },
      action: "idle",
    });
    expect(entries[2]).toEqual({
      kind: "tick",
      key,
      at: TICK,
      candles: [
        { interval: "1m", since: 0, limit: 1, candles: [flat(0, 100)] },
        { interval: "1m", since: -2 * MINUTE, limit: 3, candles: [flat(-2, 98), flat(-1, 99), flat(0, 100)] },
      ],
      price: 100,
      answer: { signal: { id: "F1", position: "long", priceTakeProfit: 103, priceStopLoss: 97, minuteEstimatedTime: 60, note: "from 3 candles" } },
      action: "opened",
      signalId: "F1",
    });
    // An open signal: the strategy is not asked, so the tick has no answer.
    expect(entries[4]).toEqual({
      kind: "tick",
      key,
      at: 2 * TICK,
      candles: [{ interval: "1m", since: MINUTE, limit: 1, candles: [flat(1, 101)] }],
      price: 101,
      action: "active",
      signalId: "F1",
    });
    // Unsubscribed with F1 open (the stop was requested, but a signal was held).
    expect(entries[5]).toMatchObject({ kind: "run", event: "stop", reason: "unsubscribed", level: "full" });
  });

  it("records a strategy's error, an invalid signal and a tick whose pricing failed", async () => {
    const name = "j-full-errors";
    const key = `${SYMBOL}:${name}`;
    const clock = new VirtualClock(0);
    const journal = memoryJournal();
    const errors = errorsAt(clock);
    // No candle for minute 1: the tick at 2 x 60001 cannot price.
    const exchange = exchangeOf(clock, (m) => (m === 1 ? Number.NaN : 100));
    const filtered: ExchangeSchema = {
      exchangeName: exchange.exchangeName,
      getCandles: (symbol, interval, since, limit) => (exchange.getCandles(symbol, interval, since, limit) as Candle[]).filter((c) => !Number.isNaN(c.close)),
    };
    let asked = 0;
    const strategy: StrategySchema = {
      strategyName: name,
      interval: "1m",
      getSignal: () => {
        asked++;
        if (asked === 1) throw new Error("no idea");
        return { position: "long", priceTakeProfit: 99, priceStopLoss: 98, minuteEstimatedTime: 60 };
      },
    };
    const run = start(clock, strategy, { exchange: filtered, journal, journalLevel: "full" });
    clock.flush(2 * TICK);
    run.subscription.unsubscribe();

    const entries = (await all(journal, key)).filter((e) => e.kind === "tick");
    expect(entries.map((e) => [e.at, e.action, e.price, e.answer])).toEqual([
      [0, "idle", 100, { error: { name: "StrategyError", message: "rxtrade: getSignal of j-full-errors failed for BTCUSDT: no idea" } }],
      [
        TICK,
        "idle",
        100,
        {
          error: {
            name: "InvalidSignalError",
            message: expect.stringContaining("rxtrade: invalid signal from j-full-errors on BTCUSDT: priceTakeProfit (99) must be above"),
          },
        },
      ],
      [2 * TICK, "error", null, undefined],
    ]);
    expect(entries[2]?.candles).toEqual([
      { interval: "1m", since: MINUTE, limit: 1, candles: [], error: { name: "ExchangeError", message: expect.stringContaining("no closed 1m candle for BTCUSDT") } },
    ]);
    expect(errors.map((e) => e.error.name)).toEqual(["StrategyError", "InvalidSignalError", "ExchangeError"]);
  });
});

/** A stored open signal of (SYMBOL, strategyName, "replay"), opened at 0 at 100. */
function openRow(strategyName: string, id: string): SignalRow {
  return {
    id,
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
  };
}

describe("a restart after a kill: the journal is reconciled with the store", () => {
  it("killed after the store write of an open, before its journal append: the open is recovered from the store, once", async () => {
    const name = "j-recover-open";
    const key = `${SYMBOL}:${name}`;
    const clock = new VirtualClock(0);
    const journal = memoryJournal();
    const store = memoryStore();
    // The dead process: a start, then the store write of P1's open; the journal never heard of it.
    journal.append({ kind: "run", key, at: 0, event: "start", symbol: SYMBOL, strategyName: name, exchangeName: "replay", level: "trades", tickMs: TICK });
    store.write(key, encodeState({ status: "opened", signal: openRow(name, "P1") }));

    clock.flush(120_000);
    const run = start(clock, scriptedStrategy(name, []), { exchange: exchangeOf(clock, risesAtMinute3), store, journal });
    clock.schedule(() => run.stop$.next(), 200_000 - clock.now());
    clock.flush(400_000);

    expect(run.results.map((r) => [r.action, r.signal?.id, r.at])).toEqual([["closed", "P1", 120_000 + 2 * TICK]]);
    const entries = await all(journal, key);
    expect(kindsOf(entries)).toEqual(["run start @0", "trade opened P1 @0 recovered", "run start @120000", `trade closed P1 @${120_000 + 2 * TICK}`, `run stop @${120_000 + 2 * TICK}`]);
    expect(entries[1]).toEqual({
      kind: "trade",
      key,
      at: 0,
      recovered: true,
      result: { action: "opened", symbol: SYMBOL, strategyName: name, exchangeName: "replay", currentPrice: 100, timestamp: 0, backtest: false, signal: openRow(name, "P1") },
    });
    expect(entries[2]).toMatchObject({ event: "start", resumedSignalId: "P1", recovery: { unfinishedRun: true, recoveredSignalId: "P1" } });
    expect((entries[2] as { recovery: object }).recovery).not.toHaveProperty("endedSignal");
  });

  it("killed after the store cleared a close, before its journal append: the start says the signal ended, no phantom position", async () => {
    const name = "j-recover-close";
    const key = `${SYMBOL}:${name}`;
    const clock = new VirtualClock(0);
    const journal = memoryJournal();
    const opened = { action: "opened", symbol: SYMBOL, strategyName: name, exchangeName: "replay", currentPrice: 100, timestamp: 0, backtest: false, signal: openRow(name, "P1") } as const;
    journal.append({ kind: "run", key, at: 0, event: "start", symbol: SYMBOL, strategyName: name, exchangeName: "replay", level: "trades", tickMs: TICK });
    journal.append({ kind: "trade", key, at: 0, result: opened });
    // The store was cleared (P1 closed); the process died before journaling it.
    clock.flush(600_000);
    const run = start(clock, scriptedStrategy(name, []), { exchange: exchangeOf(clock, () => 100), journal });
    clock.flush(600_000);
    run.subscription.unsubscribe();

    const entries = await all(journal, key);
    expect(kindsOf(entries)).toEqual(["run start @0", "trade opened P1 @0", "run start @600000", "run stop @600000"]);
    expect(entries[2]).toEqual({
      kind: "run",
      key,
      at: 600_000,
      event: "start",
      symbol: SYMBOL,
      strategyName: name,
      exchangeName: "replay",
      level: "trades",
      tickMs: TICK,
      recovery: { unfinishedRun: true, endedSignal: { signalId: "P1", status: "opened", since: 0 } },
    });
  });

  it("a journal that was stopped cleanly and agrees with the store: no recovery", async () => {
    const name = "j-clean";
    const key = `${SYMBOL}:${name}`;
    const clock = new VirtualClock(0);
    const journal = memoryJournal();
    const store = memoryStore();
    const first = start(clock, scriptedStrategy(name, [LONG]), { exchange: exchangeOf(clock, () => 100), store, journal });
    clock.flush(TICK);
    first.subscription.unsubscribe(); // P1 stays open, in the store and the journal
    const second = start(clock, scriptedStrategy(name, []), { exchange: exchangeOf(clock, () => 100), store, journal });
    clock.flush(2 * TICK);
    second.subscription.unsubscribe();
    const entries = await all(journal, key);
    expect(kindsOf(entries)).toEqual(["run start @0", "trade opened P1 @0", `run stop @${TICK}`, `run start @${TICK}`, `run stop @${2 * TICK}`]);
    expect(entries[3]).toMatchObject({ resumedSignalId: "P1" });
    expect(entries[3]).not.toHaveProperty("recovery");
  });
});

/**
 * A memoryJournal whose appends misbehave as `plan` says for the entries it picks: `throw`,
 * `reject` (a Promise), or `hang` until virtual time `until` (a thenable settled by the clock).
 */
function troubledJournal(clock: VirtualClock, plan: (entry: JournalEntry, attempt: number) => "ok" | "throw" | "reject" | { hangUntil: number }) {
  const inner = memoryJournal();
  const attempts = new Map<string, number>();
  const calls: Array<[string, number]> = [];
  const journal: Journal = {
    append(entry) {
      const id = kindsOf([entry])[0] as string;
      const attempt = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, attempt);
      calls.push([id, clock.now()]);
      const what = plan(entry, attempt);
      if (what === "throw") throw new Error(`disk full (${attempt})`);
      if (what === "reject") return Promise.reject(new Error(`EIO (${attempt})`));
      if (typeof what === "object") {
        const hanging: PromiseLike<void> = {
          then(resolve?: ((value: void) => unknown) | null) {
            clock.schedule(() => {
              inner.append(entry);
              resolve?.();
            }, what.hangUntil - clock.now());
            return hanging as PromiseLike<never>;
          },
        };
        return hanging;
      }
      inner.append(entry);
      return undefined;
    },
    read: (key) => inner.read(key),
    keys: () => inner.keys(),
    tail: (key) => inner.tail(key),
  };
  return { journal, inner, calls };
}

describe("a failing journal: reported on error$, kept and retried, trading goes on, nothing dropped", () => {
  const expected = ["run start @0", "trade opened P1 @0", `trade closed P1 @${4 * TICK}`, "run stop @300000"];

  it("throws: retried every tick period until it takes the entry, reported once", async () => {
    const name = "j-throws";
    const key = `${SYMBOL}:${name}`;
    const clock = new VirtualClock(0);
    const errors = errorsAt(clock);
    const { journal, inner, calls } = troubledJournal(clock, (e, attempt) => (e.kind === "trade" && e.result.action === "opened" && attempt <= 2 ? "throw" : "ok"));
    const run = start(clock, scriptedStrategy(name, [LONG]), { exchange: exchangeOf(clock, risesAtMinute3), journal });
    clock.schedule(() => run.stop$.next(), 300_000);
    clock.flush(400_000);

    // Trading went on at its own times.
    expect(run.results.map((r) => [r.action, r.at])).toEqual([
      ["opened", 0],
      ["closed", 4 * TICK],
    ]);
    expect(calls.filter(([id]) => id.startsWith("trade opened")).map(([, at]) => at)).toEqual([0, TICK, 2 * TICK]);
    expect(kindsOf(await all(inner, key))).toEqual(expected);
    // Two failures in one streak: one error.
    expect(errors.map((e) => [e.error.name, e.at])).toEqual([["JournalError", 0]]);
    const first = errors[0]?.error as JournalError;
    expect(first).toBeInstanceOf(JournalError);
    expect(first.message).toBe(
      `rxtrade: journal append of trade opened P1 for ${key} failed: disk full (1); it is kept and retried every 60 s; reported once until it recovers (trading goes on)`,
    );
    expect([first.key, first.operation, first.waiting, (first.cause as Error).message]).toEqual([key, "append", 1, "disk full (1)"]);
    expect(first.entry).toMatchObject({ kind: "trade", result: { action: "opened" } });
  });

  it("rejects: the same, with async appends (flushAsync)", async () => {
    const name = "j-rejects";
    const key = `${SYMBOL}:${name}`;
    const clock = new VirtualClock(0);
    const errors = errorsAt(clock);
    const { journal, inner } = troubledJournal(clock, (e, attempt) => (e.kind === "trade" && e.result.action === "closed" && attempt === 1 ? "reject" : "ok"));
    const run = start(clock, scriptedStrategy(name, [LONG]), { exchange: exchangeOf(clock, risesAtMinute3), journal });
    clock.schedule(() => run.stop$.next(), 300_000);
    await clock.flushAsync(400_000);
    expect(run.results.map((r) => [r.action, r.at])).toEqual([
      ["opened", 0],
      ["closed", 4 * TICK],
    ]);
    // The closed entry was retried at 5 x 60001, after the stop? No: the stop came first (300000
    // < 300005), and the end of the run gave it its last chance at once.
    expect(kindsOf(await all(inner, key))).toEqual(expected);
    expect(errors.map((e) => [e.error.name, (e.error as JournalError).operation, e.at])).toEqual([["JournalError", "append", 4 * TICK]]);
    expect(run.completed).toBe(true);
  });

  it("hangs: reported once at CC_STORE_TIMEOUT_SECONDS, waited for (never called twice), trading held up at most one limit", async () => {
    const name = "j-hangs";
    const key = `${SYMBOL}:${name}`;
    // The clock is told of the journal's calls in flight; it need not wait for them in real time.
    const clock = new VirtualClock(0, { callGraceMs: 0 });
    const errors = errorsAt(clock);
    const { journal, inner, calls } = troubledJournal(clock, (e) => (e.kind === "trade" && e.result.action === "opened" ? { hangUntil: 25_000 } : "ok"));
    const run = start(clock, scriptedStrategy(name, [LONG]), { exchange: exchangeOf(clock, risesAtMinute3), journal, config: { ...config, CC_STORE_TIMEOUT_SECONDS: 10 } });
    clock.schedule(() => run.stop$.next(), 300_000);
    await clock.flushAsync(400_000);

    // The opened result waited for its entry for one limit (10 s), then went on.
    expect(run.results.map((r) => [r.action, r.at])).toEqual([
      ["opened", 10_000],
      ["closed", 4 * TICK],
    ]);
    expect(calls.filter(([id]) => id.startsWith("trade opened"))).toEqual([["trade opened P1 @0", 0]]);
    expect(errors.map((e) => [e.error.name, e.at, (e.error.cause as Error).name])).toEqual([["JournalError", 10_000, "CallTimeoutError"]]);
    expect(errors[0]?.error.message).toBe(
      `rxtrade: journal append of trade opened P1 for ${key} has not settled within CC_STORE_TIMEOUT_SECONDS (10 s); it is waited for, with 1 entry in all; reported once until it recovers (trading goes on)`,
    );
    expect(kindsOf(await all(inner, key))).toEqual(expected);
  });

  it("at the end of a run, what cannot be appended is handed over in a JournalError (end), and the run still ends", async () => {
    const name = "j-end";
    const key = `${SYMBOL}:${name}`;
    const clock = new VirtualClock(0);
    const errors = errorsAt(clock);
    const { journal, inner } = troubledJournal(clock, (e) => (e.kind === "trade" && e.result.action === "closed" ? "throw" : "ok"));
    const run = start(clock, scriptedStrategy(name, [LONG]), { exchange: exchangeOf(clock, risesAtMinute3), journal });
    clock.schedule(() => run.stop$.next(), 300_000);
    clock.flush(400_000);

    expect(run.completed).toBe(true);
    expect(kindsOf(await all(inner, key))).toEqual(["run start @0", "trade opened P1 @0"]);
    // Retried within CC_STORE_TIMEOUT_SECONDS (30 s) of the stop, every 3 s, then given up.
    const end = errors.at(-1)?.error as JournalError;
    expect([end.operation, errors.at(-1)?.at]).toEqual(["end", 330_000]);
    expect(kindsOf(end.unappended)).toEqual([`trade closed P1 @${4 * TICK}`, "run stop @300000"]);
    expect(end.signalIds).toEqual(["P1"]);
    expect(end.message).toBe(
      `rxtrade: the run of ${key} ended with 2 journal entries not appended (trade closed P1, run stop), of signal P1: it did not finish within CC_STORE_TIMEOUT_SECONDS; ` +
        "they are in this error's unappended; the next start journals each of these changes from its journaled intent, with its full result",
    );
  });
});
