// examples/production.ts in CI: the process as users deploy it, on the replay exchange and an
// accelerated clock (RXTRADE_EXCHANGE=replay) instead of binance. It must answer GET /health
// (and HEAD /health) with Live.list() as JSON, log trades as JSON lines, and on SIGTERM stop
// every pair gracefully and exit 0 once all are done, with their reports written.
import { existsSync } from "node:fs";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { bundle, Child } from "./fixtures/processHarness";

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

it("answers /health with every pair running, then stops all of them gracefully on SIGTERM and exits 0", async () => {
  const child = new Child(production, [], {
    cwd: work,
    env: { RXTRADE_EXCHANGE: "replay", RXTRADE_SPEED: "600", PORT: "0", HOST: "127.0.0.1", RXTRADE_STORE: "store" },
  });
  const [, port] = (await child.waitFor(/"msg":"listening".*"port":(\d+)/)) as [string, string];
  await child.waitFor(/"msg":"opened"/); // trading, on the replay clock

  const health = await fetch(`http://127.0.0.1:${port}/health`);
  expect(health.status).toBe(200);
  expect(health.headers.get("content-type")).toBe("application/json");
  const list = (await health.json()) as Array<{ id: string; status: string }>;
  expect(list.map((pair) => pair.id).sort()).toEqual([...PAIRS].sort());
  expect(list.every((pair) => pair.status === "running")).toBe(true);
  // HEAD answers like GET: the same status and headers, no body.
  const head = await fetch(`http://127.0.0.1:${port}/health`, { method: "HEAD" });
  expect(head.status).toBe(200);
  expect(head.headers.get("content-type")).toBe("application/json");
  expect(head.headers.get("content-length")).toBe(health.headers.get("content-length"));
  expect(await head.text()).toBe("");
  expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);

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
  // After the stop: no new signal (a limit entry placed before it may still be entered), one
  // done per pair, then the end.
  const scheduledBefore = new Set(entries.slice(0, stopping).filter((entry) => entry.msg === "scheduled").map((entry) => entry.signal));
  // A "scheduled" or "opened" after the stop is a limit entry placed before it, or a signal whose
  // tick began before it (its store write was still in flight): then it is that pair's first
  // result after the stop.
  for (const entry of after.filter((entry) => entry.msg === "opened" || entry.msg === "scheduled")) {
    if (scheduledBefore.has(entry.signal)) continue;
    const pairResults = after.filter((e) => e.symbol === entry.symbol && e.strategy === entry.strategy && e.signal !== undefined);
    expect(pairResults[0]).toBe(entry);
  }
  expect(after.filter((entry) => entry.msg === "done").map((entry) => `${entry.symbol}:${entry.strategy}`).sort()).toEqual([...PAIRS].sort());
  expect(entries.at(-1)).toMatchObject({ msg: "stopped", failed: 0 });
  expect(entries.filter((entry) => entry.level === "error")).toEqual([]);
  // Every position opened was closed (or, for a limit entry never reached, cancelled).
  const opened = entries.filter((entry) => entry.msg === "opened").map((entry) => entry.signal);
  const closed = entries.filter((entry) => entry.msg === "closed").map((entry) => entry.signal);
  expect(opened.length).toBeGreaterThan(0);
  expect(closed.sort()).toEqual(opened.sort());

  for (const report of ["BTCUSDT_ma-cross.md", "ETHUSDT_ma-cross.md", "BTCUSDT_breakout.md"]) {
    expect(existsSync(join(work, "dump/live", report))).toBe(true);
  }
});

it("starts when run through a symlink (a `current -> releases/N` deployment) instead of exiting 0 silently", async () => {
  const link = join(work, "production-link.mjs");
  await symlink(production[1] as string, link);
  const child = new Child([production[0] as string, link], [], {
    cwd: work,
    env: { RXTRADE_EXCHANGE: "replay", RXTRADE_SPEED: "60", PORT: "0", HOST: "127.0.0.1", RXTRADE_STORE: "store-link", RXTRADE_REPORTS: "reports-link" },
  });
  const [, port] = (await child.waitFor(/"msg":"listening".*"port":(\d+)/)) as [string, string];
  expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
  child.kill("SIGTERM");
  const exit = await child.exited;
  expect(exit.stderr).toBe("");
  expect(exit.code).toBe(0);
  expect(exit.stdout).toMatch(/"msg":"stopped","failed":0\}\n$/);
});
