// The journal across SIGKILLs: a child running liveTrade$ with fileStore + fileJournal
// (test/fixtures/journalChild.ts) is killed at random moments and started again, then stopped
// gracefully. Afterwards the journal must hold every run's trades exactly once and in order:
// no duplicate, every trade the child reported, no phantom open position (a close lost to a
// kill between the store write and the journal append is said by the next start), and every
// run but the killed ones ended by a stop entry.
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { JournalEntry } from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandles, fileJournal, fileStore, type JournalWarning } from "rxtrade/node";
import { bundleFixture, candleWindowCsv } from "./fixtures/crashHarness";
import { checkJournal } from "./fixtures/journalCheck";
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

it("a child killed with SIGKILL 8 times, then stopped: every run's trades exactly once, in order, no phantom position", async () => {
  const candles = await csvCandles(BUNDLED_BTCUSDT_1M);
  const dir = join(work, "store");
  const log = join(work, "events.log");
  let origin = (candles[0]?.timestamp as number) + 10 * 60_000;
  const kills = 8;
  for (let round = 0; round <= kills; round++) {
    const final = round === kills;
    // Its candles: 4 days from its origin (17 s of ticks at --speed 20 000, past the 15 s it may
    // take to be ready), parsed in milliseconds where the bundled 20 days cost ~0.2 s of CPU a start.
    const window = join(work, `candles-${round}.csv`);
    writeFileSync(window, candleWindowCsv(candles, origin - 10 * 60_000, origin + 4 * 1440 * 60_000));
    const options = { dir, log, candles: window, origin, speed: 20_000, symbol: SYMBOL, strategyName: STRATEGY, mode: final ? "final" : "crash" };
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
  // …unless a kill fell between the last close's store write and its journal append: then a
  // later start says so (recovery.endedSignal names that signal), and there is no phantom either.
  const last = trades.at(-1);
  const lastAt = last === undefined ? -1 : entries.lastIndexOf(last);
  const endedLater = entries
    .slice(lastAt + 1)
    .some((e) => e.kind === "run" && e.event === "start" && e.recovery?.endedSignal?.signalId === last?.result.signal.id);
  if (!endedLater) expect(["closed", "cancelled"]).toContain(last?.result.action);
  console.log(
    `journal after ${kills} SIGKILLs: ${trades.length} trades (${trades.filter((t) => t.recovered).length} recovered from the store), ` +
      `${runs.filter((r) => r.recovery?.endedSignal !== undefined).length} ends said by a restart, ${warnings.length} skipped line(s)`,
  );
}, 90_000);
