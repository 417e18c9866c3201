// examples/production.ts in CI: the process as users deploy it, offline (RXTRADE_EXCHANGE=bundled:
// the bundled minutes on paced clocks) instead of binance. It must log JSON lines, answer
// GET /health, /metrics and /api/pairs (HEAD like GET), and on SIGTERM drain every pair and exit
// 0 once all are done, every position it opened closed.
import { readdir } from "node:fs/promises";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { bundle, Child } from "./fixtures/processHarness";
import { parsePrometheusText, sampleValue } from "./fixtures/prometheusText";

let production: string[];
let work: string;

beforeAll(async () => {
  [production, work] = await Promise.all([bundle("examples/production.ts"), mkdtemp(join(tmpdir(), "rxtrade-production-test-"))]);
}, 30_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
  if (production !== undefined) await rm(dirname(production[1] as string), { recursive: true, force: true });
});

const PAIRS = ["BTCUSDT:ma-cross", "ETHUSDT:ma-cross", "BTCUSDT:breakout"];
const LISTENING = /"port":(\d+)[^\n]*"msg":"listening"/;

it("serves /health, /metrics and /api/pairs while trading, then drains every pair on SIGTERM and exits 0", async () => {
  const child = new Child(production, [], {
    cwd: work,
    env: { RXTRADE_EXCHANGE: "bundled", RXTRADE_SPEED: "600", PORT: "0", HOST: "127.0.0.1", RXTRADE_STORE: "store" },
  });
  const [, port] = (await child.waitFor(LISTENING)) as [string, string];
  await child.waitFor(/"msg":"opened"/, 15_000); // trading, on the paced clocks
  const url = `http://127.0.0.1:${port}`;

  const health = await fetch(`${url}/health`);
  expect(health.status).toBe(200);
  expect(health.headers.get("content-type")).toBe("application/json; charset=utf-8");
  expect(await health.json()).toEqual({ status: "ok", draining: false, pairs: 3, stalled: [], failed: [] });
  // HEAD answers like GET: the same status and headers, no body.
  const head = await fetch(`${url}/health`, { method: "HEAD" });
  expect(head.status).toBe(200);
  expect(head.headers.get("content-length")).toBe(health.headers.get("content-length"));
  expect(await head.text()).toBe("");

  const pairs = (await (await fetch(`${url}/api/pairs`)).json()) as Array<{ id: string; status: string }>;
  expect(pairs.map((pair) => pair.id)).toEqual(PAIRS);
  const metrics = parsePrometheusText(await (await fetch(`${url}/metrics`)).text());
  for (const id of PAIRS) {
    const [symbol, strategy] = id.split(":") as [string, string];
    expect(sampleValue(metrics, "rxtrade_ticks_total", { symbol, strategy })).toBeGreaterThan(0);
  }

  child.kill("SIGTERM");
  const exit = await child.exited;
  expect(exit.stderr).toBe("");
  expect(exit.code).toBe(0);

  const entries = exit.stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const stopping = entries.findIndex((entry) => entry.msg === "stopping");
  expect(entries[stopping]).toMatchObject({ level: "info", reason: "SIGTERM" });
  const after = entries.slice(stopping);
  expect(after.filter((entry) => entry.msg === "done").map((entry) => entry.pair).sort()).toEqual([...PAIRS].sort());
  expect(entries.at(-1)).toMatchObject({ msg: "stopped", code: 0, failed: [] });
  expect(entries.filter((entry) => entry.level === "error")).toEqual([]);
  // No new signal after a pair's drain: a limit entry placed before it may still be entered, and
  // a signal whose tick began before it (its store write in flight) is that pair's first result after.
  for (const id of PAIRS) {
    const draining = entries.findIndex((entry) => entry.pair === id && entry.msg === "draining");
    const scheduledBefore = new Set(entries.slice(0, draining).filter((entry) => entry.pair === id && entry.msg === "scheduled").map((entry) => entry.signalId));
    const results = entries.slice(draining).filter((entry) => entry.pair === id && entry.signalId !== undefined);
    for (const entry of results.filter((e) => (e.msg === "opened" || e.msg === "scheduled") && !scheduledBefore.has(e.signalId))) {
      expect(results[0]).toBe(entry);
    }
  }
  // Every position opened was closed (or, for a limit entry never reached, cancelled).
  const opened = entries.filter((entry) => entry.msg === "opened").map((entry) => entry.signalId);
  const closed = entries.filter((entry) => entry.msg === "closed").map((entry) => entry.signalId);
  expect(opened.length).toBeGreaterThan(0);
  expect(closed.sort()).toEqual(opened.sort());
  // The trades are journaled beside the store.
  expect((await readdir(join(work, "store", "journal"))).length).toBe(3);
}, 30_000);

it("starts when run through a symlink (a `current -> releases/N` deployment) instead of exiting 0 silently", async () => {
  const link = join(work, "production-link.mjs");
  await symlink(production[1] as string, link);
  const child = new Child([production[0] as string, link], [], {
    cwd: work,
    env: { RXTRADE_EXCHANGE: "bundled", RXTRADE_SPEED: "60", PORT: "0", HOST: "127.0.0.1", RXTRADE_STORE: "store-link" },
  });
  const [, port] = (await child.waitFor(LISTENING)) as [string, string];
  expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
  child.kill("SIGTERM");
  const exit = await child.exited;
  expect(exit.stderr).toBe("");
  expect(exit.code).toBe(0);
  expect(exit.stdout).toMatch(/"code":0,"failed":\[\],"msg":"stopped"\}\n$/);
});
