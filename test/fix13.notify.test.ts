// Issue 13 review, fix 2: the webhook rate cap is a token bucket (a burst of perMinute / 4,
// then one POST every 60 / perMinute s), not a fixed window (20 at once, then nothing for
// ~58 s); stalled and recovered notices go first and never wait for the cap; at shutdown the
// flush tries what waits within its budget (the stall notices at once, past the cap) rather
// than giving up at once because the next ordinary POST's cap wait ends after the flush.
// The notifier's clock is a VirtualClock; the webhook is a real loopback server.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, expect, it } from "vitest";
import type { TickResult } from "rxtrade";
import { type ServiceEvent, type WebhookNotifier, webhookNotifier } from "rxtrade/service";
import { VirtualClock } from "rxtrade/testing";

interface Hit {
  kind: string;
  pair: string;
  at: number;
}

const servers: Server[] = [];
const notifiers: WebhookNotifier[] = [];
afterEach(async () => {
  await Promise.all(notifiers.splice(0).map((notifier) => Promise.race([notifier.close(), new Promise((resolve) => setTimeout(resolve, 50))])));
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

async function hook(clock: VirtualClock): Promise<{ url: string; hits: Hit[] }> {
  const hits: Hit[] = [];
  const server = createServer((request, response) => {
    let text = "";
    request.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
    request.on("end", () => {
      const body = JSON.parse(text) as { kind: string; pair: string };
      hits.push({ kind: body.kind, pair: body.pair, at: clock.now() });
      response.end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, hits };
}

async function until(done: () => boolean, what: string, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function notifier(clock: VirtualClock, url: string, extra: { flushMs?: number } = {}): WebhookNotifier {
  const made = webhookNotifier({ webhooks: [url], scheduler: clock, random: () => 0.5, logger: false, perMinute: 20, maxQueue: 1000, ...extra });
  notifiers.push(made);
  return made;
}

const fields = (symbol: string) => ({ pair: `${symbol}:s`, symbol, strategy: "s" });
function closed(symbol: string, at = 0): ServiceEvent {
  const signal = { id: `sig-${symbol}`, position: "long", priceOpen: 100, priceTakeProfit: 101, priceStopLoss: 99, minuteEstimatedTime: 60, scheduledAt: at, pendingAt: at, note: "" };
  const result = { action: "closed", timestamp: at, currentPrice: 100, signal, closeReason: "take_profit", pnl: { pnlPercentage: 0.6, priceOpen: 100, priceClose: 101 } };
  return { kind: "closed", at, ...fields(symbol), result: result as unknown as TickResult };
}
const stalled = (symbol: string, at = 0): ServiceEvent => ({ kind: "stalled", at, ...fields(symbol), lastTickAt: at - 3000, stallLimitMs: 3000, message: "no completed tick" });
const recovered = (symbol: string, at = 0): ServiceEvent => ({ kind: "recovered", at, ...fields(symbol) });

it("perMinute 20 is a burst of 5, then one POST every 3 s (not 20 at once, then nothing for a minute)", async () => {
  const clock = new VirtualClock(0);
  const { url, hits } = await hook(clock);
  const notify = notifier(clock, url);
  for (let i = 0; i < 12; i++) notify.notify(closed(`T${i}`));
  await until(() => hits.length === 5 && notify.stats()[0]!.nextAttemptAt !== undefined, "the burst");
  expect(hits.map((hit) => hit.at)).toEqual([0, 0, 0, 0, 0]);
  expect(notify.stats()[0]!.nextAttemptAt).toBe(3000);
  for (let at = 3000; at <= 21_000; at += 3000) {
    clock.flush(at);
    await until(() => hits.length === 5 + at / 3000, `the POST at ${at}`);
  }
  expect(hits.map((hit) => hit.at)).toEqual([0, 0, 0, 0, 0, 3000, 6000, 9000, 12_000, 15_000, 18_000, 21_000]);
  expect(hits.map((hit) => hit.pair)).toEqual(Array.from({ length: 12 }, (_, i) => `T${i}:s`));
});

it("stalled and recovered notices go at once, ahead of the trade notices waiting for the cap", async () => {
  const clock = new VirtualClock(0);
  const { url, hits } = await hook(clock);
  const notify = notifier(clock, url);
  for (let i = 0; i < 30; i++) notify.notify(closed(`T${i}`));
  await until(() => hits.length === 5 && notify.stats()[0]!.nextAttemptAt !== undefined, "the burst");
  clock.flush(1000);
  notify.notify(stalled("S", 1000));
  await until(() => hits.length === 6, "the stalled notice");
  clock.flush(2000);
  notify.notify(recovered("S", 2000));
  await until(() => hits.length === 7, "the recovered notice");
  expect(hits.slice(5)).toEqual([
    { kind: "stalled", pair: "S:s", at: 1000 },
    { kind: "recovered", pair: "S:s", at: 2000 },
  ]);
  // The trade notices go on, later (the stall notices' tokens are owed).
  clock.flush(60_000);
  await until(() => hits.length > 7, "the next trade notice");
  expect(hits[7]).toMatchObject({ kind: "closed", pair: "T5:s" });
});

it("at shutdown, the stall notices waiting behind the cap are sent within the flush, the rest dropped once the flush ends", async () => {
  const clock = new VirtualClock(0);
  const { url, hits } = await hook(clock);
  const notify = notifier(clock, url, { flushMs: 3000 });
  // The cap is spent; then trade notices and, behind them in time, stall notices wait.
  for (let i = 0; i < 40; i++) notify.notify(closed(`T${i}`));
  await until(() => hits.length === 5 && notify.stats()[0]!.nextAttemptAt !== undefined, "the burst");
  let stats: Awaited<ReturnType<WebhookNotifier["close"]>> | undefined;
  void notify.close().then((result) => (stats = result));
  // The stall notices come in during the flush (a drain's last events).
  notify.notify(stalled("S"));
  notify.notify(stalled("U"));
  await until(() => hits.length === 7, "the stall notices during the flush");
  expect(hits.slice(5).map((hit) => `${hit.kind} ${hit.pair} ${hit.at}`)).toEqual(["stalled S:s 0", "stalled U:s 0"]);
  // Then nothing else can go within the 3 s (the next trade notice's token is 6 s away: the stall
  // notices' debt): the flush ends without waiting for its end, the rest counted as dropped.
  await until(() => stats !== undefined, "the end of the flush");
  expect(clock.now()).toBe(0);
  expect(stats).toEqual([{ webhook: url, queued: 0, sent: 7, failed: 0, refused: 0, dropped: 35, failing: false }]);
});
