// Issue 11, item 3 (a new feature): replayJournal$ / runReplay run a journal recorded at level
// full through the live loop (liveTicks$) in virtual time and compare each tick's decision with
// the recorded one. Recordings here are real runs of the loop on the bundled Binance.US BTC/USDT
// minutes (momentum: a 0.3 % move over 3 ticks -> TP/SL 1 %, 60 minutes), on a memoryJournal at
// level full: one through runBacktest (ticks exactly every 60 001 ms), one on a clock whose
// timers fire late as live ones do, with an exchange that fails, hangs and answers slowly, and
// one killed and restarted.
import { map, NEVER, type SchedulerAction, type SchedulerLike, Subject, type Subscription, timer } from "rxjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Candle, type ExchangeSchema, type Journal, type JournalEntry, type JournalTick, listenError, liveTicks$, memoryJournal, memoryStore, ReplayError, replayExchange, type SignalDto, type StrategySchema } from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandles, decideTicks, replayJournal$, type ReplayTick, runBacktest, runReplay } from "rxtrade/node";
import { VirtualClock } from "rxtrade/testing";
import { momentumStrategy } from "../examples/strategies/momentum";

const TICK = 60_001;
const HOUR = 3_600_000;
const FROM = Date.parse("2023-03-01T02:00:00Z");
const KEY = "BTCUSDT:momentum";
const iso = (ms: number) => new Date(ms).toISOString();

let candles: Candle[];
let quiet: () => void;
beforeAll(async () => {
  candles = await csvCandles(BUNDLED_BTCUSDT_1M);
  // The loops' errors (a failing exchange, a throwing strategy) are part of the recordings here.
  quiet = listenError(() => undefined);
});
afterAll(() => quiet());

/** The strategy with another take profit (`percent` from the price it was asked at); the rest unchanged. */
function otherTakeProfit(schema: StrategySchema, percent: number): StrategySchema {
  return {
    ...schema,
    getSignal(symbol, when, ctx) {
      const dto = schema.getSignal(symbol, when, ctx) as SignalDto | null;
      if (dto === null) return null;
      const long = dto.position === "long";
      return { ...dto, priceTakeProfit: ctx.currentPrice * (long ? 1 + percent / 100 : 1 - percent / 100) };
    },
  };
}

/** A `full` journal of momentum over `hours` from FROM, through runBacktest (the live loop on a VirtualClock). */
async function recordBacktest(hours: number, strategy: StrategySchema = momentumStrategy()): Promise<JournalEntry[]> {
  const journal = memoryJournal();
  await runBacktest("BTCUSDT", strategy, { candles, from: FROM, to: FROM + hours * HOUR, journal, journalLevel: "full" });
  return [...(journal.entries.get(`BTCUSDT:${strategy.strategyName}`) ?? [])];
}

const trades = (entries: readonly JournalEntry[]) => entries.flatMap((e) => (e.kind === "trade" ? [e] : []));
const ticksOf = (entries: readonly JournalEntry[]) => entries.filter((e): e is JournalTick => e.kind === "tick");

describe("replayJournal$ on a recording of the live loop", () => {
  it("the same strategy replays identically: every tick at its recorded time, the same decision", async () => {
    const entries = await recordBacktest(12);
    const recorded = trades(entries);
    expect(recorded.map((t) => [iso(t.at), t.result.action])).toEqual([
      ["2023-03-01T03:16:00.076Z", "opened"],
      ["2023-03-01T04:16:00.136Z", "closed"],
      ["2023-03-01T04:50:00.170Z", "opened"],
      ["2023-03-01T05:50:00.230Z", "closed"],
      ["2023-03-01T08:55:00.415Z", "opened"],
      ["2023-03-01T09:55:00.475Z", "closed"],
    ]);
    const summary = await runReplay(entries, () => momentumStrategy());
    expect(summary).toMatchObject({
      key: KEY,
      identical: true,
      ticks: 720,
      differing: 0,
      trades: { recorded: 6, replayed: 6 },
      firstDivergence: null,
      runs: [{ run: 1, ticks: 720, level: "full", tickMs: TICK, ended: "stopped" }],
    });
  });

  it("emits one comparison per tick, at the recorded times, with the tick's inputs", async () => {
    const entries = await recordBacktest(1);
    const seen: ReplayTick[] = [];
    await new Promise<void>((resolve, reject) => replayJournal$(entries, momentumStrategy()).subscribe({ next: (t) => seen.push(t), error: reject, complete: resolve }));
    const ticks = ticksOf(entries);
    expect(seen.map((t) => t.at)).toEqual(ticks.map((t) => t.at));
    expect(seen.every((t) => t.same && t.run === 1)).toBe(true);
    const first = seen[0] as ReplayTick;
    expect(first.recorded).toEqual({ action: "idle", trade: false });
    expect(first.inputs.price.recorded).toBe(ticks[0]?.price);
    expect(first.inputs.price.replayed).toBe(ticks[0]?.price);
    expect(first.inputs.candles).toEqual(ticks[0]?.candles);
    expect(first.inputs.answer).toEqual({ recorded: { signal: null }, replayed: { signal: null } });
  });

  it("another take profit diverges at the first signal, and on every tick a signal is held", async () => {
    const entries = await recordBacktest(12);
    const recorded = trades(entries);
    const summary = await runReplay(entries, () => otherTakeProfit(momentumStrategy(), 2));
    const firstOpen = recorded[0]?.at as number;
    expect(iso(firstOpen)).toBe("2023-03-01T03:16:00.076Z");
    expect(summary.firstDivergence?.at).toBe(firstOpen);
    expect(summary.firstDivergence?.recorded?.signal?.priceTakeProfit).toBeCloseTo(23638.98, 2);
    expect(summary.firstDivergence?.replayed?.signal?.priceTakeProfit).toBeCloseTo(23873.03, 2);
    expect(summary.firstDivergence?.differences).toEqual(["take profit: recorded 23638.984201670715, replayed 23873.033550202108"]);
    // Every position closed time_expired after 60 minutes on both sides (a 2 % take profit was
    // never reached either): the ticks from each open to its close differ, nothing else.
    const held = [0, 2, 4].reduce((sum, i) => sum + Math.round(((recorded[i + 1]?.at as number) - (recorded[i]?.at as number)) / TICK) + 1, 0);
    expect(held).toBe(183);
    expect(summary).toMatchObject({ identical: false, ticks: 720, differing: 183, trades: { recorded: 6, replayed: 6 } });
  });

  it("a nearer take profit closes earlier: the decision that first changes action is that close", async () => {
    const entries = await recordBacktest(12);
    const summary = await runReplay(entries, () => otherTakeProfit(momentumStrategy(), 0.6));
    // The open at 03:16 differs already, by its take profit; the first position expires before
    // reaching either; the second one (04:50) reaches the nearer one 6 minutes later.
    expect(iso(summary.firstDivergence?.at as number)).toBe("2023-03-01T03:16:00.076Z");
    const actionChange = summary.divergences.find((d) => d.recorded?.action !== d.replayed?.action);
    expect(iso(actionChange?.at as number)).toBe("2023-03-01T04:56:00.176Z");
    expect(actionChange?.recorded).toMatchObject({ action: "active", signal: { priceTakeProfit: 23874.83739361641 } });
    expect(actionChange?.replayed).toMatchObject({ action: "closed", closeReason: "take_profit", closePrice: 23780.283582156542 });
    expect(actionChange?.differences).toEqual(["action: recorded active, replayed closed"]);
  });

  it("a replayed strategy asking for candles the recording never saw diverges there, and the replay goes on", async () => {
    const entries = await recordBacktest(1);
    const reader: StrategySchema = {
      strategyName: "reads-5m",
      interval: "1m",
      async getSignal(_symbol, _when, { getCandles }) {
        await getCandles("5m", 12);
        return null;
      },
    };
    const summary = await runReplay(entries, reader);
    const first = summary.firstDivergence as ReplayTick;
    expect(first.at).toBe(FROM);
    expect(first.inputs.unrecorded).toEqual([{ interval: "5m", since: FROM - 12 * 5 * 60_000, limit: 12, pricing: false }]);
    expect(first.differences).toEqual([
      "the replayed strategy asked for candles the recording never saw (5m ×12 since 2023-03-01T01:00:00.000Z)",
      // and so its answer was not the recording's
      expect.stringMatching(/^answer: recorded no signal; replayed StrategyError: getSignal of reads-5m failed for BTCUSDT: /),
    ]);
    // Its getCandles failed, so getSignal threw: a StrategyError, an idle tick, as the recording's idle.
    expect(first.replayed).toEqual({ action: "idle", trade: false });
    expect(first.inputs.answer.replayed).toMatchObject({ error: { name: "StrategyError" } });
    // Asked on every tick (nothing was held in that hour): every tick differs, every one replayed.
    expect(summary).toMatchObject({ ticks: 60, differing: 60 });
  });
});

/**
 * A scheduler whose timers fire late, as live ones do: each firing 0 to 7 ms after its time (from
 * a fixed pseudo-random sequence), a periodic timer keeping its grid — so a late tick may be
 * followed by one less than a period after it.
 */
class LateClock implements SchedulerLike {
  private seed = 1;

  constructor(readonly clock: VirtualClock) {}

  now(): number {
    return this.clock.now();
  }

  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    const self = this;
    let lateBy = delay > 0 ? this.late() : 0;
    let late: SchedulerAction<T> | undefined;
    return this.clock.schedule<T>(
      function (this: SchedulerAction<T>, value?: T) {
        late ??= new Proxy(this, {
          get: (target, property) => {
            if (property === "schedule") {
              return (s?: T, d = 0) => {
                const next = self.late();
                const again = target.schedule(s, Math.max(0, d + next - lateBy));
                lateBy = next;
                return again;
              };
            }
            const field = Reflect.get(target, property, target) as unknown;
            return typeof field === "function" ? (field as (...args: unknown[]) => unknown).bind(target) : field;
          },
        });
        work.call(late, value);
      },
      delay + lateBy,
      state,
    );
  }

  private late(): number {
    this.seed = (this.seed * 75 + 74) % 65_537;
    return this.seed % 8;
  }
}

/** The bundled candles, except that the n-th call fails, hangs (never answers) or answers 70 s late. */
function troubledExchange(clock: SchedulerLike, trouble: (call: number) => "fail" | "hang" | "slow" | undefined): ExchangeSchema {
  const inner = replayExchange(candles, clock, { exchangeName: "live-like" });
  let calls = 0;
  return {
    exchangeName: "live-like",
    getCandles(symbol, interval, since, limit) {
      switch (trouble(++calls)) {
        case "fail":
          throw new Error("ECONNRESET");
        case "hang":
          return NEVER;
        case "slow":
          return timer(70_000, clock).pipe(map(() => inner.getCandles(symbol, interval, since, limit) as Candle[]));
        default:
          return inner.getCandles(symbol, interval, since, limit);
      }
    },
  };
}

/** Momentum, throwing on its `n`-th call. */
function throwingOnCall(n: number): StrategySchema {
  const inner = momentumStrategy();
  let calls = 0;
  return {
    ...inner,
    getSignal(symbol, when, ctx) {
      if (++calls === n) throw new Error("indicator not ready");
      return inner.getSignal(symbol, when, ctx);
    },
  };
}

describe("replayJournal$ on a live-like recording", () => {
  it("replays identically: late ticks, a tick skipped behind a slow answer, a failed and a timed-out pricing retried, a strategy error", async () => {
    const clock = new VirtualClock(FROM);
    const late = new LateClock(clock);
    const trouble = (call: number) => (call >= 50 && call <= 52 ? "fail" : call >= 120 && call <= 122 ? "hang" : call === 200 ? "slow" : undefined);
    const journal = memoryJournal();
    const stop$ = new Subject<void>();
    liveTicks$("BTCUSDT", throwingOnCall(40), { exchange: troubledExchange(late, trouble), scheduler: late, tickMs: TICK, journal, journalLevel: "full", stop$ }).subscribe();
    clock.schedule(() => stop$.next(), 6 * HOUR);
    clock.flush(FROM + 8 * HOUR);
    const entries = [...(journal.entries.get(KEY) ?? [])];
    const ticks = ticksOf(entries);

    // What makes this recording live-like, which a replay ticking every 60 001 ms would not match:
    const gaps = ticks.slice(1).map((t, i) => t.at - (ticks[i] as JournalTick).at);
    expect(gaps.filter((gap) => gap > TICK && gap < TICK + 8).length).toBeGreaterThan(50); // late timers
    expect(gaps.filter((gap) => gap < TICK && gap > TICK - 8).length).toBeGreaterThan(50); // on time after a late one
    expect(gaps.some((gap) => gap >= 2 * TICK)).toBe(true); // a tick skipped behind the slow answer
    const errors = ticks.filter((t) => t.action === "error");
    expect(errors.map((t) => t.candles[0]?.error?.message)).toEqual([
      expect.stringMatching(/failed 3 time\(s\); last: ECONNRESET$/),
      expect.stringMatching(/failed 3 time\(s\); last: rxtrade: getCandles\(BTCUSDT, 1m\) did not settle within CC_EXCHANGE_TIMEOUT_SECONDS \(30 s\)$/),
    ]);
    expect(ticks.filter((t) => t.answer !== undefined && "error" in t.answer).map((t) => t.answer)).toEqual([
      { error: { name: "StrategyError", message: expect.stringContaining("indicator not ready") } },
    ]);
    expect(trades(entries).length).toBeGreaterThanOrEqual(2);

    const summary = await runReplay(entries, () => throwingOnCall(40));
    expect(summary.firstDivergence).toBeNull();
    expect(summary).toMatchObject({ identical: true, ticks: ticks.length, differing: 0, trades: { recorded: trades(entries).length, replayed: trades(entries).length } });
  });
});

/** Momentum deciding asynchronously: it waits `delayMs` of real time, then reads 5m candles (a failure is no signal). */
function asyncMomentum(delayMs: number): StrategySchema {
  const inner = momentumStrategy();
  return {
    ...inner,
    async getSignal(symbol, when, ctx) {
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      try {
        await ctx.getCandles("5m", 3);
      } catch {
        return null;
      }
      return inner.getSignal(symbol, when, ctx) as SignalDto | null;
    },
  };
}

describe("replayJournal$ with an async strategy", () => {
  it("a strategy that awaits real time answers on the tick it was asked on, as recorded", async () => {
    const entries = await recordBacktest(3, asyncMomentum(1));
    expect(trades(entries).length).toBeGreaterThanOrEqual(2);
    const summary = await runReplay(entries, () => asyncMomentum(1));
    expect(summary).toMatchObject({ identical: true, ticks: ticksOf(entries).length, differing: 0, trades: { recorded: trades(entries).length } });
  });

  it("a strategy's candle request that timed out live times out again, in virtual time", async () => {
    const clock = new VirtualClock(FROM);
    const inner = replayExchange(candles, clock, { exchangeName: "live-like" });
    let fiveMinute = 0;
    // The 5th request of 5m candles and its two retries never answer: each times out after 30 s, the retries 5 s apart.
    const exchange: ExchangeSchema = {
      exchangeName: "live-like",
      getCandles: (symbol, interval, since, limit) => (interval === "5m" && ++fiveMinute >= 5 && fiveMinute <= 7 ? NEVER : inner.getCandles(symbol, interval, since, limit)),
    };
    const journal = memoryJournal();
    const stop$ = new Subject<void>();
    liveTicks$("BTCUSDT", asyncMomentum(0), { exchange, scheduler: clock, tickMs: TICK, journal, journalLevel: "full", stop$ }).subscribe();
    clock.schedule(() => stop$.next(), 2 * HOUR);
    await clock.flushAsync(FROM + 3 * HOUR);
    const entries = [...(journal.entries.get(KEY) ?? [])];
    const ticks = ticksOf(entries);
    const timedOut = ticks.find((t) => t.candles[1]?.error !== undefined) as JournalTick;
    expect(timedOut.candles[1]?.error?.message).toMatch(/failed 3 time\(s\); last: rxtrade: getCandles\(BTCUSDT, 5m\) did not settle within CC_EXCHANGE_TIMEOUT_SECONDS \(30 s\)$/);
    // The tick was busy for 100 s: the next one came two periods later.
    const next = ticks[ticks.indexOf(timedOut) + 1] as JournalTick;
    expect(next.at - timedOut.at).toBe(2 * TICK);

    const started = performance.now();
    const summary = await runReplay(entries, () => asyncMomentum(0));
    expect(summary).toMatchObject({ identical: true, ticks: ticks.length, differing: 0 });
    // Virtual time: not the 100 s, nor the strategy's 180 s time limit, in real time.
    expect(performance.now() - started).toBeLessThan(5000);
  });
});

/** A journal a test can "kill": while `dead`, appends are lost, as a SIGKILLed process's would be. */
function killable(journal: Journal): Journal & { dead: boolean } {
  const wrapper = Object.create(journal) as Journal & { dead: boolean };
  wrapper.dead = false;
  wrapper.append = (entry) => (wrapper.dead ? undefined : journal.append(entry));
  return wrapper;
}

describe("replayJournal$ on a journal with two runs (a kill, a restart)", () => {
  async function killedAndRestarted(): Promise<JournalEntry[]> {
    const clock = new VirtualClock(FROM);
    const store = memoryStore();
    const memory = memoryJournal();
    const journal = killable(memory);
    const exchange = replayExchange(candles, clock, { exchangeName: "binance" });
    const first = liveTicks$("BTCUSDT", momentumStrategy(), { exchange, store, journal, journalLevel: "full", scheduler: clock, tickMs: TICK }).subscribe();
    // Killed at 03:30, while the position opened at 03:16 is open: no stop entry, the store keeps it.
    clock.flush(Date.parse("2023-03-01T03:30:00Z"));
    journal.dead = true;
    first.unsubscribe();
    journal.dead = false;
    // Restarted 20 minutes later with a fresh strategy; it resumes the open position; stopped at 06:00.
    clock.flush(Date.parse("2023-03-01T03:50:00Z"));
    const stop$ = new Subject<void>();
    liveTicks$("BTCUSDT", momentumStrategy(), { exchange, store, journal, journalLevel: "full", scheduler: clock, tickMs: TICK, stop$ }).subscribe();
    clock.schedule(() => stop$.next(), Date.parse("2023-03-01T06:00:00Z") - clock.now());
    clock.flush(Date.parse("2023-03-01T08:00:00Z"));
    return [...(memory.entries.get(KEY) ?? [])];
  }

  it("replays each run from what the recording held at its start: the resumed position closes on the same tick", async () => {
    const entries = await killedAndRestarted();
    const starts = entries.filter((e) => e.kind === "run" && e.event === "start");
    expect(starts).toHaveLength(2);
    const opened = trades(entries)[0];
    expect(opened?.result.action).toBe("opened");
    expect(starts[1]).toMatchObject({ resumedSignalId: opened?.result.signal.id, recovery: { unfinishedRun: true } });
    // The resumed position expired (60 minutes from 03:16) in the second run.
    const closed = trades(entries)[1];
    expect(closed).toMatchObject({ result: { action: "closed", closeReason: "time_expired" } });
    expect(iso(closed?.at as number)).toBe("2023-03-01T04:17:00.027Z"); // the first tick of run 2 past 03:16 + 60 min

    const summary = await runReplay(entries, () => momentumStrategy());
    expect(summary.runs).toEqual([
      expect.objectContaining({ run: 1, ended: "killed", ticks: 90 }),
      expect.objectContaining({ run: 2, ended: "stopped", resumedSignalId: opened?.result.signal.id, ticks: 130 }),
    ]);
    expect(summary).toMatchObject({ identical: true, ticks: 90 + 130, differing: 0 });
  });

  it("a divergence in one run is not carried into the next: the resumed signal is the recorded one", async () => {
    const entries = await killedAndRestarted();
    const seen: ReplayTick[] = [];
    await runReplay(entries, () => otherTakeProfit(momentumStrategy(), 2), { onTick: (t) => seen.push(t) });
    const run1 = seen.filter((t) => t.run === 1);
    const run2 = seen.filter((t) => t.run === 2);
    // Run 1 differs from the open at 03:16 to its kill; run 2 monitors the recording's position
    // (its take profit the recorded one) and agrees until momentum opens again.
    expect(iso(run1.find((t) => !t.same)?.at as number)).toBe("2023-03-01T03:16:00.076Z");
    expect(run1.filter((t) => !t.same)).toHaveLength(run1.length - run1.findIndex((t) => !t.same));
    const firstOfRun2 = run2[0] as ReplayTick;
    expect(firstOfRun2).toMatchObject({ same: true, recorded: { action: "active" } });
    expect(run2.find((t) => t.recorded?.action === "closed")).toMatchObject({ same: true, recorded: { closeReason: "time_expired" } });
  });
});

describe("a journal whose runs were recorded at different levels", () => {
  it("replays the runs recorded at level full and says which it skipped", async () => {
    const clock = new VirtualClock(FROM);
    const store = memoryStore();
    const journal = memoryJournal();
    const exchange = replayExchange(candles, clock, { exchangeName: "binance" });
    const run = (level: "trades" | "full", until: string) => {
      const subscription = liveTicks$("BTCUSDT", momentumStrategy(), { exchange, store, journal, journalLevel: level, scheduler: clock, tickMs: TICK }).subscribe();
      clock.flush(Date.parse(until));
      subscription.unsubscribe();
    };
    run("trades", "2023-03-01T03:00:00Z");
    run("full", "2023-03-01T04:00:00Z");
    const summary = await runReplay({ journal, key: KEY }, () => momentumStrategy());
    expect(summary.runs).toEqual([
      expect.objectContaining({ run: 1, level: "trades", ticks: 0, ended: "unsubscribed", skipped: "recorded at level trades, not full" }),
      expect.objectContaining({ run: 2, level: "full", ticks: 60, ended: "unsubscribed" }),
    ]);
    expect(summary.runs[1]?.skipped).toBeUndefined();
    expect(summary).toMatchObject({ identical: true, ticks: 60 });
  });
});

describe("journals that cannot be replayed", () => {
  it("a journal recorded at level trades is a ReplayError that says to record at level full", async () => {
    const journal = memoryJournal();
    await runBacktest("BTCUSDT", momentumStrategy(), { candles, from: FROM, to: FROM + 2 * HOUR, journal, journalLevel: "trades" });
    const error = await runReplay({ journal, key: KEY }, momentumStrategy()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReplayError);
    expect(error).toMatchObject({ reason: "not-full", key: KEY });
    expect((error as Error).message).toBe(
      "rxtrade: cannot replay: the journal of BTCUSDT:momentum was recorded at level trades (1 run): it has the trades but not the ticks (candles, prices, the strategy's answers) a replay needs; " +
        'record it at level full (journalLevel: "full", or --journal full on the command line) to replay it',
    );
  });

  it("no entries, or entries of two keys, is a ReplayError", async () => {
    await expect(runReplay([], momentumStrategy())).rejects.toMatchObject({ name: "ReplayError", reason: "empty" });
    const entries = await recordBacktest(1);
    const other = entries.map((e) => ({ ...e, key: "ETHUSDT:momentum" }));
    await expect(runReplay([...entries, ...other], momentumStrategy())).rejects.toMatchObject({ reason: "keys", message: expect.stringContaining("BTCUSDT:momentum, ETHUSDT:momentum") });
  });
});

describe("decideTicks (pure)", () => {
  it("takes a tick's signal from its trade entry, else from the strategy's answer (a trade entry lost to a kill)", () => {
    const answer = { signal: { id: "s1", position: "long" as const, priceTakeProfit: 102, priceStopLoss: 98, minuteEstimatedTime: 30 } };
    const tick: JournalTick = { kind: "tick", key: KEY, at: 1000, candles: [], price: 100, answer, action: "opened", signalId: "s1" };
    expect(decideTicks([tick])).toEqual([
      { entry: tick, decision: { action: "opened", trade: true, signal: { position: "long", priceOpen: 100, priceTakeProfit: 102, priceStopLoss: 98, minuteEstimatedTime: 30 } } },
    ]);
    const active: JournalTick = { kind: "tick", key: KEY, at: 2000, candles: [], price: 101, action: "active", signalId: "s1" };
    // Without any trade entry, an active signal's details are not known.
    expect(decideTicks([active])[0]?.decision).toEqual({ action: "active", trade: false });
  });

  it("finds a tick's trade entry after later ticks' entries (a store write that took longer than a tick)", () => {
    const row = { id: "s1", position: "short" as const, priceOpen: 100, priceTakeProfit: 98, priceStopLoss: 102, minuteEstimatedTime: 30, note: "", symbol: "BTCUSDT", strategyName: "momentum", exchangeName: "binance", scheduledAt: 1000, pendingAt: 1000 };
    const opened: JournalTick = { kind: "tick", key: KEY, at: 1000, candles: [], price: 100, action: "opened", signalId: "s1" };
    const active: JournalTick = { kind: "tick", key: KEY, at: 2000, candles: [], price: 99, action: "active", signalId: "s1" };
    const trade: JournalEntry = {
      kind: "trade",
      key: KEY,
      at: 1000,
      result: { action: "opened", symbol: "BTCUSDT", strategyName: "momentum", exchangeName: "binance", currentPrice: 100, timestamp: 1000, backtest: false, signal: row },
    };
    const signal = { position: "short", priceOpen: 100, priceTakeProfit: 98, priceStopLoss: 102, minuteEstimatedTime: 30 };
    expect(decideTicks([opened, active, trade]).map((t) => t.decision)).toEqual([
      { action: "opened", trade: true, signal },
      { action: "active", trade: false, signal },
    ]);
  });
});
