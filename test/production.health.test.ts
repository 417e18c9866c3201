// examples/production.ts's /health, in process: a pair whose loop failed makes it 503, naming
// the pair, and HEAD answers like GET (same status and headers, no body) — load balancers and
// probes send HEAD. One pair runs on a quiet stub exchange; the other finds its key locked and
// ends at once; the drain ends the other, and the service's end says one failed.
import { expect, it } from "vitest";
import { type ExchangeSchema, type LockRelease, memoryStore, type StrategySchema } from "rxtrade";
import { serviceLogger } from "rxtrade/service";
import { main } from "../examples/production";

const MINUTE = 60_000;

// Flat one-minute candles up to now: the strategy below never signals, so a drain ends at once.
const flat: ExchangeSchema = {
  exchangeName: "flat",
  getCandles(_symbol, _interval, since, limit) {
    const candles = [];
    for (let open = Math.ceil(since.getTime() / MINUTE) * MINUTE; open + MINUTE <= Date.now() && candles.length < limit; open += MINUTE) {
      candles.push({ timestamp: open, open: 100, high: 100, low: 100, close: 100, volume: 1 });
    }
    return candles;
  },
};
const quiet: StrategySchema = { strategyName: "quiet", interval: "1m", getSignal: () => null };

it("/health is 503 naming a pair whose loop failed, and HEAD /health answers like GET without a body", async () => {
  const store = memoryStore();
  // Another holder of LOCKED:quiet: that pair's loop ends with StoreLockedError.
  const release = (await store.lock!("LOCKED:quiet")) as LockRelease; // memoryStore: a plain release
  const log: Array<Record<string, unknown>> = [];
  const service = await main({
    pairs: [
      { symbol: "OK", strategy: quiet, exchange: flat },
      { symbol: "LOCKED", strategy: quiet, exchange: flat },
    ],
    store,
    port: 0,
    logger: serviceLogger({ destination: { write: (line: string) => log.push(JSON.parse(line) as Record<string, unknown>) } }),
  });
  try {
    const url = `${service.url}/health`;
    const get = await fetch(url);
    expect(get.status).toBe(503);
    expect(await get.json()).toEqual({
      status: "unhealthy",
      draining: false,
      pairs: 2,
      stalled: [],
      failed: [{ id: "LOCKED:quiet", kind: "StoreLockedError", message: expect.stringContaining("LOCKED:quiet") }],
    });
    expect(service.list().map((pair) => [pair.id, pair.status])).toEqual([
      ["OK:quiet", "running"],
      ["LOCKED:quiet", "failed"],
    ]);

    const head = await fetch(url, { method: "HEAD" });
    expect(head.status).toBe(503);
    expect(head.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(head.headers.get("content-length")).toBe(get.headers.get("content-length"));
    expect(Number(head.headers.get("content-length"))).toBeGreaterThan(100);
    expect(await head.text()).toBe("");

    // Other methods on it are refused with the ones allowed; unknown paths are 404.
    const post = await fetch(url, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    expect((await fetch(`${service.url}/status`, { method: "HEAD" })).status).toBe(404);
  } finally {
    service.drainAll("test over");
    release();
  }
  expect(await service.done).toEqual({ code: 1, failed: ["LOCKED:quiet"] });
  expect(log.filter((entry) => entry.msg === "failed")).toEqual([expect.objectContaining({ level: "error", pair: "LOCKED:quiet", kind: "StoreLockedError" })]);
  expect(log.at(-1)).toMatchObject({ msg: "stopped", code: 1 });
});
