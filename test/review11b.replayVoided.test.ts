// Review of issue 11 (second pass), finding 2: a journal from a killed run whose last tick's
// close was voided at the next start (recovery.intent voided: the kill came before the store
// write) replayed as "Divergent" with a recorded trade count inflated by that tick — its tick
// entry (action closed) was journaled with the intent, before the write that never happened.
// Now that tick is cut off the killed run, and the recorded trades are the trade entries'.
import { beforeAll, describe, expect, it } from "vitest";
import { type Candle, type JournalEntry, type JournalRun, type JournalTick, memoryJournal } from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandles, runBacktest, runReplay } from "rxtrade/node";
import { momentumStrategy } from "../examples/strategies/momentum";

const HOUR = 3_600_000;
const FROM = Date.parse("2023-03-01T02:00:00Z");
const KEY = "BTCUSDT:momentum";

let recording: JournalEntry[];
beforeAll(async () => {
  const candles: Candle[] = await csvCandles(BUNDLED_BTCUSDT_1M);
  const journal = memoryJournal();
  await runBacktest("BTCUSDT", momentumStrategy(), { candles, from: FROM, to: FROM + 6 * HOUR, journal, journalLevel: "full" });
  recording = [...(journal.entries.get(KEY) ?? [])].filter((entry) => entry.kind !== "intent");
});

/**
 * The recording killed on the tick of its first close: the run's entries up to that tick, then
 * the intent and the tick entry of the close (no trade entry: the store write never happened),
 * then a start whose recovery voided the intent, resuming the open signal, then the next run:
 * the recording's entries from the close tick on (the same decisions, the close made again).
 */
function killedOnClose(): { entries: JournalEntry[]; closes: number; trades: number } {
  const closeIndex = recording.findIndex((entry) => entry.kind === "tick" && entry.action === "closed");
  expect(closeIndex).toBeGreaterThan(0);
  const close = recording[closeIndex] as JournalTick;
  const trade = recording.find((entry) => entry.kind === "trade" && entry.at === close.at && entry.result.action === "closed");
  if (trade?.kind !== "trade") throw new Error("the recording's close has no trade entry");
  const start = recording.find((entry) => entry.kind === "run" && entry.event === "start") as JournalRun;
  const killed = [
    ...recording.slice(0, closeIndex),
    { kind: "intent", key: KEY, at: close.at, result: trade.result } as JournalEntry,
    close,
  ];
  const restart: JournalRun = {
    ...start,
    at: close.at,
    resumedSignalId: trade.result.signal.id,
    recovery: { unfinishedRun: true, intent: { signalId: trade.result.signal.id, action: "closed", at: close.at, outcome: "voided" } },
  };
  const next = recording.slice(closeIndex);
  const entries = [...killed, restart, ...next];
  const trades = entries.filter((entry) => entry.kind === "trade").length;
  return { entries, closes: entries.filter((entry) => entry.kind === "tick" && entry.action === "closed").length, trades };
}

describe("a close voided at the next start (finding 2)", () => {
  it("replays as identical, with the trade entries' count on the recorded side", async () => {
    const { entries, closes, trades } = killedOnClose();
    const recordedTrades = recording.filter((entry) => entry.kind === "trade").length;
    expect(trades).toBe(recordedTrades); // the voided close has no trade entry
    // One close more in the tick entries than in the trade entries: the voided one.
    expect(closes).toBe(entries.filter((entry) => entry.kind === "trade" && entry.result.action === "closed").length + 1);
    const summary = await runReplay(entries, () => momentumStrategy());
    expect(summary.runs.map((run) => [run.run, run.ended])).toEqual([
      [1, "killed"],
      [2, "stopped"],
    ]);
    expect(summary.firstDivergence?.differences ?? []).toEqual([]);
    expect(summary.identical).toBe(true);
    expect(summary.differing).toBe(0);
    expect(summary.trades).toEqual({ recorded: recordedTrades, replayed: recordedTrades });
    const byAction: Record<string, number> = {};
    for (const entry of recording) if (entry.kind === "trade") byAction[entry.result.action] = (byAction[entry.result.action] ?? 0) + 1;
    expect(summary.recordedTrades).toEqual(byAction);
    // The killed run's last tick (the voided close) is not one of its ticks.
    const before = recording.slice(0, recording.findIndex((e) => e.kind === "tick" && e.action === "closed")).filter((e) => e.kind === "tick").length;
    expect(summary.runs[0]?.ticks).toBe(before);
  });
});

describe("the recorded trades are the trade entries (finding 2)", () => {
  it("a killed run's last tick entry of a close without its trade entry (no restart yet) is not a recorded trade", async () => {
    const { entries } = killedOnClose();
    const killed = entries.slice(0, entries.findIndex((entry, i) => i > 0 && entry.kind === "run" && entry.event === "start"));
    const tradeEntries = killed.filter((entry) => entry.kind === "trade").length;
    expect(killed.at(-1)).toMatchObject({ kind: "tick", action: "closed" });
    const summary = await runReplay(killed, () => momentumStrategy());
    expect(summary.trades.recorded).toBe(tradeEntries);
    expect(summary.recordedTrades.closed ?? 0).toBe(killed.filter((entry) => entry.kind === "trade" && entry.result.action === "closed").length);
  });
});
