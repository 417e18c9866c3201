// Acceptance 3: a live trader killed with SIGKILL at random moments, at least 30 times, never
// loses, duplicates or corrupts a signal. The harness (test/fixtures/crashHarness.ts) explains
// the invariants, including how a report lost to a kill between the store write and the log
// line is accounted for. bench/stores.mjs runs the same harness with >= 500 kills.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { BUNDLED_BTCUSDT_1M, csvCandles, fileStore } from "rxtrade/node";
import { prepareCrashChild, runCrashTest } from "./fixtures/crashHarness";

let work: string;
let child: string[];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "rxtrade-crash-test-"));
  child = await prepareCrashChild(work);
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

it("survives 30 SIGKILLs at random moments: the state file always parses, no signal is lost or duplicated", async () => {
  const candles = await csvCandles(BUNDLED_BTCUSDT_1M);
  const report = await runCrashTest({ kills: 30, child, candles, fileStore });
  console.log(JSON.stringify({ ...report, violations: report.violations.length }));
  expect(report.violations).toEqual([]);
  expect(report.kills).toBe(30);
  // The strategy opens whenever it may: the kills must have hit a trading process.
  expect(report.opened).toBeGreaterThan(30);
  expect(report.closed).toBe(report.opened);
}, 60_000);
