// The journal across SIGKILLs: a child running liveTrade$ with fileStore + fileJournal
// (test/fixtures/journalChild.ts) is killed at random moments and started again, then stopped
// gracefully. Afterwards the journal must hold every run's trades exactly once and in order:
// no duplicate, every trade the child reported, no phantom open position (a close lost to a
// kill between the store write and the journal append is said by the next start), and every
// run but the killed ones ended by a stop entry.
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { JournalEntry, JournalRun, JournalTrade } from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandles, fileJournal, fileStore, type JournalWarning } from "rxtrade/node";
import { bundleFixture } from "./fixtures/crashHarness";
import { Child } from "./fixtures/processHarness";

const SYMBOL = "BTCUSDT";
const STRATEGY = "journal-kill";
const KEY = `${SYMBOL}:${STRATEGY}`;
const TICK = 60_001;

let work: string;
let child: string[];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "rxtrade-journal-kill-"));
  child = await bundleFixture("journalChild", work);
}, 30_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Checks a key's journal; returns what it found. */
export function checkJournal(entries: readonly JournalEntry[], reported: ReadonlyArray<{ action: string; id: string }>) {
  const problems: string[] = [];
  const trades = entries.filter((e): e is JournalTrade => e.kind === "trade");
  const runs = entries.filter((e): e is JournalRun => e.kind === "run");
  // Exactly once: one entry per signal and action.
  const seen = new Set<string>();
  for (const t of trades) {
    const id = `${t.result.action} ${t.result.signal.id}`;
    if (seen.has(id)) problems.push(`${id} journaled twice`);
    seen.add(id);
  }
  // Everything the child reported was journaled (the append comes before the report).
  for (const r of reported) if (!seen.has(`${r.action} ${r.id}`)) problems.push(`${r.action} ${r.id} was reported but not journaled`);
  // In order: trade times never go back; each signal's actions in their order.
  for (let i = 1; i < trades.length; i++) {
    if ((trades[i] as JournalTrade).at < (trades[i - 1] as JournalTrade).at) problems.push(`trade ${i} at ${(trades[i] as JournalTrade).at} before trade ${i - 1}`);
  }
  const rank = { scheduled: 0, opened: 1, closed: 2, cancelled: 2 } as const;
  const last = new Map<string, number>();
  for (const t of trades) {
    const previous = last.get(t.result.signal.id);
    if (previous !== undefined && previous >= rank[t.result.action]) problems.push(`${t.result.action} ${t.result.signal.id} after a later state`);
    last.set(t.result.signal.id, rank[t.result.action]);
  }
  // No phantom position: a signal left held by the journal is closed, cancelled, or said ended by a later start.
  const ended = new Set(runs.flatMap((r) => (r.recovery?.endedSignal === undefined ? [] : [r.recovery.endedSignal.signalId])));
  for (const [id, state] of last) if (state < 2 && !ended.has(id)) problems.push(`${id} is left ${state === 0 ? "scheduled" : "open"} in the journal`);
  return { problems, trades, runs, ended };
}

it("a child killed with SIGKILL 8 times, then stopped: every run's trades exactly once, in order, no phantom position", async () => {
  const candles = await csvCandles(BUNDLED_BTCUSDT_1M);
  const dir = join(work, "store");
  const log = join(work, "events.log");
  let origin = (candles[0]?.timestamp as number) + 10 * 60_000;
  const kills = 8;
  for (let round = 0; round <= kills; round++) {
    const final = round === kills;
    const options = { dir, log, candles: BUNDLED_BTCUSDT_1M, origin, speed: 20_000, symbol: SYMBOL, strategyName: STRATEGY, mode: final ? "final" : "crash" };
    const process = new Child(child, [JSON.stringify(options)], { cwd: work });
    if (final) {
      const exit = await process.exited;
      expect(exit.code, exit.stderr).toBe(0);
    } else {
      await process.waitFor(/ready/, 15_000);
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 150));
      process.kill("SIGKILL");
      await process.exited;
    }
    // The next run starts after the last tick this one announced (a tick whose announcement the
    // kill cut off is at most one period later).
    const ticks = readFileSync(log, "utf8").match(/^tick [\d.]+$/gm) ?? [];
    origin = Number(ticks.at(-1)?.slice(5) ?? origin) + 2 * TICK;
  }

  const lines = readFileSync(log, "utf8").trim().split("\n");
  expect(lines.filter((line) => line.startsWith("error "))).toEqual([]);
  expect(lines.at(-1)).toBe("done");
  const reported = lines.filter((line) => /^(opened|closed) /.test(line)).map((line) => ({ action: line.split(" ")[0] as string, id: line.split(" ")[1] as string }));
  expect(reported.length).toBeGreaterThan(kills);

  const warnings: JournalWarning[] = [];
  const entries: JournalEntry[] = [];
  for await (const entry of fileJournal(dir, { onWarning: (w) => warnings.push(w) }).read(KEY)) entries.push(entry);
  // A kill mid-append tears at most the line it cut: each such line is skipped, counted, and reconciled.
  expect(warnings.every((w) => w.reason === "torn" || w.reason === "unparsable")).toBe(true);
  const { problems, trades, runs } = checkJournal(entries, reported);
  expect(problems).toEqual([]);
  // One start per run; a stop only for the last (the others were killed).
  expect(runs.filter((r) => r.event === "start")).toHaveLength(kills + 1);
  expect(runs.filter((r) => r.event === "stop").map((r) => r.reason)).toEqual(["stopped"]);
  expect(runs.at(-1)).toMatchObject({ event: "stop", reason: "stopped" });
  expect(runs.slice(1).filter((r) => r.event === "start").every((r) => r.recovery?.unfinishedRun === true)).toBe(true);
  // The store is empty after the graceful stop, as the journal says: the last trade closed or cancelled it.
  expect(await fileStore(dir).read(KEY)).toBeNull();
  expect(["closed", "cancelled"]).toContain(trades.at(-1)?.result.action);
  console.log(
    `journal after ${kills} SIGKILLs: ${trades.length} trades (${trades.filter((t) => t.recovered).length} recovered from the store), ` +
      `${runs.filter((r) => r.recovery?.endedSignal !== undefined).length} ends said by a restart, ${warnings.length} skipped line(s)`,
  );
}, 90_000);
