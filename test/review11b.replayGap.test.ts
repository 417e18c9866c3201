// Review of issue 11 (second pass), finding 3: a journal with a `gap` entry (tick entries
// dropped while the journal was failing) replayed with false divergences after the gap (a trade
// recorded during the gap was never made by the replay), never mentioned the gap, and reported
// an error. Now a run is split at its gaps: replayed up to the gap, then resynced from the
// recording after it (from what the journal's trades say was held at the gap's end), the gap's
// ticks counted as skipped and printed.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Candle, type JournalEntry, type JournalGap, type JournalTick, listenError, memoryJournal, setLogger } from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandles, runBacktest, runReplay } from "rxtrade/node";
import { momentumStrategy } from "../examples/strategies/momentum";
import { main } from "../src/cli/main";
import { Terminal } from "../src/cli/terminal";

const HOUR = 3_600_000;
const FROM = Date.parse("2023-03-01T02:00:00Z");
const KEY = "BTCUSDT:momentum";

let recording: JournalEntry[];
let work: string;
beforeAll(async () => {
  const candles: Candle[] = await csvCandles(BUNDLED_BTCUSDT_1M);
  const journal = memoryJournal();
  await runBacktest("BTCUSDT", momentumStrategy(), { candles, from: FROM, to: FROM + 6 * HOUR, journal, journalLevel: "full" });
  recording = [...(journal.entries.get(KEY) ?? [])].filter((entry) => entry.kind !== "intent");
  work = await mkdtemp(join(tmpdir(), "rxtrade-review11b-gap-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** The recording with the tick entries around its first open dropped (the open's trade entry kept), and the gap entry a run writes once its journal takes entries again. */
function withGap(): { entries: JournalEntry[]; dropped: number; gap: JournalGap } {
  const ticks = recording.filter((entry): entry is JournalTick => entry.kind === "tick");
  const opened = ticks.findIndex((tick) => tick.action === "opened");
  expect(opened).toBeGreaterThan(3);
  const dropped = ticks.slice(opened - 2, opened + 4);
  expect(dropped.some((tick) => tick.action === "closed")).toBe(false); // the signal is held at the gap's end
  const after = ticks[opened + 4] as JournalTick;
  const gap: JournalGap = { kind: "gap", key: KEY, at: after.at, from: (dropped[0] as JournalTick).at, to: (dropped.at(-1) as JournalTick).at, ticks: dropped.length, reason: "failing" };
  const entries: JournalEntry[] = [];
  for (const entry of recording) {
    if (entry === after) entries.push(gap);
    if (entry.kind === "tick" && dropped.includes(entry)) continue;
    entries.push(entry);
  }
  return { entries, dropped: dropped.length, gap };
}

describe("a gap entry (finding 3)", () => {
  it("runReplay: identical, the gap's ticks counted as skipped, no error reported", async () => {
    const { entries, dropped } = withGap();
    const errors: unknown[] = [];
    const stop = listenError((error) => errors.push(error));
    try {
      const summary = await runReplay(entries, () => momentumStrategy());
      expect(summary.firstDivergence?.differences ?? []).toEqual([]);
      expect(summary.identical).toBe(true);
      expect(summary.gapTicks).toBe(dropped);
      const recordedTicks = entries.filter((entry) => entry.kind === "tick").length;
      expect(summary.ticks).toBe(recordedTicks);
      expect(summary.runs).toHaveLength(1);
      expect(summary.runs[0]?.ticks).toBe(recordedTicks);
      expect(summary.runs[0]?.ended).toBe("stopped");
    } finally {
      stop();
    }
    expect(errors.map(String)).toEqual([]);
  });

  it("rxtrade replay: Identical, exit 0, says how many ticks the gap skipped, no stall error", async () => {
    const { entries, dropped } = withGap();
    const file = join(work, "BTCUSDT_momentum-gap.000001.jsonl");
    await writeFile(file, `${entries.map((entry) => JSON.stringify(entry)).join("\n")}\n`);
    let out = "";
    let err = "";
    const code = await main(["replay", file], new Terminal({ write: (text: string) => (out += text) }, { write: (text: string) => (err += text) }));
    setLogger({ warn: () => {}, error: () => {} });
    if (code !== 0) console.log(out);
    expect({ code, err }).toEqual({ code: 0, err: "" });
    expect(out).toContain(`skipped (gap): ${dropped} ticks the journal dropped`);
    expect(out).toMatch(/Identical: the same decision on all \d+ ticks/);
    expect(out).not.toContain("StreamStalledError");
  });
});
