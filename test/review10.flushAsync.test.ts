// Review of issue 10, item 2: VirtualClock.flushAsync waited for the engine's calls in flight
// only while Node listed a file-system (or similar) request among its active resources. A store
// or exchange over HTTP (a socket waiting for its response) or a strategy awaiting a real timer
// was not waited for: virtual time raced ahead, calls timed out, trades came at the wrong ticks.
// The rule now: every call in flight is waited for, up to callGraceMs of real time each.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Subject } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import {
  type Candle,
  type ExchangeSchema,
  listenError,
  liveTicks$,
  memoryStore,
  replayExchange,
  type SignalDto,
  type SignalStore,
  type StrategySchema,
} from "rxtrade";
import { candlesFromMarble, scriptedStrategy, VirtualClock } from "rxtrade/testing";

const TICK = 60_001;
const config = { CC_AVG_PRICE_CANDLES_COUNT: 1 };
const LONG: SignalDto = { position: "long", priceTakeProfit: 101, priceStopLoss: 99, minuteEstimatedTime: 60 };
//                                 minute: 0123456789012
const candles = candlesFromMarble("aaaab-c-dd---", { a: 100, b: 100.5, c: 101.5, d: 100 }, { start: -60_000 });
const STOP_AT = 12 * TICK;

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** A loopback HTTP server answering each POST with `handle(path, body)` as JSON, `latencyMs` (real) after it arrived. */
async function loopback(latencyMs: number, handle: (path: string, body: any) => unknown): Promise<(path: string, body: unknown) => Promise<any>> {
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let text = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => (text += chunk));
    request.on("end", () =>
      setTimeout(() => {
        const answer = JSON.stringify(handle(request.url ?? "", JSON.parse(text)) ?? null);
        response.writeHead(200, { "content-type": "application/json" }).end(answer);
      }, latencyMs),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return async (path, body) => (await fetch(base + path, { method: "POST", body: JSON.stringify(body) })).json();
}

/** A store whose values live behind a loopback HTTP server, `latencyMs` per call. */
async function httpStore(latencyMs: number): Promise<SignalStore> {
  const data = new Map<string, unknown>();
  const call = await loopback(latencyMs, (path, body) => {
    if (path === "/read") return data.get(body.key) ?? null;
    data.set(body.key, body.value);
    return null;
  });
  return {
    read: (key) => call("/read", { key }),
    write: async (key, value) => {
      await call("/write", { key, value });
    },
  };
}

/** The replay exchange, served by a loopback HTTP server, `latencyMs` per call. */
async function httpExchange(clock: VirtualClock, latencyMs: number): Promise<ExchangeSchema> {
  const replay = replayExchange(candles, clock);
  const call = await loopback(latencyMs, (_path, { symbol, interval, since, limit }) => replay.getCandles(symbol, interval, new Date(since), limit));
  return {
    exchangeName: "http",
    getCandles: (symbol, interval, since, limit) => call("/candles", { symbol, interval, since: since.getTime(), limit }) as Promise<Candle[]>,
  };
}

/** Every tick of a run, opening a long at the strategy's second call, stopped at tick 12; what error$ said; the calls left in flight. */
async function ticksOf(clock: VirtualClock, options: { store?: SignalStore; exchange?: ExchangeSchema; strategy?: StrategySchema }) {
  const errors: string[] = [];
  cleanups.push(listenError((e) => errors.push(`${e.name} at ${clock.now()}`)));
  const stop$ = new Subject<void>();
  const ticks: string[] = [];
  const strategy = options.strategy ?? scriptedStrategy("r10-fa", [null, LONG]);
  liveTicks$("BTCUSDT", strategy, { exchange: options.exchange ?? replayExchange(candles, clock), store: options.store ?? memoryStore(), scheduler: clock, stop$, config }).subscribe({
    next: (r) => ticks.push(`${r.action} @${r.currentPrice} t=${r.timestamp / TICK}`),
    complete: () => ticks.push(`complete t=${clock.now() / TICK}`),
    error: (e: Error) => ticks.push(`${e.name} t=${clock.now() / TICK}`),
  });
  clock.schedule(() => stop$.next(), STOP_AT);
  await clock.flushAsync(20 * TICK);
  return { ticks, errors, inFlight: clock.callsInFlight };
}

// The reference: everything synchronous. Opened at tick 1, take profit at tick 6 (minute 6 at
// 101.5), idle after it; the stop at tick 12 comes before that tick and ends the stream at once.
const REFERENCE = [
  "idle @100 t=0",
  "opened @100 t=1",
  "active @100 t=2",
  "active @100 t=3",
  "active @100.5 t=4",
  "active @100.5 t=5",
  "closed @101 t=6",
  "idle @101.5 t=7",
  "idle @100 t=8",
  "idle @100 t=9",
  "idle @100 t=10",
  "idle @100 t=11",
  "complete t=12",
];

describe("flushAsync waits for every call in flight (review 10.2)", () => {
  it("the reference run, on a memory store and a synchronous exchange", async () => {
    const run = await ticksOf(new VirtualClock(0), {});
    expect(run.ticks).toEqual(REFERENCE);
    expect(run.errors).toEqual([]);
  });

  it("a store over loopback HTTP (30 ms a call): exactly the reference's ticks", async () => {
    const run = await ticksOf(new VirtualClock(0), { store: await httpStore(30) });
    expect(run.ticks).toEqual(REFERENCE);
    expect(run.errors).toEqual([]);
    expect(run.inFlight).toEqual([]);
  });

  it("an exchange over loopback HTTP (20 ms a call): exactly the reference's ticks", async () => {
    const clock = new VirtualClock(0);
    const run = await ticksOf(clock, { exchange: await httpExchange(clock, 20) });
    expect(run.ticks).toEqual(REFERENCE);
    expect(run.errors).toEqual([]);
    expect(run.inFlight).toEqual([]);
  });

  it("an async strategy awaiting a real 5 ms timer: exactly the reference's ticks", async () => {
    const answers: Array<SignalDto | null> = [null, LONG];
    const strategy: StrategySchema = {
      strategyName: "r10-fa",
      interval: "1m",
      getSignal: async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return answers.shift() ?? null;
      },
    };
    const run = await ticksOf(new VirtualClock(0), { strategy });
    expect(run.ticks).toEqual(REFERENCE);
    expect(run.errors).toEqual([]);
  });
});

describe("VirtualClock.callsInFlight (review 10.2)", () => {
  it("drops a call once its time limit has passed on the clock: the engine gave up on it", async () => {
    const clock = new VirtualClock(0, { callGraceMs: 10 });
    const errors: string[] = [];
    cleanups.push(listenError((e) => errors.push(`${e.name} at ${clock.now()}`)));
    const store: SignalStore = { read: () => new Promise(() => {}), write: () => undefined };
    const subscription = liveTicks$("BTCUSDT", scriptedStrategy("r10-hang", []), {
      exchange: replayExchange(candles, clock),
      store,
      scheduler: clock,
      config: { ...config, CC_STORE_TIMEOUT_SECONDS: 10 },
    }).subscribe();
    cleanups.push(() => subscription.unsubscribe());
    await clock.flushAsync(9_999);
    expect(clock.callsInFlight).toEqual(["read(BTCUSDT:r10-hang)"]);
    await clock.flushAsync(10_000);
    expect(errors).toEqual(["StoreReadError at 10000"]);
    expect(clock.callsInFlight).toEqual([]);
    // The retry, a tick period after the failure, reads again: in flight until its own limit.
    await clock.flushAsync(10_000 + TICK);
    expect(clock.callsInFlight).toEqual(["read(BTCUSDT:r10-hang)"]);
    await clock.flushAsync(20_000 + TICK);
    expect(clock.callsInFlight).toEqual([]);
  });
});

describe("new VirtualClock(startTime) (review 10.2)", () => {
  it.each<[unknown, string]>([
    ["x", '"x"'],
    [Number.NaN, "NaN"],
    [Number.POSITIVE_INFINITY, "Infinity"],
    [null, "null"],
  ])("refuses %s, naming it", (start, shown) => {
    expect(() => new VirtualClock(start as number)).toThrow(
      `rxtrade: VirtualClock startTime (${shown}) must be a finite time in ms, e.g. 0 or Date.parse("2023-03-01T00:00:00Z")`,
    );
  });

  it("takes a finite time, and no argument as 0", () => {
    expect(new VirtualClock(-5).now()).toBe(-5);
    expect(new VirtualClock().now()).toBe(0);
  });
});
