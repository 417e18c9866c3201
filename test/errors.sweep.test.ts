// "Every error rxtrade throws or reports extends RxTradeError" (README, Errors and events), case
// by case: the argument errors that were plain TypeError / RangeError / SyntaxError (now
// ArgumentError, ArgumentRangeError, ArgumentSyntaxError: still those built-ins, and
// RxTradeErrors, naming the argument, its value and the fix), listFileStore's raw ENOENT and
// ENOTDIR (StoreListError), a listener that throws (ListenerError), and a store whose lock
// throws, rejects or returns no release (StoreWriteError on error$, exit$ and the stream).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { from, Subject } from "rxjs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  acceleratedScheduler,
  LiveStatisticsCollector,
  liveReport,
  ArgumentError,
  ArgumentRangeError,
  ArgumentSyntaxError,
  exit$,
  type ExchangeSchema,
  Live,
  ListenerError,
  listenError,
  listenExit,
  listenSignal,
  liveTicks$,
  liveTrade$,
  type LockRelease,
  memoryStore,
  replayExchange,
  RxTradeError,
  setDefaultStore,
  type SignalStore,
  StoreListError,
  StoreLockedError,
  StoreWriteError,
  StrategyError,
  type StrategySchema,
  tradeContext,
} from "rxtrade";
import { ccxtExchange } from "rxtrade/ccxt";
import { indexedDbJournal } from "rxtrade/browser";
import { backtest$, compareTick, fileJournal, fileStore, listFileStore, runReplay } from "rxtrade/node";
import { bundledExchange, pacedScheduler, serviceLogger } from "rxtrade/service";
import { candlesFromMarble, candlesFromPrices, marbleExchange, VirtualClock } from "rxtrade/testing";

const TICK = 60_001;
const config = { CC_AVG_PRICE_CANDLES_COUNT: 1 };
const candles = candlesFromPrices(Array.from({ length: 100 }, () => 100), { start: -10 * 60_000 });
const strategy: StrategySchema = { strategyName: "sweep", interval: "1m", getSignal: () => null };
const exchange: ExchangeSchema = { exchangeName: "sweep-x", getCandles: () => [] };

const thrown = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a throw");
};

/** What every argument error must be: an RxTradeError, still its 0.1.0 built-in, named, with the argument and its value. */
function expectArgumentError(
  error: unknown,
  expected: { builtIn: ErrorConstructor; name: string; argument: string; value: unknown; message: string },
): void {
  expect(error instanceof RxTradeError, `${(error as Error).name}: ${(error as Error).message}`).toBe(true);
  expect(error).toBeInstanceOf(expected.builtIn);
  expect(error).toMatchObject({ name: expected.name, argument: expected.argument, message: expected.message });
  expect((error as { value: unknown }).value).toBe(expected.value);
}
const typeError = (argument: string, value: unknown, message: string) => ({ builtIn: TypeError, name: "ArgumentError", argument, value, message });
const rangeError = (argument: string, value: unknown, message: string) => ({ builtIn: RangeError, name: "ArgumentRangeError", argument, value, message });

describe("liveTrade$ / liveTicks$ / tradeContext arguments: ArgumentError (a TypeError)", () => {
  it("a bad symbol, missing options or exchange, a bad tickMs", () => {
    const symbol = thrown(() => liveTrade$("", strategy, { exchange }));
    expectArgumentError(symbol, typeError("symbol", "", 'rxtrade: symbol ("") must be a non-empty string, e.g. "BTCUSDT"'));
    expect(symbol).toBeInstanceOf(ArgumentError);

    expectArgumentError(
      thrown(() => liveTicks$("BTCUSDT", strategy, undefined as never)),
      typeError("options", undefined, "rxtrade: options are required: liveTrade$(symbol, strategy, { exchange }); got undefined"),
    );
    expectArgumentError(
      thrown(() => liveTrade$("BTCUSDT", strategy, {} as never)),
      typeError("options.exchange", undefined, "rxtrade: options.exchange is required (an ExchangeSchema or a name registered with addExchange)"),
    );
    expectArgumentError(
      thrown(() => liveTrade$("BTCUSDT", strategy, { exchange, tickMs: 0 })),
      typeError("options.tickMs", 0, "rxtrade: tickMs (0) must be a finite number of ms > 0, e.g. 60001 (the default)"),
    );
    expectArgumentError(
      thrown(() => tradeContext("BTCUSDT", strategy, { exchange, tickMs: "5" as never })),
      typeError("options.tickMs", "5", 'rxtrade: tickMs ("5") must be a finite number of ms > 0, e.g. 60001 (the default)'),
    );
  });

  it("an invalid store, stop$: 5, scheduler: {} — refused at the call, not when the stream runs", () => {
    const store = {};
    expectArgumentError(
      thrown(() => liveTrade$("BTCUSDT", strategy, { exchange, store: store as SignalStore })),
      typeError(
        "options.store",
        store,
        "rxtrade: options.store must have read(key) and write(key, value); got an object, which has no read or write. " +
          "Give memoryStore(), fileStore(dir) from rxtrade/node, or leave it out for a memory store",
      ),
    );
    expectArgumentError(
      thrown(() => liveTrade$("BTCUSDT", strategy, { exchange, stop$: 5 as never })),
      typeError(
        "options.stop$",
        5,
        "rxtrade: options.stop$ (5) must be an Observable, a Promise or another ObservableInput whose first emission stops the stream gracefully, " +
          'e.g. fromEvent(process, "SIGINT") or a Subject; leave it out to run until unsubscribed',
      ),
    );
    const scheduler = {};
    expectArgumentError(
      thrown(() => liveTicks$("BTCUSDT", strategy, { exchange, scheduler: scheduler as never })),
      typeError(
        "options.scheduler",
        scheduler,
        "rxtrade: options.scheduler must be an rxjs scheduler with now() and schedule(work, delay); got an object, which has no now or schedule. " +
          "Give asyncScheduler (the default, real time), a TestScheduler or new VirtualClock() from rxtrade/testing",
      ),
    );
    expect(thrown(() => tradeContext("BTCUSDT", strategy, { exchange, scheduler: { now: () => 0 } as never })).message).toContain(
      "got an object, which has no schedule.",
    );
  });

  it("every ObservableInput is still a stop$ (a Subject, a Promise, an array), and nothing is subscribed by the check", () => {
    const clock = new VirtualClock(0);
    let subscribed = 0;
    const counted = from([1]).pipe((source) => (subscribed++, source));
    for (const stop$ of [new Subject<void>(), Promise.resolve(), [1], counted]) {
      expect(() => tradeContext("BTCUSDT", strategy, { exchange, stop$, scheduler: clock })).not.toThrow();
    }
    expect(subscribed).toBe(1); // the pipe ran once, building `counted`; the check subscribed nothing
  });
});

describe("the facade, ccxt: ArgumentError (a TypeError)", () => {
  it('Live.background("A") without a context, Live.run with a bad symbol, setDefaultStore(null)', () => {
    expectArgumentError(
      thrown(() => (Live.background as (symbol: string) => unknown)("A")),
      typeError(
        "context",
        undefined,
        'rxtrade: a LiveContext { strategyName, exchangeName } is required, got undefined: e.g. Live.background("BTCUSDT", { strategyName: "my-strategy", exchangeName: "binance" }), with both names registered (addStrategy, addExchange)',
      ),
    );
    expectArgumentError(
      thrown(() => Live.run(42 as never, { strategyName: "s", exchangeName: "x" })),
      typeError("symbol", 42, 'rxtrade: symbol (42) must be a non-empty string, e.g. "BTCUSDT"'),
    );
    expectArgumentError(
      thrown(() => setDefaultStore(null as never)),
      typeError(
        "store",
        null,
        "rxtrade: setDefaultStore needs a store with read(key) and write(key, value); got null. Give memoryStore(), or fileStore(dir) from rxtrade/node",
      ),
    );
  });

  it("ccxtExchange(null), ccxtExchange({}), maxPerRequest: -1", () => {
    expectArgumentError(
      thrown(() => ccxtExchange(null as never)),
      typeError("exchangeOrId", null, 'rxtrade: ccxtExchange expects a ccxt exchange instance or a ccxt id such as "binance"; got null'),
    );
    const notAnExchange = {};
    expectArgumentError(
      thrown(() => ccxtExchange(notAnExchange as never)),
      typeError("exchangeOrId", notAnExchange, 'rxtrade: ccxtExchange expects a ccxt exchange instance or a ccxt id such as "binance"; got an object without fetchOHLCV'),
    );
    expectArgumentError(
      thrown(() => ccxtExchange("binance", { maxPerRequest: -1 })),
      typeError(
        "options.maxPerRequest",
        -1,
        "rxtrade: maxPerRequest must be a positive integer, got -1; e.g. 1000, or leave it out for the exchange's own page size",
      ),
    );
  });
});

describe("values out of range: ArgumentRangeError (a RangeError)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "rxtrade-sweep-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("acceleratedScheduler and pacedScheduler speed and origin", () => {
    const accelerated = thrown(() => acceleratedScheduler({ origin: 0, speed: 0 }));
    expectArgumentError(accelerated, rangeError("options.speed", 0, "rxtrade: speed (0) must be a finite number > 0, e.g. 600 (10 simulated minutes per second)"));
    expect(accelerated).toBeInstanceOf(ArgumentRangeError);
    expectArgumentError(
      thrown(() => acceleratedScheduler({ origin: Number.NaN, speed: 1 })),
      rangeError("options.origin", Number.NaN, 'rxtrade: origin (NaN) must be a finite time in ms, e.g. Date.parse("2023-03-01T02:00Z")'),
    );
    expectArgumentError(
      thrown(() => pacedScheduler({ origin: 0, speed: -2 })),
      rangeError("options.speed", -2, "rxtrade: speed (-2) must be a finite number > 0, e.g. 600 (10 simulated minutes per second)"),
    );
  });

  it("VirtualClock startTime and callGraceMs", () => {
    expectArgumentError(
      thrown(() => new VirtualClock(0, { callGraceMs: -1 })),
      rangeError(
        "options.callGraceMs",
        -1,
        "rxtrade: VirtualClock option callGraceMs (-1) must be a number of ms from 0 to 2147483647, e.g. 10 for a test whose calls never settle (default 1000)",
      ),
    );
    expectArgumentError(
      thrown(() => new VirtualClock("2023-03-01" as never)),
      rangeError("startTime", "2023-03-01", 'rxtrade: VirtualClock startTime ("2023-03-01") must be a finite time in ms, e.g. 0 or Date.parse("2023-03-01T00:00:00Z")'),
    );
  });

  it("fileStore fileMode, dirMode and lockCheckMs", () => {
    expectArgumentError(
      thrown(() => fileStore(dir, { fileMode: 0o1777 })),
      rangeError("options.fileMode", 0o1777, "rxtrade: fileStore option fileMode (1023) must be permission bits from 0o000 to 0o777, e.g. 0o640"),
    );
    expectArgumentError(
      thrown(() => fileStore(dir, { dirMode: -1 })),
      rangeError("options.dirMode", -1, "rxtrade: fileStore option dirMode (-1) must be permission bits from 0o000 to 0o777, e.g. 0o640"),
    );
    expectArgumentError(
      thrown(() => fileStore(dir, { lockCheckMs: 0 })),
      rangeError("options.lockCheckMs", 0, "rxtrade: fileStore option lockCheckMs (0) must be a positive number of milliseconds, e.g. 1000 (the default)"),
    );
  });

  it('replayExchange().getCandles with interval "7m"', () => {
    const replay = replayExchange(candles, new VirtualClock(0));
    expectArgumentError(
      thrown(() => replay.getCandles("BTCUSDT", "7m" as never, new Date(-600_000), 2)),
      rangeError("interval", "7m", 'rxtrade: unknown candle interval "7m"; use one of 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h'),
    );
  });
});

describe("price marbles: ArgumentSyntaxError (a SyntaxError)", () => {
  it("candlesFromMarble and marbleExchange with a character values does not define, or a leading -", () => {
    const undefinedCharacter = thrown(() => candlesFromMarble("a-b", { a: 100 }));
    expectArgumentError(undefinedCharacter, {
      builtIn: SyntaxError,
      name: "ArgumentSyntaxError",
      argument: "marble",
      value: "a-b",
      message: 'rxtrade: price marble "a-b" uses "b", which values does not define (it defines a); add "b" to values, or use "-" to repeat the previous price',
    });
    expect(undefinedCharacter).toBeInstanceOf(ArgumentSyntaxError);
    expectArgumentError(thrown(() => marbleExchange("ax", { a: 100 }, new VirtualClock(0))), {
      builtIn: SyntaxError,
      name: "ArgumentSyntaxError",
      argument: "marble",
      value: "ax",
      message: 'rxtrade: price marble "ax" uses "x", which values does not define (it defines a); add "x" to values, or use "-" to repeat the previous price',
    });
    expectArgumentError(thrown(() => candlesFromMarble("-a", { a: 100 })), {
      builtIn: SyntaxError,
      name: "ArgumentSyntaxError",
      argument: "marble",
      value: "-a",
      message: 'rxtrade: price marble "-a" starts with "-": start with a price',
    });
  });
});

describe("backtests, statistics, reports and journals: argument errors", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "rxtrade-sweep-journal-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("backtest$ without candles, with none, with a from the data cannot price", () => {
    expectArgumentError(
      thrown(() => backtest$("BTCUSDT", strategy, { candles: "BTCUSDT.csv" } as never)),
      typeError(
        "options.candles",
        "BTCUSDT.csv",
        'rxtrade: backtest options need candles: backtest$(symbol, strategy, { candles, from, to }); got candles "BTCUSDT.csv". ' +
          "Give one-minute candles, oldest first, e.g. await csvCandles(BUNDLED_BTCUSDT_1M) from rxtrade/node",
      ),
    );
    const none: never[] = [];
    expectArgumentError(
      thrown(() => backtest$("BTCUSDT", strategy, { candles: none })),
      rangeError("options.candles", none, "rxtrade: backtest candles are empty; give one-minute candles, oldest first"),
    );
    expectArgumentError(
      thrown(() => backtest$("BTCUSDT", strategy, { candles, from: 0, to: 0 })),
      rangeError("options.to", 0, "rxtrade: backtest to (0) must be after from (1970-01-01T00:00:00.000Z)"),
    );
  });

  it("LiveStatisticsCollector maxEvents, liveReport columns", () => {
    expectArgumentError(
      thrown(() => new LiveStatisticsCollector(0)),
      rangeError("maxEvents", 0, "rxtrade: maxEvents (0) must be a positive integer, e.g. 250 (the default)"),
    );
    const columns: never[] = [];
    expectArgumentError(
      thrown(() => liveReport("s", { eventList: [{}] } as never, columns)),
      rangeError("columns", columns, "rxtrade: a report needs at least one column; give defaultReportColumns, or leave columns out"),
    );
  });

  it("fileJournal options, folder and append; indexedDbJournal flushMs", () => {
    expectArgumentError(
      thrown(() => fileJournal(dir, { maxBytes: 10 })),
      rangeError("options.maxBytes", 10, "rxtrade: fileJournal option maxBytes (10) must be a whole number of bytes >= 1024, e.g. 33554432"),
    );
    const noFolder = { dir: "" };
    expectArgumentError(
      thrown(() => fileJournal(noFolder)),
      typeError("dir", noFolder, 'rxtrade: fileJournal(dir) needs a store folder or a fileStore, got an object whose dir is ""; e.g. fileJournal("./.rxtrade")'),
    );
    const notEntry = { kind: "nonsense" };
    const append = thrown(() => fileJournal(dir).append(notEntry as never));
    expect(append instanceof RxTradeError).toBe(true);
    expect(append).toBeInstanceOf(TypeError);
    expect(append).toMatchObject({ name: "ArgumentError", argument: "entry", value: notEntry });
    expect(append.message).toMatch(/^rxtrade: fileJournal\.append: not a journal entry \(/);
    expectArgumentError(
      thrown(() => indexedDbJournal({ flushMs: -1 })),
      rangeError("options.flushMs", -1, "rxtrade: indexedDbJournal option flushMs (-1) must be a number of ms from 0 to 2147483647, e.g. 1000"),
    );
  });
});

describe("replay and service: argument errors", () => {
  it("runReplay of what is not a journal entry, compareTick of two nulls", async () => {
    const notEntry = { kind: "nonsense" };
    const replay = (await runReplay([notEntry as never], () => strategy).then(
      () => new Error("expected a rejection"),
      (error: unknown) => error,
    )) as Error;
    expect(replay instanceof RxTradeError).toBe(true);
    expect(replay).toBeInstanceOf(TypeError);
    expect(replay).toMatchObject({ name: "ArgumentError", argument: "entries[0]", value: notEntry });
    expect(replay.message).toMatch(/^rxtrade: replay: entry 0 is not a journal entry \(.+\); give the entries as a journal reads them$/);
    expectArgumentError(
      thrown(() => compareTick(1, null, null)),
      typeError("recorded", null, "rxtrade: compareTick needs a recorded or a replayed tick (a DecidedTick of decideTicks); both were null"),
    );
  });

  it("serviceLogger level, bundledExchange candles and interval", () => {
    expectArgumentError(
      thrown(() => serviceLogger({ level: "loud" as never })),
      rangeError("options.level", "loud", 'rxtrade: log level "loud" is not one of fatal, error, warn, info, debug, trace, silent'),
    );
    const none: never[] = [];
    expectArgumentError(
      thrown(() => bundledExchange(none)),
      rangeError("candles", none, "rxtrade: bundledExchange needs at least one candle, e.g. await csvCandles(BUNDLED_BTCUSDT_1M)"),
    );
    expectArgumentError(
      thrown(() => bundledExchange(candles, new VirtualClock(0)).getCandles("BTCUSDT", "7m" as never, new Date(0), 1)),
      rangeError("interval", "7m", 'rxtrade: unknown candle interval "7m"; use one of 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h'),
    );
  });
});

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()?.();
});

/** The errors on error$ (and exit$) while `run` runs. */
function collect(): { errors: Error[]; exits: Error[] } {
  const errors: Error[] = [];
  const exits: Error[] = [];
  cleanups.push(listenError((error) => errors.push(error)));
  const subscription = exit$.subscribe((error) => exits.push(error));
  cleanups.push(() => subscription.unsubscribe());
  return { errors, exits };
}

describe("ctx.candles$ / ctx.getCandles arguments", () => {
  it('candles$("1m", "3") shows the string quoted and says the limit is wrong; "7m" says the interval is; both wrong, both are named', async () => {
    const { errors } = collect();
    const clock = new VirtualClock(0);
    const requests: Array<(ctx: Parameters<StrategySchema["getSignal"]>[2]) => unknown> = [
      (ctx) => ctx.candles$("1m", "3" as never),
      (ctx) => ctx.candles$("7m" as never, 2),
      (ctx) => ctx.getCandles("2m" as never, 1.5),
    ];
    let call = 0;
    const asking: StrategySchema = { strategyName: "sweep-candles", interval: "1m", getSignal: (_s, _w, ctx) => requests[call++]?.(ctx) as null };
    const subscription = liveTrade$("BTCUSDT", asking, { exchange: replayExchange(candles, clock), scheduler: clock, config }).subscribe();
    cleanups.push(() => subscription.unsubscribe());
    await clock.flushAsync(2 * TICK);
    expect(errors.map((e) => e.name)).toEqual(["StrategyError", "StrategyError", "StrategyError"]);
    const causes = errors.map((e) => (e as StrategyError).cause as Error);
    for (const cause of causes) {
      expect(cause).toBeInstanceOf(RangeError);
      expect(cause instanceof RxTradeError).toBe(true);
      expect(cause.name).toBe("ArgumentRangeError");
    }
    expect(causes.map((c) => c.message)).toEqual([
      'rxtrade: candles$("1m", "3"): limit ("3") must be a positive integer, the number of closed candles wanted, e.g. 21',
      'rxtrade: candles$("7m", 2): interval "7m" is not a candle interval; use one of 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h',
      'rxtrade: getCandles("2m", 1.5): interval "2m" is not a candle interval; use one of 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h; ' +
        "limit (1.5) must be a positive integer, the number of closed candles wanted, e.g. 21",
    ]);
    expect(causes.map((c) => [(c as ArgumentRangeError).argument, (c as ArgumentRangeError).value])).toEqual([
      ["limit", "3"],
      ["interval", "7m"],
      ["interval", "2m"],
    ]);
  });
});

describe("listFileStore of a folder it cannot list: StoreListError", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "rxtrade-sweep-list-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("a missing folder (ENOENT) and a file (ENOTDIR), with the path, the code and the fix", async () => {
    const missing = join(dir, "no-such-store");
    const gone = await listFileStore(missing).catch((error: unknown) => error);
    expect(gone instanceof RxTradeError).toBe(true);
    expect(gone).toBeInstanceOf(StoreListError);
    expect(gone).toMatchObject({
      name: "StoreListError",
      path: missing,
      code: "ENOENT",
      message: `rxtrade: cannot list the store folder ${missing}: it does not exist (nothing was stored there yet, or a typo); give the folder a fileStore writes to, as passed to fileStore(dir), e.g. ./.rxtrade`,
    });
    expect(((gone as Error).cause as NodeJS.ErrnoException).code).toBe("ENOENT");

    const file = join(dir, "a-file");
    await writeFile(file, "not a folder");
    const notFolder = await listFileStore(file).catch((error: unknown) => error);
    expect(notFolder instanceof RxTradeError).toBe(true);
    expect(notFolder).toMatchObject({
      name: "StoreListError",
      path: file,
      code: "ENOTDIR",
      message: `rxtrade: cannot list the store folder ${file}: it is a file, not a folder; give the folder passed to fileStore(dir), e.g. ./.rxtrade`,
    });
  });
});

describe("a listener that throws: ListenerError on error$, the original in cause", () => {
  it("a listenSignal listener; it stays subscribed and the loop goes on", () => {
    const { errors } = collect();
    const clock = new VirtualClock(0);
    const boom = new Error("listener boom");
    let heard = 0;
    cleanups.push(
      listenSignal((result) => {
        if (result.strategyName !== "sweep-listener") return;
        heard++;
        throw boom;
      }),
    );
    const listened: StrategySchema = { strategyName: "sweep-listener", interval: "1m", getSignal: () => null };
    const subscription = liveTicks$("BTCUSDT", listened, { exchange: replayExchange(candles, clock), scheduler: clock, config }).subscribe();
    cleanups.push(() => subscription.unsubscribe());
    clock.flush(TICK);
    expect(heard).toBe(2);
    expect(errors).toHaveLength(2);
    for (const error of errors) {
      expect(error instanceof RxTradeError).toBe(true);
      expect(error).toBeInstanceOf(ListenerError);
      expect(error).toMatchObject({
        name: "ListenerError",
        listener: "listenSignal",
        cause: boom,
        message: "rxtrade: a listenSignal listener threw: listener boom; it stays subscribed (catch inside the listener to handle its own errors)",
      });
    }
  });

  it("a listenExit listener that throws a string", () => {
    const { errors } = collect();
    cleanups.push(
      listenExit(() => {
        throw "not an Error";
      }),
    );
    // A key holding what is not a stream's state ends the stream (StoreConflictError on exit$).
    const store: SignalStore = { read: () => ({ not: "a signal" }), write: () => undefined };
    const clock = new VirtualClock(0);
    liveTrade$("BTCUSDT", strategy, { exchange: replayExchange(candles, clock), store, scheduler: clock }).subscribe({ error: () => undefined });
    expect(errors.map((e) => e.name)).toEqual(["StoreConflictError", "ListenerError"]);
    const listener = errors.find((e) => e.name === "ListenerError");
    expect(listener).toMatchObject({ listener: "listenExit", cause: "not an Error" });
    expect(listener?.message).toBe('rxtrade: a listenExit listener threw: "not an Error"; it stays subscribed (catch inside the listener to handle its own errors)');
  });
});

describe("a store whose lock fails: StoreWriteError on error$, exit$ and the stream", () => {
  const KEY = "BTCUSDT:sweep";
  function run(store: SignalStore, clock = new VirtualClock(0)): { ended: () => unknown; errors: Error[]; exits: Error[] } {
    const seen = collect();
    let ended: unknown;
    const subscription = liveTrade$("BTCUSDT", strategy, { exchange: replayExchange(candles, clock), store, scheduler: clock, config }).subscribe({
      error: (error) => (ended = error),
    });
    cleanups.push(() => subscription.unsubscribe());
    return { ended: () => ended, ...seen };
  }

  it("a lock that throws: the original is the cause", () => {
    const disk = new Error("disk on fire");
    const { ended, errors, exits } = run({
      ...memoryStore(),
      lock: () => {
        throw disk;
      },
    });
    const error = ended();
    expect(error instanceof RxTradeError).toBe(true);
    expect(error).toBeInstanceOf(StoreWriteError);
    expect(error).toMatchObject({ key: KEY, cause: disk, message: `rxtrade: cannot lock ${KEY}: store.lock failed: disk on fire; the stream ends (check the store)` });
    expect(errors).toEqual([error]);
    expect(exits).toEqual([error]);
  });

  it("a lock that rejects", async () => {
    const { ended, errors, exits } = run({ ...memoryStore(), lock: () => Promise.reject(new Error("EACCES: lock file")) });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(ended()).toBeInstanceOf(StoreWriteError);
    expect((ended() as Error).message).toBe(`rxtrade: cannot lock ${KEY}: store.lock failed: EACCES: lock file; the stream ends (check the store)`);
    expect(errors).toEqual([ended()]);
    expect(exits).toEqual([ended()]);
  });

  it("a lock that returns 5 instead of a release: the stream ends at once, naming what lock must return", () => {
    const { ended, errors, exits } = run({ ...memoryStore(), lock: () => 5 as never });
    const error = ended();
    expect(error instanceof RxTradeError).toBe(true);
    expect(error).toBeInstanceOf(StoreWriteError);
    expect((error as Error).message).toBe(
      `rxtrade: cannot lock ${KEY}: store.lock returned 5; it must return (or resolve to) the release, a function that unlocks the key (LockRelease); the stream ends`,
    );
    expect(errors).toEqual([error]);
    expect(exits).toEqual([error]);
  });

  it("a refusal the store types itself (StoreLockedError) is passed on as it is", () => {
    const refusal = new StoreLockedError({ key: KEY, pid: 4242 });
    const { ended } = run({
      ...memoryStore(),
      lock: () => {
        throw refusal;
      },
    });
    expect(ended()).toBe(refusal);
  });

  it("a release that throws, and a lock lost with a plain Error: typed too", () => {
    const clock = new VirtualClock(0);
    let lose: ((error: Error) => void) | undefined;
    const release: LockRelease = Object.assign(
      () => {
        throw new Error("unlock failed");
      },
      {
        onLost(listener: (error: Error) => void) {
          lose = listener;
          return () => (lose = undefined);
        },
      },
    );
    const { ended, errors } = run({ ...memoryStore(), lock: () => release }, clock);
    clock.flush(TICK);
    expect(ended()).toBeUndefined();
    const leaseGone = new Error("lease expired");
    lose?.(leaseGone);
    expect(ended()).toBeInstanceOf(StoreLockedError);
    expect(ended()).toMatchObject({ key: KEY, cause: leaseGone, message: `rxtrade: ${KEY} lost its lock: lease expired; the stream ends (another holder may own the key now)` });
    const unlock = errors.find((e) => e.message.includes("cannot unlock"));
    expect(unlock).toBeInstanceOf(StoreWriteError);
    expect(unlock?.message).toBe(`rxtrade: cannot unlock ${KEY}: its release threw: unlock failed; the key may stay locked until the store frees it`);
    for (const error of errors) expect(error instanceof RxTradeError, error.message).toBe(true);
  });
});

describe("readJournalFile", () => {
  it("a path that is missing or a folder is an ArgumentError (an RxTradeError) that keeps Node's code", async () => {
    const { readJournalFile } = await import("rxtrade/node");
    const { RxTradeError } = await import("rxtrade");
    const missing = await readJournalFile("/nonexistent/rxtrade/journal.jsonl").catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(RxTradeError);
    expect(missing).toMatchObject({ name: "ArgumentError", code: "ENOENT", argument: "path" });
    const folder = await readJournalFile(tmpdir()).catch((error: unknown) => error);
    expect(folder).toBeInstanceOf(RxTradeError);
    expect(folder).toMatchObject({ name: "ArgumentError", code: "EISDIR" });
  });
});
