// The journal across real SIGKILLs aimed at the window between a store write and the journal's
// trade entry (issue 11 review, hole 1): a child on fileStore + fileJournal at level full
// (test/fixtures/journalDurabilityChild.ts) holds that window open for 150 real ms after each
// store write and announces it; every other round is killed right after an announcement, the
// others at a random moment; then a last run stops gracefully. Afterwards every store change any
// run announced is in the journal, once, with its full result; no signal ended unrecorded;
// nothing was rebuilt from the store with a lost price.
import { readFileSync, writeFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { JournalEntry, JournalRun, JournalTrade } from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandles, fileJournal, fileStore } from "rxtrade/node";
import { bundleFixture } from "./fixtures/crashHarness";
import { checkJournal } from "./fixtures/journalCheck";
import { Child } from "./fixtures/processHarness";

const SYMBOL = "BTCUSDT";
const STRATEGY = "journal-durability";
const KEY = `${SYMBOL}:${STRATEGY}`;
const TICK = 60_001;

let work: string;
let child: string[];
let csv: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "rxtrade-journal-durability-kill-"));
  child = await bundleFixture("journalDurabilityChild", work);
  // The bundled data's first 3000 minutes: enough for every run, and quick for each child to load.
  csv = join(work, "candles.csv");
  writeFileSync(csv, `${gunzipSync(readFileSync(BUNDLED_BTCUSDT_1M)).toString("utf8").split("\n").slice(0, 3001).join("\n")}\n`);
}, 30_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Resolves once `child` has printed `count` announcements of a store write. */
function announced(process: Child, count: number, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = setInterval(() => {
      if ((process.stdout.match(/^W /gm) ?? []).length >= count) {
        clearInterval(check);
        resolve();
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(check);
        reject(new Error(`no ${count} store writes announced within ${timeoutMs} ms:\n${process.stdout}\n${process.stderr}`));
      }
    }, 1);
  });
}

it("SIGKILLed 6 times, half of them between a store write and its trade entry: every store change is journaled once, with its full result", async () => {
  const candles = await csvCandles(csv);
  const dir = join(work, "store");
  const log = join(work, "events.log");
  let origin = (candles[0]?.timestamp as number) + 10 * 60_000;
  const kills = 6;
  for (let round = 0; round <= kills; round++) {
    const final = round === kills;
    const options = { dir, log, candles: csv, origin, speed: 20_000, symbol: SYMBOL, strategyName: STRATEGY, ackMs: 150, mode: final ? "final" : "crash" };
    const process = new Child(child, [JSON.stringify(options)], { cwd: work });
    if (final) {
      const exit = await process.exited;
      expect(exit.code, exit.stderr).toBe(0);
    } else {
      await process.waitFor(/ready/, 15_000);
      if (round % 2 === 0) await announced(process, 1 + ((round / 2) % 3)); // in the window
      else await new Promise((resolve) => setTimeout(resolve, Math.random() * 150));
      process.kill("SIGKILL");
      await process.exited;
    }
    // The next run starts after the last tick this one announced.
    const ticks = readFileSync(log, "utf8").match(/^tick [\d.]+$/gm) ?? [];
    origin = Number(ticks.at(-1)?.slice(5) ?? origin) + 2 * TICK;
  }

  const lines = readFileSync(log, "utf8").trim().split("\n");
  expect(lines.filter((line) => line.startsWith("error "))).toEqual([]);
  expect(lines.at(-1)).toBe("done");
  const reported = lines.filter((line) => /^(opened|closed) /.test(line)).map((line) => ({ action: line.split(" ")[0] as string, id: line.split(" ")[1] as string }));
  const writes = lines.filter((line) => line.startsWith("W ")).map((line) => line.slice(2));

  const entries: JournalEntry[] = [];
  for await (const entry of fileJournal(dir, { onWarning: () => {} }).read(KEY)) entries.push(entry);
  const { problems, trades, runs } = checkJournal(entries, reported);
  expect(problems).toEqual([]);
  // Every store change any run made is journaled: each write announced has its trade entry.
  const journaled = new Set(trades.map((t) => `${t.result.action === "closed" || t.result.action === "cancelled" ? "cleared" : t.result.action} ${t.result.signal.id}`));
  expect(writes.filter((write) => !journaled.has(write))).toEqual([]);
  // With its full result: nothing rebuilt from the store, and no signal ended unrecorded.
  expect(trades.filter((t) => t.recovered === true).map((t) => `${t.result.action} ${t.result.signal.id}`)).toEqual([]);
  expect(runs.filter((r) => r.recovery?.endedSignal !== undefined).map((r) => r.recovery?.endedSignal)).toEqual([]);
  for (const t of trades) {
    if (t.result.action === "closed") expect([Number.isFinite(t.result.pnl.pnlPercentage), typeof t.result.closeReason]).toEqual([true, "string"]);
    if (t.result.action === "cancelled") expect(typeof t.result.cancelReason).toBe("string");
  }
  // The kills did land in the window: some start confirmed the intent of the run before it.
  const confirmed = runs.filter((r): r is JournalRun => r.recovery?.intent?.outcome === "confirmed");
  expect(confirmed.length).toBeGreaterThan(0);
  expect(trades.filter((t: JournalTrade) => t.fromIntent === true)).toHaveLength(confirmed.length);
  expect(await fileStore(dir).read(KEY)).toBeNull();
  console.log(
    `journal after ${kills} SIGKILLs: ${trades.length} trades, ${writes.length} store writes, ${confirmed.length} confirmed from intents, ` +
      `${runs.filter((r) => r.recovery?.intent?.outcome === "voided").length} voided`,
  );
}, 60_000);
