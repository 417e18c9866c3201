// examples/production.ts's /health, in process: a pair that is not "running" makes it 503, and
// HEAD answers like GET (same status and headers, no body) — load balancers and probes send HEAD.
// One pair runs on a quiet stub exchange; the other finds its key locked and ends at once.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { type ExchangeSchema, type LockRelease, memoryStore, type StrategySchema } from "rxtrade";
import { main } from "../examples/production";

const MINUTE = 60_000;
let work: string | undefined;

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

// Flat one-minute candles up to now: the strategy below never signals, so a stop ends at once.
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

it("/health is 503 once a pair is not running, and HEAD /health answers like GET without a body", async () => {
  work = await mkdtemp(join(tmpdir(), "rxtrade-health-"));
  const store = memoryStore();
  // Another holder of LOCKED:quiet: that pair's loop ends with StoreLockedError (exit$).
  const release = (await store.lock!("LOCKED:quiet")) as LockRelease; // memoryStore: a plain release
  let pairFailed!: () => void;
  const failed = new Promise<void>((resolve) => (pairFailed = resolve));
  const log: Array<Record<string, unknown>> = [];
  const production = await main({
    exchange: flat,
    pairs: [
      { symbol: "OK", strategy: quiet },
      { symbol: "LOCKED", strategy: quiet },
    ],
    store,
    port: 0,
    reportDir: join(work, "reports"),
    log: (entry) => {
      log.push(entry);
      if (entry.msg === "pair failed") pairFailed();
    },
  });
  try {
    await failed;
    const url = `http://127.0.0.1:${production.port}/health`;
    const get = await fetch(url);
    expect(get.status).toBe(503);
    expect(await get.json()).toEqual([
      { id: "OK:quiet", symbol: "OK", strategyName: "quiet", status: "running" },
      { id: "LOCKED:quiet", symbol: "LOCKED", strategyName: "quiet", status: "done" },
    ]);

    const head = await fetch(url, { method: "HEAD" });
    expect(head.status).toBe(503);
    expect(head.headers.get("content-type")).toBe("application/json");
    expect(head.headers.get("content-length")).toBe(get.headers.get("content-length"));
    expect(Number(head.headers.get("content-length"))).toBeGreaterThan(100);
    expect(await head.text()).toBe("");

    // Only /health is served; other methods on it are refused with the ones allowed.
    const post = await fetch(url, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    expect((await fetch(`http://127.0.0.1:${production.port}/metrics`, { method: "HEAD" })).status).toBe(404);
  } finally {
    production.stop("test over");
    release();
  }
  expect(await production.done).toBe(1); // one pair failed
  expect(log.filter((entry) => entry.msg === "pair failed")).toEqual([expect.objectContaining({ level: "error", name: "StoreLockedError" })]);
});
