// Journal durability across kills (hole 1 of the hostile review of issue 11): a run is "killed"
// in-process at each step of a change of position — before its intent, between its intent and
// the store write, between the store write and its trade entry, after its trade entry — and a
// new run starts on what was durable (the same memory journal and store; a killed process
// writes nothing more, which the wrappers below enforce). Afterwards the journal's ledger must
// be exactly what the store did: every store change that landed is journaled once, in order,
// with the full result the run computed (price, PnL, reason), no signal "ended unrecorded",
// nothing rebuilt from the store with a lost price, and a change that never reached the store
// is not in the ledger.
//
// Virtual time: one tick every 60001 ms; with CC_AVG_PRICE_CANDLES_COUNT 1 the tick at t is
// priced with the candle of minute floor(t / 60000) - 1.
import { NEVER, Subject } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import {
  type Config,
  type Journal,
  type JournalEntry,
  type JournalRun,
  type JournalTrade,
  listenError,
  liveTicks$,
  memoryJournal,
  memoryStore,
  replayExchange,
  type SignalDto,
  type SignalStore,
  type TickResult,
} from "rxtrade";
import { candlesFromPrices, scriptedStrategy, VirtualClock } from "rxtrade/testing";

const TICK = 60_001;
const MINUTE = 60_000;
const SYMBOL = "BTCUSDT";

interface Scenario {
  script: SignalDto[];
  priceAt: (minute: number) => number;
  config?: Partial<Config>;
}

// A market long: opened at 0 (100), closed at take profit (102) at 4 ticks.
const MARKET: Scenario = {
  script: [{ id: "P1", position: "long", priceTakeProfit: 102, priceStopLoss: 98, minuteEstimatedTime: 60 }],
  priceAt: (m) => (m < 3 ? 100 : 102),
};
// A limit long at 99: scheduled at 0 (price 100), opened at 3 ticks (98.5, below the limit:
// currentPrice 98.5, priceOpen 99), closed at take profit (102) at 5 ticks.
const LIMIT: Scenario = {
  script: [{ id: "L1", position: "long", priceOpen: 99, priceTakeProfit: 102, priceStopLoss: 97, minuteEstimatedTime: 60 }],
  priceAt: (m) => (m < 2 ? 100 : m < 4 ? 98.5 : 102),
};
// A limit long at 90 on a flat 100: scheduled at 0, cancelled (timeout, 3 minutes) at 3 ticks.
const CANCEL: Scenario = {
  script: [{ id: "C1", position: "long", priceOpen: 90, priceTakeProfit: 95, priceStopLoss: 85, minuteEstimatedTime: 60 }],
  priceAt: () => 100,
  config: { CC_SCHEDULE_AWAIT_MINUTES: 3 },
};

const WINDOWS = ["before its intent", "between its intent and the store write", "between the store write and its trade entry", "after its trade entry"] as const;
type Window = (typeof WINDOWS)[number];

const CHANGES: Array<{ change: string; scenario: Scenario }> = [
  { change: "opened P1", scenario: MARKET },
  { change: "closed P1", scenario: MARKET },
  { change: "scheduled L1", scenario: LIMIT },
  { change: "opened L1", scenario: LIMIT },
  { change: "cancelled C1", scenario: CANCEL },
];

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const off of cleanups.splice(0)) off();
});

function exchangeOf(clock: VirtualClock, priceAt: (minute: number) => number) {
  const prices = Array.from({ length: 1011 }, (_, i) => priceAt(i - 10));
  return replayExchange(candlesFromPrices(prices, { start: -10 * MINUTE }), clock);
}

/** `closed P1` / `cancelled P1` -> `cleared P1`: what the store sees of a change. */
const storeChange = (change: string) => change.replace(/^(closed|cancelled) /, "cleared ");

/**
 * A memory journal and store that die together at `window` of `target`: from then on nothing
 * reaches them (a killed process writes nothing more). `landed` lists the store changes that
 * reached the store, in order (`opened P1`, `scheduled L1`, `cleared P1`).
 */
function killable(target: string, window: Window) {
  const journal = memoryJournal();
  const store = memoryStore();
  const state = { dead: false, diedAt: undefined as number | undefined, landed: [] as string[], held: undefined as string | undefined };
  const die = (at: number) => {
    state.dead = true;
    state.diedAt = at;
  };
  const dying: Journal = {
    append(entry) {
      if (state.dead) return;
      const change = entry.kind === "intent" || entry.kind === "trade" ? `${entry.result.action} ${entry.result.signal.id}` : undefined;
      if (change === target && entry.kind === "intent" && window === "before its intent") return die(entry.at);
      journal.append(entry);
      if (change === target && entry.kind === "trade" && window === "after its trade entry") die(entry.at);
    },
    read: (key) => journal.read(key),
    keys: () => journal.keys(),
    tail: (key) => journal.tail(key),
  };
  // The first process's store dies with it; the next one's (`lasting`) does not.
  const storeOf = (mortal: boolean): SignalStore => ({
    read: (key) => store.read(key),
    write(key, value) {
      if (mortal && state.dead) return;
      const stored = value as { status?: string; signal?: { id: string } } | null;
      const change = stored === null ? `cleared ${state.held}` : `${stored.status} ${stored.signal?.id}`;
      const hit = mortal && change === storeChange(target);
      if (hit && window === "between its intent and the store write") return die(NaN);
      store.write(key, value);
      state.landed.push(change);
      state.held = stored === null ? undefined : stored.signal?.id;
      if (hit && window === "between the store write and its trade entry") die(NaN);
    },
  });
  return { journal, store, dying, dyingStore: storeOf(true), lasting: storeOf(false), state };
}

function run(clock: VirtualClock, name: string, script: SignalDto[], scenario: Scenario, journal: Journal, store: SignalStore, stop$ = NEVER as unknown as Subject<void>) {
  const results: TickResult[] = [];
  const outcome = { completed: false, error: undefined as unknown };
  const subscription = liveTicks$(SYMBOL, scriptedStrategy(name, script), {
    exchange: exchangeOf(clock, scenario.priceAt),
    store,
    journal,
    scheduler: clock,
    stop$,
    config: { CC_AVG_PRICE_CANDLES_COUNT: 1, ...scenario.config },
  }).subscribe({ next: (r) => results.push(r), error: (e: unknown) => (outcome.error = e), complete: () => (outcome.completed = true) });
  return { results, outcome, subscription };
}

const json = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;
const trades = (entries: readonly JournalEntry[]) => entries.filter((e): e is JournalTrade => e.kind === "trade");
const changeOf = (t: JournalTrade) => `${t.result.action} ${t.result.signal.id}`;

async function entriesOf(journal: Journal, key: string): Promise<JournalEntry[]> {
  const entries: JournalEntry[] = [];
  for await (const entry of journal.read(key)) entries.push(entry);
  return entries;
}

describe("a kill at any step of a change of position: the ledger is what the store did, with full results", () => {
  for (const { change, scenario } of CHANGES) {
    for (const window of WINDOWS) {
      it(`${change}, killed ${window}`, async () => {
        const name = `dur-${change.replace(" ", "-")}-${WINDOWS.indexOf(window)}`;
        const key = `${SYMBOL}:${name}`;
        const errors: Error[] = [];
        cleanups.push(listenError((error) => errors.push(error)));
        const { journal, store, dying, dyingStore, lasting, state } = killable(change, window);

        // The first process runs until it is killed at the step under test.
        const clockA = new VirtualClock(0);
        const a = run(clockA, name, scenario.script, scenario, dying, dyingStore);
        for (let k = 0; k < 20 && !state.dead; k++) clockA.flush(k * TICK);
        expect(state.dead, `the run never reached ${window} of ${change}`).toBe(true);
        const killedAt = clockA.now();
        a.subscription.unsubscribe(); // what it would still do goes nowhere: it is dead

        // The next process: the same journal and store, a strategy that gives nothing new.
        const clockB = new VirtualClock(killedAt + 1_000);
        const stop$ = new Subject<void>();
        const b = run(clockB, name, [], scenario, journal, lasting, stop$);
        clockB.schedule(() => stop$.next(), 8 * TICK);
        clockB.flush(killedAt + 1_000 + 20 * TICK);
        expect(b.outcome).toEqual({ completed: true, error: undefined });
        expect(errors).toEqual([]);

        const entries = await entriesOf(journal, key);
        const ledger = trades(entries);
        // Every store change that landed, and only those, once each, in order.
        expect(ledger.map((t) => storeChange(changeOf(t)))).toEqual(state.landed);
        // Each with the result the run computed for it: the last process that computed it (a
        // change redone after a kill before its store write is the second run's).
        for (const trade of ledger) {
          const computed = [...b.results, ...a.results].find(
            (r) => `${r.action} ${r.signal?.id}` === changeOf(trade) && (r.action !== "scheduled" || r.timestamp === r.signal.scheduledAt), // the tick that placed it
          );
          expect(json(trade.result), changeOf(trade)).toEqual(json(computed));
          expect(trade).not.toHaveProperty("recovered");
        }
        // Nothing ended unrecorded; the second start says what it made of the intent.
        const starts = entries.filter((e): e is JournalRun => e.kind === "run" && e.event === "start");
        expect(starts).toHaveLength(2);
        expect(starts.map((s) => s.recovery?.endedSignal)).toEqual([undefined, undefined]);
        const [id, action] = [change.split(" ")[1], change.split(" ")[0]];
        const intent = window === "between its intent and the store write" ? "voided" : window === "between the store write and its trade entry" ? "confirmed" : undefined;
        expect(starts[1]?.recovery?.intent).toEqual(intent === undefined ? undefined : { signalId: id, action, at: killedAt, outcome: intent });
        if (intent === "confirmed") expect(ledger.find((t) => changeOf(t) === change)).toMatchObject({ fromIntent: true, at: killedAt });
        // The run ended with nothing held, in the store as in the journal.
        expect(await store.read(key)).toBeNull();
        expect(["closed", "cancelled", undefined]).toContain(ledger.at(-1)?.result.action);
      });
    }
  }
});

describe("a store write whose outcome the run does not learn in time: the journal still gets the change", () => {
  const LONG = MARKET.script[0] as SignalDto;

  it("a close whose store write lands but fails, its read-back failing too: the retry reads the store, and the close is journaled from its intent", async () => {
    const name = "dur-unverified";
    const key = `${SYMBOL}:${name}`;
    const errors: Error[] = [];
    cleanups.push(listenError((error) => errors.push(error)));
    const journal = memoryJournal();
    const inner = memoryStore();
    let failedReads = 0;
    const store: SignalStore = {
      read(k) {
        if (failedReads > 0) {
          failedReads--;
          throw new Error("EIO on read");
        }
        return inner.read(k);
      },
      write(k, v) {
        inner.write(k, v);
        if (v !== null) return;
        failedReads = 1; // the read-back that checks this write fails too
        throw new Error("EIO after the write");
      },
    };
    const clock = new VirtualClock(0);
    const stop$ = new Subject<void>();
    const a = run(clock, name, [LONG], MARKET, journal, store, stop$);
    clock.schedule(() => stop$.next(), 6 * TICK);
    clock.flush(10 * TICK);

    expect(a.outcome).toEqual({ completed: true, error: undefined });
    expect(a.results.filter((r) => r.action === "closed")).toEqual([]); // never emitted: the write "failed"
    expect(errors.map((e) => e.name)).toEqual(["StoreWriteError"]);
    const ledger = trades(await entriesOf(journal, key));
    expect(ledger.map(changeOf)).toEqual(["opened P1", "closed P1"]);
    expect(ledger[1]).toMatchObject({
      at: 4 * TICK,
      fromIntent: true,
      result: { action: "closed", closeReason: "take_profit", currentPrice: 102, timestamp: 4 * TICK, pnl: { priceOpen: 100, priceClose: 102 } },
    });
  });

  it("a run unsubscribed while its close's store write is in flight (its stop entry after the intent): the next start confirms the close from the store", async () => {
    const name = "dur-unsubscribed";
    const key = `${SYMBOL}:${name}`;
    const journal = memoryJournal();
    const inner = memoryStore();
    const clock = new VirtualClock(0, { callGraceMs: 0 });
    // The close's store write lands 10 s after it is made.
    const store: SignalStore = {
      read: (k) => inner.read(k),
      write(k, v) {
        if (v !== null) return inner.write(k, v);
        return new Promise<void>((resolve) => {
          clock.schedule(() => {
            inner.write(k, v);
            resolve();
          }, 10_000);
        });
      },
    };
    const a = run(clock, name, [LONG], MARKET, journal, store);
    await clock.flushAsync(4 * TICK + 1_000);
    a.subscription.unsubscribe(); // the stop entry goes in; the write is still in flight
    await clock.flushAsync(4 * TICK + 20_000);
    expect(await inner.read(key)).toBeNull(); // it landed
    const before = await entriesOf(journal, key);
    expect(before.map((e) => (e.kind === "run" ? `run ${e.event}` : e.kind === "trade" ? changeOf(e) : e.kind))).toEqual(["run start", "opened P1", "run stop"]);

    const stop$ = new Subject<void>();
    const b = run(clock, name, [], MARKET, journal, inner, stop$);
    clock.schedule(() => stop$.next(), TICK);
    await clock.flushAsync(clock.now() + 3 * TICK);
    expect(b.outcome).toEqual({ completed: true, error: undefined });
    const entries = await entriesOf(journal, key);
    const ledger = trades(entries);
    expect(ledger.map(changeOf)).toEqual(["opened P1", "closed P1"]);
    expect(ledger[1]).toMatchObject({ at: 4 * TICK, fromIntent: true, result: { action: "closed", currentPrice: 102, pnl: { priceClose: 102 } } });
    const start = entries.filter((e): e is JournalRun => e.kind === "run" && e.event === "start")[1];
    expect(start?.recovery).toEqual({ unfinishedRun: false, intent: { signalId: "P1", action: "closed", at: 4 * TICK, outcome: "confirmed" } });
  });
});
