// Journal durability at the end of a run and under a failing journal (holes 2 and 3 of the
// hostile review of issue 11):
// - a run's end (a graceful stop, Live.stop) drains the journal within CC_STORE_TIMEOUT_SECONDS,
//   retrying; what it cannot append is reported (how many entries, which signals), and the next
//   start journals the change from its intent, with its full result;
// - a failing journal is one JournalError per failure streak, not one per tick; tick entries
//   are dropped while it fails or falls behind (never a change of position), and a gap entry
//   says which ticks are missing once it takes entries again.
// Virtual time; one tick every 60001 ms; with CC_AVG_PRICE_CANDLES_COUNT 1 the tick at t is
// priced with the candle of minute floor(t / 60000) - 1.
import { Subject } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import {
  addExchange,
  addStrategy,
  type Config,
  type Journal,
  type JournalEntry,
  JournalError,
  type JournalGap,
  type JournalRun,
  type JournalTick,
  type JournalTrade,
  Live,
  listenDoneLive,
  listenError,
  liveTicks$,
  memoryJournal,
  memoryStore,
  replayExchange,
  setLogger,
  type SignalDto,
  type SignalStore,
  type TickResult,
} from "rxtrade";
import { candlesFromPrices, scriptedStrategy, VirtualClock } from "rxtrade/testing";

const TICK = 60_001;
const MINUTE = 60_000;
const SYMBOL = "BTCUSDT";
// Opened at 0 (price 100), closed at take profit (102) at 4 x 60001.
const LONG: SignalDto = { id: "P1", position: "long", priceTakeProfit: 102, priceStopLoss: 98, minuteEstimatedTime: 60 };
const risesAtMinute3 = (m: number) => (m < 3 ? 100 : 102);

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const off of cleanups.splice(0)) off();
});

function exchangeOf(clock: VirtualClock, priceAt: (minute: number) => number = risesAtMinute3, exchangeName?: string) {
  const prices = Array.from({ length: 2_011 }, (_, i) => priceAt(i - 10));
  return replayExchange(candlesFromPrices(prices, { start: -10 * MINUTE }), clock, exchangeName === undefined ? {} : { exchangeName });
}

function errorsAt(clock: VirtualClock): Array<{ error: Error; at: number }> {
  const seen: Array<{ error: Error; at: number }> = [];
  cleanups.push(listenError((error) => seen.push({ error, at: clock.now() })));
  return seen;
}

/** What the logger was told, by level. */
function logged(): { warn: string[]; info: string[] } {
  const lines = { warn: [] as string[], info: [] as string[] };
  setLogger({ warn: (m: unknown) => lines.warn.push(String(m)), info: (m: unknown) => lines.info.push(String(m)) });
  cleanups.push(() => setLogger({ warn: (...args: unknown[]) => console.warn(...args), error: (...args: unknown[]) => console.error(...args) }));
  return lines;
}

const describeEntry = (e: JournalEntry) =>
  e.kind === "trade" || e.kind === "intent" ? `${e.kind} ${e.result.action} ${e.result.signal.id}` : e.kind === "run" ? `run ${e.event}` : e.kind === "gap" ? "gap" : `tick ${e.action}`;

/**
 * A memoryJournal whose appends misbehave as `plan` says: `throw`, or `hang` until virtual
 * time `hangUntil` (a thenable settled by the clock). `calls` counts every append.
 */
function troubledJournal(clock: VirtualClock, plan: (entry: JournalEntry, attempt: number) => "ok" | "throw" | { hangUntil: number }) {
  const inner = memoryJournal();
  const attempts = new Map<string, number>();
  const counts = { calls: 0 };
  const journal: Journal = {
    append(entry) {
      counts.calls++;
      const id = `${describeEntry(entry)} @${entry.at}`;
      const attempt = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, attempt);
      const what = plan(entry, attempt);
      if (what === "throw") throw new Error(`disk full (${attempt})`);
      if (typeof what === "object") {
        const hanging: PromiseLike<void> = {
          then(resolve?: ((value: void) => unknown) | null) {
            clock.schedule(() => {
              inner.append(entry);
              resolve?.();
            }, Math.max(0, what.hangUntil - clock.now()));
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
  return { journal, inner, counts };
}

function start(
  clock: VirtualClock,
  name: string,
  options: { journal: Journal; store?: SignalStore; script?: SignalDto[]; level?: "trades" | "full"; config?: Partial<Config>; priceAt?: (m: number) => number },
) {
  const stop$ = new Subject<void>();
  const run = { results: [] as TickResult[], completedAt: undefined as number | undefined, error: undefined as unknown, stop$ };
  liveTicks$(SYMBOL, scriptedStrategy(name, options.script ?? [LONG]), {
    exchange: exchangeOf(clock, options.priceAt),
    store: options.store ?? memoryStore(),
    journal: options.journal,
    journalLevel: options.level ?? "trades",
    scheduler: clock,
    stop$,
    config: { CC_AVG_PRICE_CANDLES_COUNT: 1, ...options.config },
  }).subscribe({ next: (r) => run.results.push(r), error: (e: unknown) => (run.error = e), complete: () => (run.completedAt = clock.now()) });
  return run;
}

async function entriesOf(journal: Journal, key: string): Promise<JournalEntry[]> {
  const entries: JournalEntry[] = [];
  for await (const entry of journal.read(key)) entries.push(entry);
  return entries;
}

const json = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;
const isClosedTrade = (e: JournalEntry) => e.kind === "trade" && e.result.action === "closed";

describe("the end of a run: drained within CC_STORE_TIMEOUT_SECONDS; what cannot be written is reported and recovered", () => {
  it("a graceful stop retries a failing append until it works (3 failures), then completes: nothing lost, one JournalError", async () => {
    const name = "end-retry";
    const key = `${SYMBOL}:${name}`;
    const clock = new VirtualClock(0);
    const errors = errorsAt(clock);
    const { journal, inner } = troubledJournal(clock, (e, attempt) => (isClosedTrade(e) && attempt <= 3 ? "throw" : "ok"));
    const run = start(clock, name, { journal });
    const stopAt = 4 * TICK + 1_000;
    clock.schedule(() => run.stop$.next(), stopAt);
    clock.flush(stopAt + 120_000);

    // Attempt 1 at the close (4 x 60001), 2 at the stop, 3 and 4 every 3 s (a tenth of the 30 s limit).
    expect(run.completedAt).toBe(stopAt + 6_000);
    expect((await entriesOf(inner, key)).map(describeEntry)).toEqual(["run start", "trade opened P1", "trade closed P1", "run stop"]);
    expect(errors.map((e) => [e.error.name, (e.error as JournalError).operation, e.at])).toEqual([["JournalError", "append", 4 * TICK]]);
  });

  it("what a run cannot append by its end is reported — how many, which signals — and the next start journals the close from its intent, PnL and all", async () => {
    const name = "end-lost";
    const key = `${SYMBOL}:${name}`;
    const clock = new VirtualClock(0);
    const errors = errorsAt(clock);
    const store = memoryStore();
    const { journal, inner } = troubledJournal(clock, (e) => (isClosedTrade(e) ? "throw" : "ok"));
    const run = start(clock, name, { journal, store });
    const stopAt = 4 * TICK + 1_000;
    clock.schedule(() => run.stop$.next(), stopAt);
    clock.flush(stopAt + 120_000);

    // Trading was not held up; the run still ended, 30 s (the limit) after the stop.
    expect(run.completedAt).toBe(stopAt + 30_000);
    const closed = run.results.find((r) => r.action === "closed");
    expect(closed).toMatchObject({ action: "closed", closeReason: "take_profit", currentPrice: 102, pnl: { priceOpen: 100, priceClose: 102 } });
    const end = errors.at(-1)?.error as JournalError;
    expect([end.name, end.operation, errors.at(-1)?.at]).toEqual(["JournalError", "end", stopAt + 30_000]);
    expect(end.unappended.map(describeEntry)).toEqual(["trade closed P1", "run stop"]);
    expect(end.signalIds).toEqual(["P1"]);
    expect(end.message).toBe(
      `rxtrade: the run of ${key} ended with 2 journal entries not appended (trade closed P1, run stop), of signal P1: it did not finish within CC_STORE_TIMEOUT_SECONDS; ` +
        "they are in this error's unappended; the next start journals each of these changes from its journaled intent, with its full result",
    );
    // One JournalError for the failure streak, one for the end.
    expect(errors.map((e) => (e.error as JournalError).operation)).toEqual(["append", "end"]);

    // The next start, on what was written: the close is journaled from its intent, as computed.
    const next = start(clock, name, { journal: inner, store, script: [] });
    clock.schedule(() => next.stop$.next(), TICK);
    clock.flush(clock.now() + 3 * TICK);
    const entries = await entriesOf(inner, key);
    expect(entries.map(describeEntry)).toEqual(["run start", "trade opened P1", "trade closed P1", "run start", "run stop"]);
    expect(entries[2]).toEqual({ kind: "trade", key, at: 4 * TICK, result: json(closed), fromIntent: true });
    expect((entries[3] as JournalRun).recovery).toEqual({ unfinishedRun: true, intent: { signalId: "P1", action: "closed", at: 4 * TICK, outcome: "confirmed" } });
  });

  it("Live.stop: the pair is done (doneLive$) only once its journal holds the close, after two failed appends, and its stop", async () => {
    const name = "end-live-stop";
    const key = `${SYMBOL}:${name}`;
    const clock = new VirtualClock(0);
    errorsAt(clock);
    const { journal, inner } = troubledJournal(clock, (e, attempt) => (isClosedTrade(e) && attempt <= 2 ? "throw" : "ok"));
    addExchange(exchangeOf(clock, risesAtMinute3, `${name}-ex`));
    addStrategy(scriptedStrategy(name, [LONG]));
    const atDone: string[][] = [];
    cleanups.push(listenDoneLive((event) => event.strategyName === name && atDone.push((inner.entries.get(key) ?? []).map(describeEntry))));
    Live.run(SYMBOL, { strategyName: name, exchangeName: `${name}-ex`, scheduler: clock, store: memoryStore(), journal, config: { CC_AVG_PRICE_CANDLES_COUNT: 1 } } as never).subscribe({ error: () => {} });
    clock.schedule(() => void Live.stop(SYMBOL, name), 4 * TICK + 1_000);
    clock.flush(4 * TICK + 120_000);
    expect(atDone).toEqual([["run start", "trade opened P1", "trade closed P1", "run stop"]]);
  });
});

/** Every tick time from `from` (a multiple of TICK) to `to`, inclusive. */
const tickTimes = (from: number, to: number) => Array.from({ length: Math.floor((to - from) / TICK) + 1 }, (_, i) => from + i * TICK);

/** The tick times a journal's tick entries and gap entries account for: each once. */
function accountedTicks(entries: readonly JournalEntry[]): { journaled: number[]; gaps: JournalGap[]; dropped: number } {
  const journaled = entries.filter((e): e is JournalTick => e.kind === "tick").map((e) => e.at);
  const gaps = entries.filter((e): e is JournalGap => e.kind === "gap");
  return { journaled, gaps, dropped: gaps.reduce((sum, g) => sum + g.ticks, 0) };
}

describe("a failing journal: one error per failure streak, tick entries dropped and marked, changes of position kept", () => {
  it("fails from 2 to 6 ticks (level full): one JournalError, the dropped ticks in a gap entry, the close journaled", async () => {
    const name = "streak-fails";
    const key = `${SYMBOL}:${name}`;
    const clock = new VirtualClock(0);
    const errors = errorsAt(clock);
    const log = logged();
    const { journal, inner } = troubledJournal(clock, () => (clock.now() >= 2 * TICK && clock.now() < 6 * TICK ? "throw" : "ok"));
    const run = start(clock, name, { journal, level: "full" });
    clock.schedule(() => run.stop$.next(), 9 * TICK + 1_000);
    clock.flush(12 * TICK);

    expect(run.completedAt).toBeDefined();
    expect(run.results.filter((r) => r.action === "opened" || r.action === "closed").map((r) => [r.action, r.timestamp])).toEqual([
      ["opened", 0],
      ["closed", 4 * TICK],
    ]);
    // Four failed attempts (ticks 2 to 5 and the retries of the gap entry), one error, said once recovered.
    expect(errors.map((e) => [e.error.name, (e.error as JournalError).operation, e.at])).toEqual([["JournalError", "append", 2 * TICK]]);
    expect(errors[0]?.error.message).toBe(
      `rxtrade: journal append of tick ${new Date(2 * TICK).toISOString()} for ${key} failed: disk full (1); ` +
        "tick entries are dropped until it takes entries again (a gap entry will mark them); reported once until it recovers (trading goes on)",
    );
    expect(log.info.filter((m) => m.includes("accepts entries again"))).toHaveLength(1);
    const entries = await entriesOf(inner, key);
    // The changes of position, complete; the ticks 2 to 5 dropped and marked, every other one journaled.
    const closed = run.results.find((r) => r.action === "closed");
    expect(entries.filter((e) => e.kind === "trade").map((e) => json((e as JournalTrade).result))).toEqual(
      run.results.filter((r) => r.action === "opened" || r.action === "closed").map(json),
    );
    expect(closed).toBeDefined();
    const { journaled, gaps, dropped } = accountedTicks(entries);
    expect(gaps.map(({ from, to, ticks, reason }) => ({ from, to, ticks, reason }))).toEqual([{ from: 2 * TICK, to: 5 * TICK, ticks: 4, reason: "failing" }]);
    expect([...journaled, ...tickTimes(2 * TICK, 5 * TICK)].sort((a, b) => a - b)).toEqual(tickTimes(0, journaled.at(-1) as number));
    expect(dropped).toBe(4);
    // The gap entry comes before the first tick after it.
    const gapAt = entries.findIndex((e) => e.kind === "gap");
    expect(entries.slice(gapAt + 1).find((e) => e.kind === "tick")?.at).toBe(6 * TICK);
  });

  it("one tick entry fails (level full): the gap entry tried one period later works, and the journal takes every later tick", async () => {
    const name = "one-failure";
    const key = `${SYMBOL}:${name}`;
    const clock = new VirtualClock(0);
    const errors = errorsAt(clock);
    const log = logged();
    const { journal, inner } = troubledJournal(clock, (e, attempt) => (e.kind === "tick" && e.at === 2 * TICK && attempt === 1 ? "throw" : "ok"));
    const run = start(clock, name, { journal, level: "full" });
    clock.schedule(() => run.stop$.next(), 6 * TICK + 1_000);
    clock.flush(8 * TICK);

    expect(run.completedAt).toBeDefined();
    expect(errors.map((e) => [(e.error as JournalError).operation, e.at])).toEqual([["append", 2 * TICK]]);
    expect(log.info.filter((m) => m.includes("accepts entries again"))).toEqual([
      `rxtrade: the journal of ${key} accepts entries again after 1 failed attempt; 1 tick entry was dropped meanwhile (a gap entry marks them); 0 more waiting`,
    ]);
    const entries = await entriesOf(inner, key);
    const { journaled, gaps } = accountedTicks(entries);
    expect(gaps.map(({ at, from, to, ticks }) => ({ at, from, to, ticks }))).toEqual([{ at: 3 * TICK, from: 2 * TICK, to: 2 * TICK, ticks: 1 }]);
    expect(journaled).toEqual([0, TICK, 3 * TICK, 4 * TICK, 5 * TICK, 6 * TICK]);
    expect(entries.map(describeEntry).filter((d) => d.startsWith("trade"))).toEqual(["trade opened P1", "trade closed P1"]);
  });

  it("hangs from 2 to 8 ticks (level full): reported once at the limit, ticks dropped meanwhile and marked, the close kept and journaled after the hang", async () => {
    const name = "streak-hangs";
    const key = `${SYMBOL}:${name}`;
    const clock = new VirtualClock(0, { callGraceMs: 0 });
    const errors = errorsAt(clock);
    logged();
    let calls = 0;
    // The tick entry at 2 ticks hangs until half a minute before 8 ticks; nothing else misbehaves.
    const { journal, inner } = troubledJournal(clock, (e) => (e.kind === "tick" && e.at === 2 * TICK ? (calls++, { hangUntil: 8 * TICK - 30_000 }) : "ok"));
    const run = start(clock, name, { journal, level: "full", config: { CC_STORE_TIMEOUT_SECONDS: 10 } });
    clock.schedule(() => run.stop$.next(), 10 * TICK + 1_000);
    await clock.flushAsync(14 * TICK);

    expect(run.completedAt).toBeDefined();
    expect(run.results.filter((r) => r.action === "closed").map((r) => r.timestamp)).toEqual([4 * TICK]);
    expect(errors.map((e) => [e.error.name, e.at, (e.error.cause as Error).name])).toEqual([["JournalError", 2 * TICK + 10_000, "CallTimeoutError"]]);
    const entries = await entriesOf(inner, key);
    expect(entries.filter((e) => e.kind === "trade").map(describeEntry)).toEqual(["trade opened P1", "trade closed P1"]);
    const { journaled, gaps } = accountedTicks(entries);
    // Ticks 3 to 7 came while it hung (after the limit: dropped, not queued).
    expect(gaps.map(({ from, to, ticks, reason }) => ({ from, to, ticks, reason }))).toEqual([{ from: 3 * TICK, to: 7 * TICK, ticks: 5, reason: "failing" }]);
    expect(journaled.filter((at) => at >= 3 * TICK && at <= 7 * TICK)).toEqual([]);
    expect(journaled).toContain(8 * TICK);
    // The hung call was never made twice.
    expect(calls).toBe(1);
  });

  it("falls behind (a slow journal, within its time limit): at most 1024 tick entries wait, later ones are dropped and marked once it catches up", async () => {
    const name = "behind";
    const key = `${SYMBOL}:${name}`;
    const clock = new VirtualClock(0, { callGraceMs: 0 });
    const errors = errorsAt(clock);
    const log = logged();
    // The tick entry at 1 tick takes until half a minute before 1100 ticks (within a limit of
    // 10^6 s): the journal is slow, not failing.
    const { journal, inner } = troubledJournal(clock, (e) => (e.kind === "tick" && e.at === TICK ? { hangUntil: 1_100 * TICK - 30_000 } : "ok"));
    const run = start(clock, name, { journal, level: "full", script: [], priceAt: () => 100, config: { CC_STORE_TIMEOUT_SECONDS: 1_000_000 } });
    clock.schedule(() => run.stop$.next(), 1_105 * TICK + 1_000);
    await clock.flushAsync(1_110 * TICK);

    expect(run.completedAt).toBeDefined();
    expect(errors).toEqual([]);
    expect(log.warn.filter((m) => m.includes("falls behind"))).toEqual([
      `rxtrade: the journal of ${key} falls behind: 1024 tick entries wait for it; later ones are dropped until it catches up (a gap entry will mark them; trading goes on)`,
    ]);
    const entries = await entriesOf(inner, key);
    const { journaled, gaps, dropped } = accountedTicks(entries);
    // The slow one and the ticks 2 to 1024 waited (1024 in all); 1025 to 1099 were dropped.
    expect(gaps.map(({ from, to, ticks, reason }) => ({ from, to, ticks, reason }))).toEqual([{ from: 1_025 * TICK, to: 1_099 * TICK, ticks: 75, reason: "behind" }]);
    expect([...journaled, ...tickTimes(1_025 * TICK, 1_099 * TICK)].sort((a, b) => a - b)).toEqual(tickTimes(0, 1_105 * TICK));
    expect(dropped).toBe(75);
    // The gap entry comes just before the first tick after it.
    const gapAt = entries.findIndex((e) => e.kind === "gap");
    expect(entries[gapAt + 1]).toMatchObject({ kind: "tick", at: 1_100 * TICK });
  });
});
