// Issue 13 review, fix 6: the service's HTTP server answers only requests whose Host header
// names it (the bound address, the loopback names, http.allowedHosts): a page of another site
// that a DNS rebinding points at 127.0.0.1 can no longer read /api/*; /api/events takes at most
// http.maxEventClients clients (default 100), one more is answered 503.
import { request as httpRequest, type IncomingMessage } from "node:http";
import { afterEach, expect, it } from "vitest";
import { memoryStore, type StrategySchema } from "rxtrade";
import { type Service, type ServiceHttpOptions, startService } from "rxtrade/service";
import { candlesFromPrices, VirtualClock } from "rxtrade/testing";
import { replayExchange } from "rxtrade";

const quiet: StrategySchema = { strategyName: "quiet", interval: "1m", getSignal: () => null };
let service: Service | undefined;
let clock: VirtualClock | undefined;
const open: IncomingMessage[] = [];
afterEach(async () => {
  for (const response of open.splice(0)) response.destroy();
  service?.drainAll("test over");
  await clock?.flushAsync(10_000_000);
  await service?.done;
  service = undefined;
});

async function start(http: Partial<ServiceHttpOptions> = {}): Promise<{ port: number }> {
  clock = new VirtualClock(600_000, { callGraceMs: 20 });
  const exchange = replayExchange(candlesFromPrices(Array.from({ length: 100 }, () => 100)), clock);
  service = await startService({ pairs: [{ symbol: "A", strategy: quiet, exchange }], store: memoryStore(), scheduler: clock, logger: false, defaultMetrics: false, http: { host: "127.0.0.1", port: 0, ...http } });
  return { port: Number(new URL(service.url as string).port) };
}

function get(port: number, path: string, host: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: "127.0.0.1", port, path, headers: { host } }, resolve);
    request.on("error", reject);
    request.end();
  });
}

const text = async (response: IncomingMessage): Promise<string> => {
  let body = "";
  for await (const chunk of response) body += chunk;
  return body;
};

it("a request naming another host (DNS rebinding) is refused with 403; the bound address, localhost and allowedHosts are answered", async () => {
  const { port } = await start({ allowedHosts: ["rxtrade.internal"] });
  const refused = await get(port, "/api/pairs", `evil.example.com:${port}`);
  expect(refused.statusCode).toBe(403);
  expect(JSON.parse(await text(refused))).toEqual({ error: expect.stringContaining(`Host "evil.example.com:${port}" is not a name of this server`) });
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`, "rxtrade.internal", `rxtrade.internal:${port}`]) {
    const answered = await get(port, "/api/pairs", host);
    expect([host, answered.statusCode]).toEqual([host, 200]);
    await text(answered);
  }
});

it("/api/events takes maxEventClients clients; one more is answered 503, and a place is free again once one leaves", async () => {
  const { port } = await start({ maxEventClients: 2 });
  const host = `127.0.0.1:${port}`;
  for (let i = 0; i < 2; i++) {
    const client = await get(port, "/api/events", host);
    expect(client.statusCode).toBe(200);
    open.push(client);
  }
  const third = await get(port, "/api/events", host);
  expect(third.statusCode).toBe(503);
  expect(JSON.parse(await text(third))).toEqual({ error: "too many event clients: 2 are connected (http.maxEventClients); try again later" });
  open.shift()?.destroy();
  let again: IncomingMessage | undefined;
  for (let tries = 0; tries < 50 && again?.statusCode !== 200; tries++) {
    if (again !== undefined) await text(again);
    await new Promise((resolve) => setTimeout(resolve, 10));
    again = await get(port, "/api/events", host);
  }
  expect(again?.statusCode).toBe(200);
  if (again !== undefined) open.push(again);
});

it("rxtrade run --allow-host: needs --http, and takes a name without a port (exit 2)", async () => {
  const { main } = await import("../src/cli/main");
  const { Terminal } = await import("../src/cli/terminal");
  const { setLogger } = await import("rxtrade");
  let stderr = "";
  const terminal = new Terminal({ write: () => true }, { write: (chunk: string) => ((stderr += chunk), true) });
  try {
    expect(await main(["run", "missing.json", "--allow-host", "rxtrade.internal"], terminal)).toBe(2);
    expect(stderr.split("\n")[0]).toBe("rxtrade run: --allow-host names a Host the HTTP server answers: give --http too, e.g. --http 127.0.0.1:9464");
    stderr = "";
    expect(await main(["run", "missing.json", "--http", "127.0.0.1:0", "--allow-host", "rxtrade.internal:80"], terminal)).toBe(2);
    expect(stderr.split("\n")[0]).toBe('rxtrade run: --allow-host must be a host name or address without a port, got "rxtrade.internal:80"; e.g. --allow-host rxtrade.example.com');
  } finally {
    setLogger({ warn: () => {}, error: () => {} });
  }
});
