// Issue 13 review, fix 7: with many pairs, /health took seconds to answer at the start: the
// pairs' loops were all started in one synchronous run (store locks and reads, contexts), and
// the HTTP server answered nothing meanwhile. They start in batches now, the server answering
// between them: 503 {"status":"starting"} at once, then 200 once every pair has started.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import type { Candle } from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandles, fileJournal, fileStore } from "rxtrade/node";
import { bundledExchange, pacedScheduler, type PacedScheduler, startService } from "rxtrade/service";
import { EXAMPLE_STRATEGIES } from "../src/cli/strategies";

const PAIRS = 500;
let dir: string | undefined;
afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

it(`with ${PAIRS} pairs on a file store, /health answers within a second of the start ("starting"), then 200`, async () => {
  const candles = (await csvCandles(BUNDLED_BTCUSDT_1M)) as Candle[];
  dir = await mkdtemp(join(tmpdir(), "rxtrade-fix13-startup-"));
  const store = fileStore(dir);
  const clocks: PacedScheduler[] = [];
  const pairs = Array.from({ length: PAIRS }, (_, i) => {
    const clock = pacedScheduler({ origin: Date.parse("2023-03-08T12:00Z"), speed: 3600 });
    clocks.push(clock);
    return { symbol: `S${i}`, strategy: EXAMPLE_STRATEGIES.momentum!.create(), exchange: bundledExchange(candles, clock), scheduler: clock };
  });
  const start = performance.now();
  const service = await startService({ pairs, store, journal: fileJournal(store), journalLevel: "trades", logger: false, defaultMetrics: false, http: { host: "127.0.0.1", port: 0 } });
  try {
    const first = await fetch(`${service.url}/health`);
    const answeredIn = performance.now() - start;
    const body = (await first.json()) as { status: string; pairs: number; started?: number };
    expect(answeredIn).toBeLessThan(1500);
    expect(first.status).toBe(503);
    expect(body).toMatchObject({ status: "starting", pairs: PAIRS });
    expect(body.started).toBeLessThan(PAIRS);
    let health: Response | undefined;
    const deadline = Date.now() + 60_000;
    do {
      await new Promise((resolve) => setTimeout(resolve, 100));
      health = await fetch(`${service.url}/health`);
    } while (health.status !== 200 && Date.now() < deadline);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "ok", pairs: PAIRS, stalled: [], failed: [] });
  } finally {
    service.drainAll("test over");
    await service.done;
    for (const clock of clocks) clock.stop();
  }
}, 90_000);
