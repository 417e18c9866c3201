import type { JournalEntry, JournalGap, JournalRun, JournalTick, JournalTrade } from "./journal";
import type { SignalRow } from "./model";

// A key's journal split into its runs, with what each resumed. Pure. Exported through replayDiff.ts.

/** One run of a journal (a start of the stream, to its stop or its kill), as a replay sees it. */
export interface ReplayRunPlan {
  /** From 1, in the journal's order. */
  run: number;
  start: JournalRun;
  /** The run's `stop` entry; `undefined` when it was killed or crashed. */
  stop: JournalRun | undefined;
  /** The entries after the start, up to the next run's start. */
  entries: readonly JournalEntry[];
  /** Its `tick` entries, oldest first. */
  ticks: readonly JournalTick[];
  /** The signal the run resumed, as the journal last showed it before the start; `null`: none. */
  resumed: { status: "scheduled" | "opened"; signal: SignalRow } | null;
  /**
   * Set on a segment of a run after a `gap` entry: the run's ticks after the gap, replayed from
   * what the journal's trades say was held at the gap's end (as a run's start resumes), since the
   * dropped ticks' decisions are missing. Its `start` is the run's, moved to its first tick.
   */
  afterGap?: JournalGap;
  /** Why this run is not replayed (it was not recorded at level `full`, or its resumed signal is not in the journal). */
  skipped?: string;
}

/** Why `planReplay` cannot replay a journal. */
export type ReplayPlanProblem =
  | { reason: "empty"; message: string }
  | { reason: "keys"; message: string; keys: string[] }
  | { reason: "not-full"; message: string; key: string; levels: string[] };

// A run whose clock went back (`JournalRun.rewoundTo`) decided again the ticks from `rewoundTo`
// on: the earlier runs' tick and gap entries of that period are left out (trades are kept).
function supersede(runs: ReplayRunPlan[], rewoundTo: number): void {
  const current = (entry: JournalEntry) => !((entry.kind === "tick" && entry.at >= rewoundTo) || (entry.kind === "gap" && entry.from >= rewoundTo));
  runs.forEach((run, i) => {
    if (run.entries.every(current)) return;
    runs[i] = { ...run, entries: run.entries.filter(current), ticks: run.ticks.filter(current) };
  });
}

// A start whose recovery voided the previous run's intent: that run was killed before the store
// write of its last tick's change, so the tick (journaled with the intent, before the write)
// never happened — the store, and so the next run, went on from what came before. Its tick
// entries from the intent's time on are left out (the killed run is cut off there).
function voidTick(run: ReplayRunPlan | undefined, intentAt: number): ReplayRunPlan | undefined {
  if (run === undefined) return undefined;
  const kept = (entry: JournalEntry) => !(entry.kind === "tick" && entry.at >= intentAt);
  if (run.entries.every(kept)) return run;
  return { ...run, entries: run.entries.filter(kept), ticks: run.ticks.filter(kept) };
}

/**
 * Splits a key's journal into its runs (at each `start` entry) and finds what each one resumed.
 * The tick and gap entries a later start's `rewoundTo` superseded are left out of their runs, and
 * so is the tick whose change a later start voided (`recovery.intent`, outcome `voided`).
 * Returns the problem instead when there is nothing to replay: no entries, entries of several
 * keys, or no run recorded at level `full`.
 */
export function planReplay(entries: readonly JournalEntry[]): { key: string; runs: ReplayRunPlan[] } | ReplayPlanProblem {
  const first = entries[0];
  if (first === undefined) return { reason: "empty", message: "the journal has no entries" };
  const keys = [...new Set(entries.map((entry) => entry.key))];
  if (keys.length > 1) return { reason: "keys", keys, message: `the entries are of ${keys.length} keys (${keys.join(", ")}); replay one key at a time` };
  const key = first.key;
  const runs: ReplayRunPlan[] = [];
  // The last trade entry of each signal so far: what a start resumes.
  const lastTrade = new Map<string, JournalTrade>();
  type Current = { run: number; start: JournalRun; stop: JournalRun | undefined; entries: JournalEntry[]; ticks: JournalTick[]; resumed: ReplayRunPlan["resumed"]; skipped?: string; afterGap?: JournalGap };
  let current: Current | undefined;
  let runNumber = 0;
  // The gap entry of the current run whose ticks are not yet resumed after.
  let gap: JournalGap | undefined;
  const close = () => {
    if (current !== undefined) runs.push(current);
    current = undefined;
    gap = undefined;
  };
  // What the journal's trades say was held at `at`: the latest signal left scheduled or opened.
  const heldAt = (at: number): ReplayRunPlan["resumed"] => {
    let held: JournalTrade | undefined;
    for (const trade of lastTrade.values()) {
      const action = trade.result.action;
      if (trade.at <= at && (action === "scheduled" || action === "opened") && (held === undefined || trade.at >= held.at)) held = trade;
    }
    return held === undefined ? null : { status: held.result.action as "scheduled" | "opened", signal: held.result.signal };
  };
  for (const entry of entries) {
    if (entry.kind === "tick" && current !== undefined && gap !== undefined && entry.at > gap.to) {
      // The first tick after a gap: a new segment of the run, resynced from the recording.
      const { start, skipped } = current;
      const afterGap = gap;
      close();
      const resumed = heldAt(entry.at);
      const { resumedSignalId: _id, recovery: _recovery, rewoundTo: _rewound, ...base } = start;
      current = {
        run: runNumber,
        start: { ...base, at: entry.at, ...(resumed === null ? {} : { resumedSignalId: resumed.signal.id }) },
        stop: undefined,
        entries: [],
        ticks: [],
        resumed,
        afterGap,
        ...(skipped === undefined ? {} : { skipped }),
      };
    }
    if (entry.kind === "run" && entry.event === "start") {
      close();
      runNumber++;
      const intent = entry.recovery?.intent;
      if (intent?.outcome === "voided" && runs.length > 0) runs[runs.length - 1] = voidTick(runs.at(-1), intent.at) as ReplayRunPlan;
      if (entry.rewoundTo !== undefined) supersede(runs, entry.rewoundTo);
      let resumed: ReplayRunPlan["resumed"] = null;
      let skipped: string | undefined = entry.level === "full" ? undefined : `recorded at level ${entry.level}, not full`;
      const id = entry.resumedSignalId;
      if (id !== undefined) {
        const trade = lastTrade.get(id);
        const action = trade?.result.action;
        if (trade !== undefined && (action === "scheduled" || action === "opened")) resumed = { status: action, signal: trade.result.signal };
        else skipped ??= `it resumed signal ${id}, which the journal ${trade === undefined ? "does not have" : `last shows ${action}`}: its state at the start is unknown`;
      }
      current = { run: runNumber, start: entry, stop: undefined, entries: [], ticks: [], resumed, ...(skipped === undefined ? {} : { skipped }) };
      continue;
    }
    if (entry.kind === "trade") lastTrade.set(entry.result.signal.id, entry);
    if (current === undefined) continue; // before the first start: only what a start resumes matters
    current.entries.push(entry);
    if (entry.kind === "tick") current.ticks.push(entry);
    else if (entry.kind === "gap") gap = entry;
    else if (entry.kind === "run") current.stop ??= entry;
  }
  close();
  if (!runs.some((run) => run.start.level === "full")) {
    const levels = [...new Set(runs.map((run) => run.start.level))];
    return {
      reason: "not-full",
      key,
      levels,
      message:
        runs.length === 0
          ? `the journal of ${key} has no run start entry (${entries.length} entries), so no tick to replay`
          : `the journal of ${key} was recorded at level ${levels.join(" and ")} (${runs.length} run${runs.length === 1 ? "" : "s"}): it has the trades but not the ticks (candles, prices, the strategy's answers) a replay needs`,
    };
  }
  return { key, runs };
}
