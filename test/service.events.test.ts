// GET /api/events of rxtrade/service in process, against its real loopback HTTP server: a pair
// on the bundled exchange at --speed (rxtrade run's paced clock) sends its opened and closed
// events as Server-Sent Events, one `data:` JSON line each with the pair id, and comment lines
// as heartbeats; a client that disconnects is forgotten; a reconnecting client gets what it
// missed (Last-Event-ID); a client that does not read is dropped once its buffer is full,
// while the ticks and a reading client go on unharmed; the streams end when the service does.
import { connect, type Socket } from "node:net";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Candle, memoryStore, replayExchange, type StrategySchema } from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandles } from "rxtrade/node";
import { bundledExchange, pacedScheduler, type Service, type ServiceEventJson, serviceLogger, startService } from "rxtrade/service";
import { candlesFromPrices, VirtualClock } from "rxtrade/testing";
import { parsePrometheusText, sampleValue } from "./fixtures/prometheusText";

const MINUTE = 60_000;
const TICK = 60_001;
const START = 10 * MINUTE;

interface Frame {
  id?: number;
  /** The prefix of its id: the stream's start. */
  run?: string;
  data?: ServiceEventJson;
  /** Lines of the frame that are neither `id:` nor `data:` (comments, `retry:`). */
  other: string[];
  /** How many `data:` lines it had. */
  dataLines: number;
}

/** A client of /api/events (fetch, streamed), its frames parsed as they come. */
class EventClient {
  readonly frames: Frame[] = [];
  readonly response: Promise<Response>;
  ended = false;
  private readonly controller = new AbortController();
  private buffer = "";
  private wake: (() => void) | undefined;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.response = fetch(`${url}/api/events`, { headers, signal: this.controller.signal });
    void this.pump();
  }

  get events(): ServiceEventJson[] {
    return this.frames.flatMap((frame) => (frame.data === undefined ? [] : [frame.data]));
  }

  /** Resolves once `done` says so, or rejects after `ms` of real time. */
  async until(done: () => boolean, ms = 10_000, what = "the events"): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`${what} did not come within ${ms} ms; got ${JSON.stringify(this.events.map((event) => `${event.kind} ${event.pair}`))}`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 20);
      });
    }
  }

  close(): void {
    this.controller.abort();
  }

  private async pump(): Promise<void> {
    try {
      const reader = (await this.response).body!.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const blocks = (this.buffer + value).split("\n\n");
        this.buffer = blocks.pop() as string;
        for (const block of blocks) this.frames.push(parse(block));
        this.wake?.();
      }
    } catch (error) {
      if ((error as Error).name !== "AbortError") throw error;
    } finally {
      this.ended = true;
      this.wake?.();
    }
  }
}

function parse(block: string): Frame {
  const frame: Frame = { other: [], dataLines: 0 };
  for (const line of block.split("\n")) {
    if (line.startsWith("id: ")) {
      // `<run>-<n>`: the stream's start (epoch ms), then the event's number in it.
      const [run, n] = line.slice(4).split("-");
      frame.run = run;
      frame.id = Number(n);
    }
    else if (line.startsWith("data: ")) {
      frame.data = JSON.parse(line.slice(6)) as ServiceEventJson;
      frame.dataLines++;
    } else frame.other.push(line);
  }
  return frame;
}

async function metric(url: string, name: string): Promise<number> {
  return sampleValue(parsePrometheusText(await (await fetch(`${url}/metrics`)).text()), name);
}

let service: Service | undefined;
let stop: (() => Promise<void>) | undefined;
const clients: EventClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await stop?.();
  stop = undefined;
  service = undefined;
});

/** Every third ask a long with TP +0.6 % and SL -0.6 %, living `minutes`. */
function everyThird(name: string, minutes: number): StrategySchema {
  let asked = 0;
  return {
    strategyName: name,
    interval: "1m",
    getSignal: (_symbol, _when, context) =>
      ++asked % 3 === 0 ? { position: "long", priceTakeProfit: context.currentPrice * 1.006, priceStopLoss: context.currentPrice * 0.994, minuteEstimatedTime: minutes } : null,
  };
}

describe("on the bundled exchange at --speed", () => {
  let candles: Candle[];
  beforeAll(async () => {
    candles = await csvCandles(BUNDLED_BTCUSDT_1M);
  });

  it("a client gets the pair's opened and closed events, one data: JSON line each with the pair id, and heartbeats", async () => {
    // rxtrade run --speed 600: 600 simulated minutes per second, each pair on its own paced clock.
    const clocks = ["BTCUSDT", "ETHUSDT"].map(() => pacedScheduler({ origin: Date.parse("2023-03-08T12:00Z"), speed: (600 * MINUTE) / 1000 }));
    const strategy = everyThird("sse", 30);
    service = await startService({
      pairs: ["BTCUSDT", "ETHUSDT"].map((symbol, i) => ({ symbol, strategy, exchange: bundledExchange(candles, clocks[i]), scheduler: clocks[i] })),
      store: memoryStore(),
      http: { host: "127.0.0.1", port: 0, heartbeatMs: 50 },
      logger: false,
      defaultMetrics: false,
    });
    const running = service;
    stop = async () => {
      running.drainAll("test over");
      await running.done;
      for (const clock of clocks) clock.stop();
    };
    const url = service.url as string;
    const client = new EventClient(url);
    clients.push(client);
    const response = await client.response;
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(response.headers.get("cache-control")).toBe("no-store");

    const ofBtc = () => client.events.filter((event) => event.pair === "BTCUSDT:sse");
    const closedAfterOpened = () => {
      const opened = ofBtc().find((event) => event.kind === "opened");
      return opened === undefined ? undefined : ofBtc().find((event) => event.kind === "closed" && event.signalId === opened.signalId);
    };
    await client.until(() => closedAfterOpened() !== undefined, 15_000, "BTCUSDT's opened and closed events");
    const opened = ofBtc().find((event) => event.kind === "opened")!;
    const closed = closedAfterOpened()!;

    expect(opened).toEqual({
      kind: "opened",
      pair: "BTCUSDT:sse",
      symbol: "BTCUSDT",
      strategy: "sse",
      at: expect.stringMatching(/^2023-03-08T1\d:\d\d:00\.\d{3}Z$/),
      signalId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      position: "long",
      price: expect.any(Number),
      priceOpen: expect.any(Number),
      priceTakeProfit: expect.any(Number),
      priceStopLoss: expect.any(Number),
      minuteEstimatedTime: 30,
    });
    expect(opened.priceTakeProfit! / opened.price!).toBeCloseTo(1.006, 9);
    expect(opened.priceStopLoss! / opened.price!).toBeCloseTo(0.994, 9);
    expect(closed).toMatchObject({ kind: "closed", pair: "BTCUSDT:sse", symbol: "BTCUSDT", strategy: "sse", signalId: opened.signalId, position: "long" });
    expect(["take_profit", "stop_loss", "time_expired"]).toContain(closed.reason);
    expect(Date.parse(closed.at!) - Date.parse(opened.at!)).toBeLessThanOrEqual(31 * MINUTE);

    // Every frame: an id (one up from the last) and one data: line; the first says how soon to reconnect.
    const dataFrames = client.frames.filter((frame) => frame.data !== undefined);
    expect(dataFrames.every((frame) => frame.dataLines === 1 && frame.other.length === 0)).toBe(true);
    expect(dataFrames.map((frame) => frame.id! - dataFrames[0]!.id!)).toEqual(dataFrames.map((_, i) => i));
    expect(client.frames[0]!.other).toEqual(["retry: 2000"]);
    await client.until(() => client.frames.filter((frame) => frame.other[0] === ": heartbeat").length >= 2, 2000, "two heartbeats");

    // The close is a point of the pair's equity curve: its time, and the sum of the PnL closed up to it.
    const btc = service.list().find((pair) => pair.id === "BTCUSDT:sse")!;
    const closes = ofBtc().filter((event) => event.kind === "closed");
    const point = btc.equity![closes.indexOf(closed)]!;
    expect(point[0]).toBe(Date.parse(closed.at!));
    expect(point[1]).toBeCloseTo(closes.slice(0, closes.indexOf(closed) + 1).reduce((sum, event) => sum + event.pnlPercent!, 0), 9);
  });
});

describe("clients", () => {
  async function virtualService(options: { bufferBytes?: number; pairs?: number; strategy?: StrategySchema; logger?: (line: Record<string, unknown>) => void } = {}) {
    const clock = new VirtualClock(START);
    const exchange = replayExchange(candlesFromPrices(Array.from({ length: 2000 }, (_, minute) => 100 + (minute % 7))), clock);
    const strategy = options.strategy ?? everyThird("v", 2);
    const log = options.logger;
    service = await startService({
      pairs: Array.from({ length: options.pairs ?? 2 }, (_, i) => ({ symbol: `P${i}`, strategy, exchange })),
      store: memoryStore(),
      scheduler: clock,
      http: { host: "127.0.0.1", port: 0, ...(options.bufferBytes === undefined ? {} : { eventBufferBytes: options.bufferBytes }) },
      logger: log === undefined ? false : serviceLogger({ level: "warn", destination: { write: (line: string) => log(JSON.parse(line) as Record<string, unknown>) } }),
      defaultMetrics: false,
    });
    const running = service;
    stop = async () => {
      running.drainAll("test over");
      await clock.flushAsync(clock.now() + 300 * TICK);
      await running.done;
    };
    return { clock, url: service.url as string };
  }

  it("one that disconnects is forgotten; the streams end, after the last events, when the service is done", async () => {
    const { clock, url } = await virtualService();
    const [a, b] = [new EventClient(url), new EventClient(url)];
    clients.push(a, b);
    await Promise.all([a.response, b.response]);
    expect(await metric(url, "rxtrade_event_clients")).toBe(2);
    await clock.flushAsync(START + 10 * TICK);
    await a.until(() => a.events.some((event) => event.kind === "closed"));

    a.close();
    for (let i = 0; i < 50 && (await metric(url, "rxtrade_event_clients")) !== 1; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await metric(url, "rxtrade_event_clients")).toBe(1);
    expect(await metric(url, "rxtrade_event_clients_dropped_total")).toBe(0);

    // b stays to the end: the pairs' done events, then its stream ends.
    service!.drainAll("test over");
    await clock.flushAsync(START + 300 * TICK);
    await service!.done;
    await b.until(() => b.ended, 2000, "the end of the stream");
    expect(b.events.filter((event) => event.kind === "stopping")).toEqual([{ kind: "stopping", reason: "test over" }]);
    expect(b.events.filter((event) => event.kind === "done").map((event) => event.pair).sort()).toEqual(["P0:v", "P1:v"]);
    expect(b.events.at(-1)?.kind).toBe("done");
    stop = undefined;
  });

  it("a new client gets the latest events first; one that reconnects gets those after its Last-Event-ID", async () => {
    const { clock, url } = await virtualService();
    const first = new EventClient(url);
    clients.push(first);
    await first.response;
    await clock.flushAsync(START + 20 * TICK);
    await first.until(() => first.events.filter((event) => event.kind === "closed").length >= 2);
    const seen = first.frames.filter((frame) => frame.id !== undefined);
    first.close();

    // A new page: the backlog (all of them: fewer than 100 so far), in order, ids included.
    const fresh = new EventClient(url);
    clients.push(fresh);
    await fresh.until(() => fresh.frames.filter((frame) => frame.id !== undefined).length >= seen.length);
    expect(fresh.frames.filter((frame) => frame.id !== undefined).slice(0, seen.length)).toEqual(seen);

    // A reconnect after the third event: the rest only.
    const third = seen[2]!.id!;
    const back = new EventClient(url, { "last-event-id": `${seen[2]!.run}-${third}` });
    clients.push(back);
    await back.until(() => back.frames.filter((frame) => frame.id !== undefined).length >= seen.length - 3);
    expect(back.frames.filter((frame) => frame.id !== undefined).map((frame) => frame.id)).toEqual(seen.slice(3).map((frame) => frame.id));

    // Past 100 events: a new client gets the last 100, oldest first.
    let emitted = seen.at(-1)!.id!;
    service!.events$.subscribe(() => emitted++);
    for (let round = 21; emitted < 150; round += 10) await clock.flushAsync(START + round * TICK);
    const late = new EventClient(url);
    clients.push(late);
    await late.until(() => late.frames.filter((frame) => frame.id !== undefined).length >= 100);
    expect(late.frames.filter((frame) => frame.id !== undefined).map((frame) => frame.id)).toEqual(Array.from({ length: 100 }, (_, i) => emitted - 99 + i));
  });

  it("one that does not read is dropped once its buffer is full, and neither the ticks nor a reading client wait for it", async () => {
    // 10 pairs whose strategy fails at every tick with a 20 KB message (an exchange's HTML error
    // page, say): an error event of 20 KB per pair and tick, 200 KB per round of ticks.
    const loud: StrategySchema = {
      strategyName: "loud",
      interval: "1m",
      getSignal: () => {
        throw new Error(`upstream answered <html>${"x".repeat(20_000)}</html>`);
      },
    };
    const lines: Array<Record<string, unknown>> = [];
    const limit = 256 * 1024;
    const { clock, url } = await virtualService({ pairs: 10, strategy: loud, bufferBytes: limit, logger: (line) => lines.push(line) });
    let emitted = 0;
    service!.events$.subscribe(() => emitted++);
    const reading = new EventClient(url);
    clients.push(reading);
    await reading.response;

    // The slow client asks, then never reads: what the service writes piles up in the kernel's
    // socket buffers (a few MB on loopback), then in the service's buffer, up to the limit (256 KB).
    const { port } = new URL(url);
    const slow: Socket = connect(Number(port), "127.0.0.1");
    await new Promise<void>((resolve) => slow.once("connect", resolve));
    slow.write("GET /api/events HTTP/1.1\r\nhost: 127.0.0.1\r\naccept: text/event-stream\r\n\r\n");
    slow.pause();
    const slowClosed = new Promise<void>((resolve) => slow.once("close", () => resolve()));
    for (let i = 0; i < 50 && (await metric(url, "rxtrade_event_clients")) !== 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await metric(url, "rxtrade_event_clients")).toBe(2);

    const drops = () => lines.filter((line) => String(line.msg).startsWith("events client dropped"));
    let rounds = 0;
    while (drops().length === 0 && rounds < 100) {
      rounds++;
      await clock.flushAsync(START + rounds * TICK);
    }
    expect(drops()).toEqual([
      {
        level: "warn",
        time: expect.any(String),
        pid: process.pid,
        hostname: expect.any(String),
        remote: `127.0.0.1:${slow.localPort}`,
        bufferedBytes: expect.any(Number),
        limitBytes: limit,
        msg: "events client dropped: it did not take its events (more than the buffer waiting); it may reconnect",
      },
    ]);
    expect(drops()[0]!.bufferedBytes as number).toBeLessThanOrEqual(limit);
    expect(await metric(url, "rxtrade_event_clients_dropped_total")).toBe(1);
    expect(await metric(url, "rxtrade_event_clients")).toBe(1);
    // Its connection was closed by the service: once it reads, it reaches the end.
    slow.resume();
    await slowClosed;

    // Every pair ticked every round, whatever the slow client did.
    const ticks = service!.list({ equity: false }).map((pair) => pair.lastTickAt);
    expect(new Set(ticks)).toEqual(new Set([new Date(START + rounds * TICK).toISOString()]));
    // The reading client got every event, in order, none lost: megabytes of them.
    const ids = () => reading.frames.flatMap((frame) => (frame.id === undefined ? [] : [frame.id]));
    await reading.until(() => ids().length >= emitted, 5000, `${emitted} events`);
    expect(ids()).toEqual(Array.from({ length: emitted }, (_, i) => i + 1));
    expect(emitted).toBeGreaterThan(100); // 2 MB and more: past the kernel's buffers and the limit
  }, 30_000);
});
