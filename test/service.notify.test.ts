// rxtrade/service's webhook notifications against real loopback HTTP servers this file starts:
// every kind of a service's events posted with its fields (through startService's notify
// option, with the service's logger and metrics); retries with backoff on a webhook that
// refuses connections, is slow, answers 500 or 429 (Retry-After), none on a 400; the rate cap
// and the bounded queue shedding opened and closed notices but never a stalled one; two
// webhooks independent; the bounded flush of close(); and `rxtrade run --notify` (URLs checked
// up front, exit 2; a spawned CLI posting to a webhook at --speed). The notifier's clock is a
// VirtualClock (backoff, Retry-After, rate cap, flush); its POSTs and their time limits are real.
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { type Candle, type ExchangeSchema, memoryStore, replayExchange, setLogger, type StrategySchema, type TickResult } from "rxtrade";
import {
  ArgumentError,
  ArgumentRangeError,
  type Service,
  type ServiceEvent,
  serviceLogger,
  startService,
  type WebhookNotice,
  type WebhookNotifier,
  webhookNotifier,
  type WebhookNotifierOptions,
} from "rxtrade/service";
import { candlesFromPrices, VirtualClock } from "rxtrade/testing";
import { main } from "../src/cli/main";
import { Terminal } from "../src/cli/terminal";
import { bundle, Child } from "./fixtures/processHarness";
import { parsePrometheusText, sampleValue } from "./fixtures/prometheusText";

const MINUTE = 60_000;
const TICK = 60_001;
const START = 10 * MINUTE;

interface Hit {
  body: WebhookNotice;
  headers: IncomingHttpHeaders;
  path: string;
  /** The notifier's clock when the request came. */
  at: number;
}

/** How the hook answers a request: a status (and headers), after `delayMs` of real time, or never (`hang`). */
type Answer = { status: number; headers?: Record<string, string>; body?: string; delayMs?: number } | "hang";

/** A webhook on 127.0.0.1: records each request, answers as `answer` says (200 by default). */
class Hook {
  readonly hits: Hit[] = [];
  answer: (hit: Hit, index: number) => Answer = () => ({ status: 200 });
  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly clock: { now(): number } | undefined,
  ) {}

  static async start(options: { port?: number; clock?: { now(): number } } = {}): Promise<Hook> {
    let hook: Hook | undefined;
    const server = createServer((request, response) => {
      let text = "";
      request.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
      request.on("end", () => hook?.received(text, request.headers, request.url ?? "", response));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, "127.0.0.1", resolve);
    });
    hook = new Hook(server, (server.address() as AddressInfo).port, options.clock);
    open.push(hook);
    return hook;
  }

  url(path = "/hook"): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  get kinds(): string[] {
    return this.hits.map((hit) => `${hit.body.kind} ${hit.body.pair ?? ""}`.trim());
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private received(text: string, headers: IncomingHttpHeaders, path: string, response: ServerResponse): void {
    const hit: Hit = { body: JSON.parse(text) as WebhookNotice, headers, path, at: this.clock?.now() ?? Date.now() };
    this.hits.push(hit);
    const answer = this.answer(hit, this.hits.length - 1);
    if (answer === "hang") return;
    const reply = () => {
      // A late answer to a client that gave up (its time limit) and a server closed since: nobody to tell.
      if (!response.destroyed) response.writeHead(answer.status, answer.headers ?? {}).end(answer.body ?? "");
    };
    if (answer.delayMs === undefined) reply();
    else setTimeout(reply, answer.delayMs);
  }
}

const open: Hook[] = [];
const notifiers: WebhookNotifier[] = [];

afterEach(async () => {
  // Whatever a test left waiting is given up at once (their clocks are virtual: a 0 ms flush).
  await Promise.all(notifiers.splice(0).map((notifier) => Promise.race([notifier.close(), new Promise((resolve) => setTimeout(resolve, 50))])));
  await Promise.all(open.splice(0).map((hook) => hook.close()));
});

/** Resolves once `done()` holds (polling real time), or fails naming `what` after `ms`. */
async function until(done: () => boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A free loopback port nobody listens on (connections to it are refused). */
async function refusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The JSON log lines of a service logger, kept. */
function logLines(): { lines: Array<Record<string, any>>; logger: ReturnType<typeof serviceLogger> } {
  const lines: Array<Record<string, any>> = [];
  return { lines, logger: serviceLogger({ destination: { write: (line: string) => lines.push(JSON.parse(line) as Record<string, any>) } }) };
}

/** A notifier on a VirtualClock at 0 with jitter fixed at its middle (a step's 3/4). */
function notifier(clock: VirtualClock, options: Omit<WebhookNotifierOptions, "scheduler">): WebhookNotifier {
  const made = webhookNotifier({ scheduler: clock, random: () => 0.5, logger: false, ...options });
  notifiers.push(made);
  return made;
}

// Events as a service announces them (the trade ones with the fields eventJson reads).
const fields = (symbol: string) => ({ pair: `${symbol}:s`, symbol, strategy: "s" });
let signals = 0;
function trade(kind: "opened" | "closed", symbol: string, at = 0): ServiceEvent {
  const signal = { id: `sig-${++signals}`, position: "long", priceOpen: 100, priceTakeProfit: 101, priceStopLoss: 99, minuteEstimatedTime: 60, scheduledAt: at, pendingAt: at, note: "" };
  const result = { action: kind, timestamp: at, currentPrice: 100, signal, closeReason: "take_profit", pnl: { pnlPercentage: 0.6, priceOpen: 100, priceClose: 101 } };
  return { kind, at, ...fields(symbol), result: result as unknown as TickResult };
}
const stalled = (symbol: string, at = 0): ServiceEvent => ({ kind: "stalled", at, ...fields(symbol), lastTickAt: at - 180_003, stallLimitMs: 180_003, message: "no completed tick" });
const recovered = (symbol: string, at = 0): ServiceEvent => ({ kind: "recovered", at, ...fields(symbol) });
const failure = (symbol: string, name: string, at = 0): ServiceEvent => ({ kind: "error", at, ...fields(symbol), error: Object.assign(new Error(`${name} happened`), { name }) });

describe("a service's events, posted", () => {
  let service: Service | undefined;
  let clock: VirtualClock | undefined;

  afterEach(async () => {
    if (service === undefined) return;
    service.drainAll("test over");
    await clock?.flushAsync(START + 1000 * TICK);
    await service.done;
    service = undefined;
  });

  it("posts opened, closed, error, stalled, recovered and done with their fields, counted in the service's /metrics", async () => {
    clock = new VirtualClock(START, { callGraceMs: 20 });
    // 100 until minute 40, then 102: AAA's long (TP 101) opens at its second ask and closes by take profit.
    const replay = replayExchange(candlesFromPrices(Array.from({ length: 400 }, (_, minute) => (minute < 40 ? 100 : 102))), clock);
    let down = false;
    const exchange: ExchangeSchema = {
      exchangeName: "replay",
      getCandles: (symbol, interval, since, limit) => (symbol === "STUCK" && down ? new Promise<Candle[]>(() => {}) : replay.getCandles(symbol, interval, since, limit)),
    };
    let asked = 0;
    const spike: StrategySchema = {
      strategyName: "spike",
      interval: "1m",
      getSignal: () => {
        asked++;
        if (asked === 1) throw new Error("not ready yet");
        return asked === 2 ? { position: "long", priceTakeProfit: 101, priceStopLoss: 99, minuteEstimatedTime: 120 } : null;
      },
    };
    const quiet: StrategySchema = { strategyName: "quiet", interval: "1m", getSignal: () => null };
    const hook = await Hook.start();
    const notify = notifier(new VirtualClock(0), { webhooks: [hook.url("/hook?token=hush")], perMinute: 1000, logger: undefined });
    const { lines, logger } = logLines();
    service = await startService({
      pairs: [
        { symbol: "AAA", strategy: spike, exchange },
        { symbol: "STUCK", strategy: quiet, exchange, config: { CC_STALL_TICKS: 3 } },
      ],
      store: memoryStore(),
      scheduler: clock,
      logger,
      notify,
    });

    await clock.flushAsync(START + 2 * TICK);
    down = true;
    await clock.flushAsync(START + 6 * TICK);
    down = false;
    await clock.flushAsync(START + 45 * TICK);
    await until(() => notify.stats()[0]!.queued === 0 && hook.kinds.includes("closed AAA:spike") && hook.kinds.includes("recovered STUCK:quiet"), "the notices");

    // (STUCK's hung exchange call ends at its time limit: an ExchangeError before the stall.)
    expect([...hook.kinds].sort()).toEqual(["closed AAA:spike", "error AAA:spike", "error STUCK:quiet", "opened AAA:spike", "recovered STUCK:quiet", "stalled STUCK:quiet"]);
    const only = (kind: string, pair: string) => {
      const found = hook.hits.filter((hit) => hit.body.kind === kind && hit.body.pair === pair);
      expect(found, `${kind} ${pair}`).toHaveLength(1);
      return found[0]!.body;
    };
    const head = (pair: string, symbol: string, strategy: string) => ({ pair, symbol, strategy });
    expect(only("error", "AAA:spike")).toEqual({
      kind: "error",
      ...head("AAA:spike", "AAA", "spike"),
      at: new Date(START).toISOString(),
      error: { name: "StrategyError", message: expect.stringContaining("not ready yet") },
    });
    const opened = only("opened", "AAA:spike");
    expect(opened).toEqual({
      kind: "opened",
      ...head("AAA:spike", "AAA", "spike"),
      at: new Date(START + TICK).toISOString(),
      signalId: expect.any(String),
      position: "long",
      price: 100,
      priceOpen: 100,
      priceTakeProfit: 101,
      priceStopLoss: 99,
      minuteEstimatedTime: 120,
    });
    const closed = only("closed", "AAA:spike");
    const pnl = sampleValue(parsePrometheusText(await service.metrics()), "rxtrade_pnl_percent_total", { symbol: "AAA", strategy: "spike" });
    expect(pnl).toBeGreaterThan(0);
    expect(closed).toEqual({
      kind: "closed",
      ...head("AAA:spike", "AAA", "spike"),
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      signalId: opened.signalId,
      position: "long",
      // Closed at its take profit's price.
      price: 101,
      priceOpen: 100,
      priceTakeProfit: 101,
      priceStopLoss: 99,
      reason: "take_profit",
      pnlPercent: pnl,
      priceClose: 101,
    });
    // STUCK's last completed tick: START + 2 ticks; stalled 3 tick periods later, on its clock.
    expect(only("stalled", "STUCK:quiet")).toEqual({
      kind: "stalled",
      ...head("STUCK:quiet", "STUCK", "quiet"),
      at: expect.any(String),
      lastTickAt: new Date(START + 2 * TICK).toISOString(),
      stallLimitSeconds: 180.003,
      message: expect.stringContaining("CC_STALL_TICKS"),
    });
    expect(only("recovered", "STUCK:quiet")).toEqual({ kind: "recovered", ...head("STUCK:quiet", "STUCK", "quiet"), at: expect.any(String) });
    expect(Date.parse(only("recovered", "STUCK:quiet").at!)).toBeGreaterThan(Date.parse(only("stalled", "STUCK:quiet").at!));
    expect(hook.hits.every((hit) => hit.path === "/hook?token=hush" && hit.headers["content-type"] === "application/json")).toBe(true);

    // Counted in the service's metrics under the redacted URL.
    const label = { url: `http://127.0.0.1:${hook.port}/hook?***` };
    const metrics = parsePrometheusText(await service.metrics());
    expect(sampleValue(metrics, "rxtrade_notify_sent_total", label)).toBe(hook.hits.length);
    expect(sampleValue(metrics, "rxtrade_notify_failed_total", label)).toBe(0);
    expect(sampleValue(metrics, "rxtrade_notify_dropped_total", label)).toBe(0);
    expect(sampleValue(metrics, "rxtrade_notify_queued", label)).toBe(0);

    // The drain: each pair's done, flushed by close() once the service has ended.
    const sent = hook.hits.length;
    service.drainAll("test over");
    await clock.flushAsync(START + 400 * TICK);
    await service.done;
    service = undefined;
    const final = await notify.close();
    expect(hook.kinds.slice(sent).sort()).toEqual(["done AAA:spike", "done STUCK:quiet"]);
    expect(final).toEqual([{ webhook: label.url, queued: 0, sent: hook.hits.length, failed: 0, refused: 0, dropped: 0, failing: false }]);
    expect(lines.filter((line) => String(line.msg).startsWith("webhook"))).toEqual([]);
  });

  it("a slow webhook costs the loop no tick: the same ticks in virtual time with and without it", async () => {
    const hook = await Hook.start();
    hook.answer = () => "hang";
    const ticks = async (withWebhook: boolean): Promise<number> => {
      clock = new VirtualClock(START);
      const replay = replayExchange(candlesFromPrices(Array.from({ length: 400 }, (_, minute) => (minute % 20 < 10 ? 100 : 102))), clock);
      // A long at every ask while flat: a trade opens and closes every few minutes, each a notice.
      const eager: StrategySchema = { strategyName: "eager", interval: "1m", getSignal: () => ({ position: "long", priceTakeProfit: 101, priceStopLoss: 95, minuteEstimatedTime: 60 }) };
      const notify = withWebhook ? notifier(new VirtualClock(0), { webhooks: [hook.url()], timeoutMs: 100, maxQueue: 1000, perMinute: 1000 }) : undefined;
      service = await startService({
        pairs: [{ symbol: "AAA", strategy: eager, exchange: replay }],
        store: memoryStore(),
        scheduler: clock,
        logger: false,
        ...(notify === undefined ? {} : { notify }),
      });
      await clock.flushAsync(START + 100 * TICK);
      const count = sampleValue(parsePrometheusText(await service.metrics()), "rxtrade_ticks_total", { symbol: "AAA", strategy: "eager" });
      if (notify !== undefined) {
        // The webhook got the first notice and never answered: the rest wait behind it.
        await until(() => notify.stats()[0]!.failing, "the time limit of the first POST");
        expect(hook.hits).toHaveLength(1);
        expect(notify.stats()[0]!.queued).toBeGreaterThan(5);
      }
      service.drainAll("test over");
      await clock.flushAsync(START + 400 * TICK);
      await service.done;
      service = undefined;
      return count;
    };
    const without = await ticks(false);
    expect(without).toBe(101);
    expect(await ticks(true)).toBe(without);
  });
});

describe("retries", () => {
  it("a webhook that refuses connections, then comes up: retried with exponential backoff and jitter, delivered; one log line per streak, URL redacted", async () => {
    const clock = new VirtualClock(0);
    const port = await refusedPort();
    const { lines, logger } = logLines();
    const notify = notifier(clock, { webhooks: [`http://user:s3cret@127.0.0.1:${port}/hook?key=hush`], logger });
    notify.notify(stalled("AAA"));

    // Attempts at 0, 750, 2250 (steps of 1 s, 2 s, 4 s: 3/4 of each with the jitter at 0.5).
    await until(() => notify.stats()[0]!.failing, "the first failure");
    expect(notify.stats()[0]).toMatchObject({ failed: 1, queued: 1, nextAttemptAt: 750 });
    clock.flush(750);
    await until(() => notify.stats()[0]!.failed === 2, "the second failure");
    expect(notify.stats()[0]!.nextAttemptAt).toBe(750 + 1500);
    const hook = await Hook.start({ port, clock });
    clock.flush(2249);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(hook.hits).toHaveLength(0);
    clock.flush(2250);
    await until(() => hook.hits.length === 1 && notify.stats()[0]!.sent === 1, "the delivery");
    expect(hook.hits[0]).toMatchObject({ at: 2250, path: "/hook?key=hush", body: { kind: "stalled", pair: "AAA:s" } });
    // The URL's credentials go as Basic authorization (fetch refuses them in the URL).
    expect(hook.hits[0]!.headers.authorization).toBe(`Basic ${Buffer.from("user:s3cret").toString("base64")}`);
    expect(notify.stats()[0]).toEqual({ webhook: `http://***@127.0.0.1:${port}/hook?***`, queued: 0, sent: 1, failed: 2, refused: 0, dropped: 0, failing: false });

    expect(lines.map((line) => [line.level, line.msg.split(":")[0], line.error, line.retryInSeconds, line.failedAttempts, line.downSeconds])).toEqual([
      ["warn", "webhook failing", expect.stringMatching(/^ECONNREFUSED/), 0.75, undefined, undefined],
      ["info", "webhook answering again", undefined, undefined, 2, 2.25],
    ]);
    expect(lines.every((line) => line.webhook === `http://***@127.0.0.1:${port}/hook?***`)).toBe(true);
    expect(JSON.stringify(lines)).not.toMatch(/s3cret|hush|user/);
  });

  it("a slow webhook: each POST aborted at its time limit and retried", async () => {
    const clock = new VirtualClock(0);
    const hook = await Hook.start({ clock });
    hook.answer = (_hit, index) => (index === 0 ? { status: 200, delayMs: 2_000 } : { status: 200 });
    const { lines, logger } = logLines();
    const notify = notifier(clock, { webhooks: [hook.url()], timeoutMs: 100, logger });
    notify.notify(trade("closed", "AAA"));

    const started = Date.now();
    await until(() => notify.stats()[0]!.failing, "the time limit");
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(notify.stats()[0]).toMatchObject({ sent: 0, failed: 1, queued: 1, nextAttemptAt: 750 });
    expect(lines[0]).toMatchObject({ level: "warn", error: "no answer within 100 ms (timeoutMs)" });
    clock.flush(750);
    await until(() => notify.stats()[0]!.sent === 1, "the retry");
    expect(hook.hits.map((hit) => [hit.at, hit.body.kind, hit.body.signalId])).toEqual([
      [0, "closed", hook.hits[0]!.body.signalId],
      [750, "closed", hook.hits[0]!.body.signalId],
    ]);
  });

  it("500 is retried after the backoff, 429 and 503 after their Retry-After (seconds or a date)", async () => {
    const clock = new VirtualClock(0);
    const hook = await Hook.start({ clock });
    const answers: Answer[] = [
      { status: 500, body: "oops" },
      { status: 429, headers: { "retry-after": "7" } },
      { status: 503, headers: { "retry-after": new Date(Date.now() + 30_000).toUTCString() } },
      { status: 204 },
    ];
    hook.answer = (_hit, index) => answers[index] ?? { status: 200 };
    const { lines, logger } = logLines();
    const notify = notifier(clock, { webhooks: [hook.url()], logger });
    notify.notify(trade("opened", "AAA"));

    await until(() => notify.stats()[0]!.failed === 1, "the 500");
    expect(notify.stats()[0]!.nextAttemptAt).toBe(750);
    clock.flush(750);
    await until(() => notify.stats()[0]!.failed === 2, "the 429");
    expect(notify.stats()[0]!.nextAttemptAt).toBe(750 + 7_000);
    clock.flush(7_750);
    await until(() => notify.stats()[0]!.failed === 3, "the 503");
    // An HTTP date is read against the real clock (whole seconds): 29 to 30 s from now.
    const wait = notify.stats()[0]!.nextAttemptAt! - 7_750;
    expect(wait).toBeGreaterThan(28_000);
    expect(wait).toBeLessThanOrEqual(30_000);
    clock.flush(7_750 + wait);
    await until(() => notify.stats()[0]!.sent === 1, "the delivery");
    expect(hook.hits.map((hit) => hit.at)).toEqual([0, 750, 7_750, 7_750 + wait]);
    expect(lines.map((line) => [line.msg.split(":")[0], line.status, line.error])).toEqual([
      ["webhook failing", 500, 'HTTP 500 "oops"'],
      ["webhook answering again", undefined, undefined],
    ]);
  });

  it("400 is not retried: counted as refused, logged once with its status, and the next notices still go", async () => {
    const clock = new VirtualClock(0);
    const hook = await Hook.start({ clock });
    hook.answer = (hit) => (hit.body.kind === "opened" ? { status: 400, body: "unknown field signalId" } : { status: 200 });
    const { lines, logger } = logLines();
    const notify = notifier(clock, { webhooks: [hook.url()], logger });
    notify.notify(trade("opened", "AAA"));
    notify.notify(trade("opened", "BBB"));
    notify.notify(stalled("CCC"));
    notify.notify(trade("closed", "AAA"));

    await until(() => hook.hits.length === 4, "four POSTs");
    await until(() => notify.stats()[0]!.queued === 0, "the queue emptied");
    expect(hook.kinds).toEqual(["stalled CCC:s", "opened AAA:s", "opened BBB:s", "closed AAA:s"]);
    expect(notify.stats()[0]).toMatchObject({ sent: 2, failed: 2, refused: 2, dropped: 0, failing: false });
    expect(notify.stats()[0]!.nextAttemptAt).toBeUndefined();
    expect(lines).toEqual([
      expect.objectContaining({ level: "warn", status: 400, answer: "unknown field signalId", msg: expect.stringMatching(/^webhook refused a notice with HTTP 400: not retried/) }),
    ]);
  });
});

describe("the rate cap and the queue", () => {
  it("past perMinute POSTs notices wait; the full queue sheds opened, then closed; every stalled and recovered notice goes, first; the count in the next notice and the metric", async () => {
    const clock = new VirtualClock(0);
    const hook = await Hook.start({ clock });
    const { Registry } = await import("prom-client");
    const registry = new Registry();
    // perMinute 2: a token bucket of 1, one more every 30 s; stall notices never wait for it.
    const notify = notifier(clock, { webhooks: [hook.url()], perMinute: 2, maxQueue: 2, registry });

    // At 0: six events at once. The queue holds two besides the stall notices: opened A goes for
    // opened B, opened B for closed B, closed A for the error (more important).
    notify.notify(trade("opened", "A"));
    notify.notify(trade("closed", "A"));
    notify.notify(stalled("X"));
    notify.notify(trade("opened", "B"));
    notify.notify(trade("closed", "B"));
    notify.notify(failure("A", "ExchangeError"));
    await until(() => notify.stats()[0]!.nextAttemptAt === 30_000, "the first POST");
    expect(notify.stats()[0]).toMatchObject({ sent: 1, dropped: 3, queued: 2, nextAttemptAt: 30_000 });

    clock.flush(30_000);
    await until(() => hook.hits.length === 2, "the POST at 30 s");
    notify.notify(stalled("Y", 30_000));
    notify.notify(recovered("X", 30_000));
    notify.notify(trade("opened", "C", 30_000));
    notify.notify(trade("closed", "C", 30_000));
    await until(() => hook.hits.length === 4, "the stall notices at 30 s");
    for (let at = 60_000; at <= 150_000; at += 30_000) {
      clock.flush(at);
      await until(() => notify.stats()[0]!.queued === 0 || notify.stats()[0]!.nextAttemptAt! > at, `the POSTs at ${at}`);
    }
    await until(() => notify.stats()[0]!.queued === 0, "the last POST");
    // opened C shed for closed C (the queue holds error A and two); the stall notices' tokens
    // are owed (at most one burst deep): error A waits for two.
    expect(hook.hits.map((hit) => [hit.at, `${hit.body.kind} ${hit.body.pair}`, hit.body.dropped])).toEqual([
      [0, "stalled X:s", 3],
      [30_000, "closed B:s", undefined],
      [30_000, "stalled Y:s", 1],
      [30_000, "recovered X:s", undefined],
      [90_000, "error A:s", undefined],
      [120_000, "closed C:s", undefined],
    ]);
    expect(notify.stats()[0]).toMatchObject({ sent: 6, dropped: 4, queued: 0 });
    const label = { url: hook.url() };
    const metrics = parsePrometheusText(await registry.metrics());
    expect(sampleValue(metrics, "rxtrade_notify_dropped_total", label)).toBe(4);
    expect(sampleValue(metrics, "rxtrade_notify_sent_total", label)).toBe(6);
  });

  it("a full queue while the webhook is down: the least important shed (counted, one log line), repeated errors and stalls folded, no stall notice lost", async () => {
    const clock = new VirtualClock(0);
    const port = await refusedPort();
    const { lines, logger } = logLines();
    const notify = notifier(clock, { webhooks: [`http://127.0.0.1:${port}/hook`], maxQueue: 3, logger });
    notify.notify(trade("opened", "A"));
    await until(() => notify.stats()[0]!.failing, "the first failure");

    // opened A is being retried (not in the queue); three more may wait, and the stall notices.
    for (let i = 1; i <= 5; i++) notify.notify(failure("B", "ExchangeError", i * 1000));
    notify.notify(trade("opened", "C"));
    notify.notify(trade("closed", "C"));
    notify.notify(failure("B", "StoreWriteError"));
    notify.notify(trade("closed", "D"));
    notify.notify(stalled("S", 10_000));
    notify.notify(recovered("S", 20_000));
    notify.notify(stalled("S", 30_000));
    notify.notify(recovered("S", 40_000));
    notify.notify(stalled("T", 40_000));
    expect(notify.stats()[0]).toMatchObject({ queued: 1 + 3 + 3, dropped: 2 });

    const hook = await Hook.start({ port, clock });
    clock.flush(750);
    // A burst of 5 (two went to opened A's attempts), then one every 3 s; the stall notices never wait.
    for (let at = 3750; at <= 12_750; at += 3000) {
      await until(() => notify.stats()[0]!.queued === 0 || notify.stats()[0]!.nextAttemptAt !== undefined, `the POSTs before ${at}`);
      clock.flush(at);
    }
    await until(() => notify.stats()[0]!.queued === 0, "the deliveries");
    expect(hook.hits.map((hit) => [`${hit.body.kind} ${hit.body.pair}`, hit.body.error?.name, hit.body.repeated, hit.body.lastAt, hit.body.dropped])).toEqual([
      ["opened A:s", undefined, undefined, undefined, 2],
      // S stalled, recovered and stalled again while waiting: one stalled notice tells it (repeated 1), then its recovery.
      ["stalled S:s", undefined, 1, new Date(30_000).toISOString(), undefined],
      ["recovered S:s", undefined, undefined, undefined, undefined],
      ["stalled T:s", undefined, undefined, undefined, undefined],
      ["error B:s", "ExchangeError", 4, new Date(5_000).toISOString(), undefined],
      ["error B:s", "StoreWriteError", undefined, undefined, undefined],
      ["closed D:s", undefined, undefined, undefined, undefined],
    ]);
    expect(lines.map((line) => line.msg.split(":")[0])).toEqual(["webhook failing", "webhook queue full", "webhook answering again"]);
    expect(lines[2]).toMatchObject({ failedAttempts: 1, dropped: 0 });
  });

  it("two webhooks are independent: one down delays nothing of the other", async () => {
    const clock = new VirtualClock(0);
    const port = await refusedPort();
    const up = await Hook.start({ clock });
    const notify = notifier(clock, { webhooks: [`http://127.0.0.1:${port}/down`, up.url("/up")] });
    const events = [trade("opened", "A"), stalled("B"), trade("closed", "A"), failure("C", "ExchangeError"), recovered("B")];
    for (const event of events) notify.notify(event);

    // No virtual time passes: the down one's retries wait, the other's POSTs all went.
    await until(() => notify.stats()[1]!.sent === 5, "the webhook that is up");
    expect(up.kinds).toEqual(["stalled B:s", "recovered B:s", "opened A:s", "closed A:s", "error C:s"]);
    await until(() => notify.stats()[0]!.failing, "the down one's failure");
    expect(notify.stats().map(({ webhook, queued, sent, failing }) => ({ webhook, queued, sent, failing }))).toEqual([
      { webhook: `http://127.0.0.1:${port}/down`, queued: 5, sent: 0, failing: true },
      { webhook: up.url("/up"), queued: 0, sent: 5, failing: false },
    ]);
  });
});

describe("close", () => {
  it("sends what waits, then resolves; what cannot go within flushMs is dropped and said once", async () => {
    const clock = new VirtualClock(0);
    const hook = await Hook.start({ clock });
    const notify = notifier(clock, { webhooks: [hook.url()] });
    notify.notify(trade("opened", "A"));
    notify.notify(trade("closed", "A"));
    notify.notify(recovered("B"));
    expect(await notify.close()).toEqual([{ webhook: hook.url(), queued: 0, sent: 3, failed: 0, refused: 0, dropped: 0, failing: false }]);
    notify.notify(trade("opened", "late"));
    expect(hook.hits).toHaveLength(3);

    // A webhook that never answers: the flush ends at flushMs on the notifier's clock.
    const stuck = await Hook.start({ clock });
    stuck.answer = () => "hang";
    const { lines, logger } = logLines();
    const slow = notifier(clock, { webhooks: [stuck.url()], flushMs: 2_000, logger });
    slow.notify(trade("opened", "A"));
    slow.notify(stalled("B"));
    await until(() => stuck.hits.length === 1, "the POST in flight");
    let stats: unknown;
    void slow.close().then((result) => (stats = result));
    clock.flush(1_999);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(stats).toBeUndefined();
    clock.flush(2_000);
    await until(() => stats !== undefined, "the end of the flush");
    expect(stats).toEqual([{ webhook: stuck.url(), queued: 0, sent: 0, failed: 0, refused: 0, dropped: 2, failing: false }]);
    expect(lines).toEqual([expect.objectContaining({ level: "warn", unsent: 2, msg: "webhook: 2 notices not sent before the shutdown's flush ended" })]);
  });

  it("the end of the events it is attached to closes it", async () => {
    const { Subject } = await import("rxjs");
    const clock = new VirtualClock(0);
    const hook = await Hook.start({ clock });
    const events = new Subject<ServiceEvent>();
    const notify = notifier(clock, { webhooks: [hook.url()] }).attach(events);
    expect(() => notify.attach(events)).toThrow(ArgumentError);
    events.next(stalled("A"));
    events.next(recovered("A"));
    events.complete();
    expect(await notify.close()).toMatchObject([{ sent: 2, queued: 0 }]);
    expect(hook.kinds).toEqual(["stalled A:s", "recovered A:s"]);
  });
});

describe("URLs and options, checked up front", () => {
  it("refuses what is not an http or https URL, with the value (credentials and query hidden) and the fix", () => {
    const cases: Array<[unknown, string]> = [
      ["ftp://user:pw@files.example.com/hook?k=v", 'rxtrade: options.webhooks[0] "ftp://***@files.example.com/hook?***" is not an http:// or https:// URL (its scheme is ftp:): webhooks are posted over HTTP; e.g. https://hooks.example.com/rxtrade'],
      ["hooks.example.com/rxtrade", 'rxtrade: options.webhooks[0] "hooks.example.com/rxtrade" is not an absolute URL (scheme, host, path); did you mean https://hooks.example.com/rxtrade?'],
      ["localhost:8080/hook", 'rxtrade: options.webhooks[0] "localhost:8080/hook" is not an http:// or https:// URL (its scheme is localhost:): webhooks are posted over HTTP; did you mean http://localhost:8080/hook?'],
      ["", 'rxtrade: options.webhooks[0] must be a webhook\'s http:// or https:// URL, got ""; e.g. https://hooks.example.com/rxtrade'],
    ];
    for (const [url, message] of cases) {
      let thrown: unknown;
      try {
        webhookNotifier({ webhooks: [url as string] });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ArgumentRangeError);
      expect((thrown as Error).message).toBe(message);
    }
    expect(() => webhookNotifier({ webhooks: [] })).toThrow(ArgumentError);
    expect(() => webhookNotifier({ webhooks: ["https://a.example/x", { url: "https://a.example/x" }] })).toThrow(/options.webhooks\[1\] is "https:\/\/a.example\/x" again/);
    expect(() => webhookNotifier({ webhooks: ["https://a.example/x"], perMinute: 0 })).toThrow("rxtrade: options.perMinute must be a whole number from 1 to 100000, got 0; leave it out for 20");
    expect(() => webhookNotifier({ webhooks: [{ url: "https://a.example/x", kinds: ["opened", "tick" as "opened"] }] })).toThrow(/options.webhooks\[0\].kinds must be a non-empty list of event kinds/);
  });

  it("rxtrade run --notify: a wrong URL is exit 2 with the value and the fix, before the config is read", async () => {
    let stderr = "";
    const terminal = new Terminal({ write: () => true }, { write: (text: string) => ((stderr += text), true) });
    try {
      expect(await main(["run", "missing.json", "--notify", "https://hooks.example.com/a", "--notify", "ftp://hooks.example.com/b?secret=1"], terminal)).toBe(2);
      expect(stderr).toBe(
        [
          'rxtrade run: --notify "ftp://hooks.example.com/b?***" is not an http:// or https:// URL (its scheme is ftp:): webhooks are posted over HTTP; e.g. --notify https://hooks.example.com/rxtrade',
          "Run 'rxtrade run --help' for the flags.",
          "",
        ].join("\n"),
      );
      stderr = "";
      expect(await main(["run", "missing.json", "--notify"], terminal)).toBe(2);
      expect(stderr).toMatch(/^rxtrade run: --notify needs a value, e.g. --notify https:\/\/hooks.example.com\/rxtrade\n/);
    } finally {
      setLogger({ warn: () => {}, error: () => {} });
    }
  });
});

describe("rxtrade run --notify (a spawned CLI)", () => {
  let work: string | undefined;
  let cli: string[] | undefined;
  afterAll(async () => {
    if (work !== undefined) await rm(work, { recursive: true, force: true });
    if (cli !== undefined) await rm(dirname(cli[1] as string), { recursive: true, force: true });
  });

  it("posts a pair's trade to the webhook at --speed, counts it in /metrics, and the drain's last notice before it exits on SIGTERM", async () => {
    [cli, work] = await Promise.all([bundle("src/cli/index.ts"), mkdtemp(join(tmpdir(), "rxtrade-notify-"))]);
    // One long at the first ask, TP and SL 1 % away, 30 minutes at most: opened, closed, then nothing.
    await writeFile(
      join(work, "once.mjs"),
      `let asked = 0;
export const strategy = {
  strategyName: "once",
  interval: "1m",
  getSignal: (_symbol, _when, { currentPrice }) =>
    ++asked === 1 ? { position: "long", priceTakeProfit: currentPrice * 1.01, priceStopLoss: currentPrice * 0.99, minuteEstimatedTime: 30 } : null,
};
`,
    );
    await writeFile(join(work, "config.json"), JSON.stringify({ pairs: [{ symbol: "BTCUSDT", strategy: "./once.mjs", exchange: "bundled" }], store: "store" }));
    const hook = await Hook.start();
    const child = new Child(cli, ["run", "config.json", "--speed", "3000", "--from", "2023-03-08T12:00Z", "--http", "127.0.0.1:0", "--notify", hook.url("/hook?k=v")], { cwd: work });
    try {
      const [, port] = (await child.waitFor(/"port":(\d+)[^\n]*"msg":"listening"/)) as [string, string];
      await until(() => hook.kinds.includes("closed BTCUSDT:once"), "the closed notice", 20_000);
      expect(hook.kinds).toEqual(["opened BTCUSDT:once", "closed BTCUSDT:once"]);
      expect(hook.hits[1]!.body).toMatchObject({ pair: "BTCUSDT:once", symbol: "BTCUSDT", strategy: "once", position: "long", reason: expect.stringMatching(/^(take_profit|stop_loss|time_expired)$/), pnlPercent: expect.any(Number) });
      expect(hook.hits.every((hit) => hit.path === "/hook?k=v")).toBe(true);
      const metrics = parsePrometheusText(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
      expect(sampleValue(metrics, "rxtrade_notify_sent_total", { url: hook.url("/hook?***") })).toBe(2);
      child.kill("SIGTERM");
      const exit = await child.exited;
      expect(exit.code).toBe(0);
      expect(exit.stderr).toBe("");
      // The drain's last notice (done) was flushed before the process exited.
      expect(hook.kinds).toEqual(["opened BTCUSDT:once", "closed BTCUSDT:once", "done BTCUSDT:once"]);
      const logged = exit.stdout.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line) as Record<string, any>);
      const closedLine = logged.find((line) => line.msg === "closed")!;
      expect(hook.hits[1]!.body).toMatchObject({ signalId: closedLine.signalId, reason: closedLine.reason, priceClose: closedLine.priceClose });
      expect(logged.filter((line) => String(line.msg).startsWith("webhook"))).toEqual([]);
    } finally {
      child.kill("SIGKILL");
    }
  }, 40_000);
});
