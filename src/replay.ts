import { Observable } from "rxjs";
import type { Config } from "./config";
import { ArgumentError, ReplayError } from "./errors";
import { type Journal, type JournalEntry, type JournalLevel, type JournalTradeResult, journalEntryProblem } from "./journal";
import type { StrategySchema } from "./model";
import { boundedRead } from "./live/journalRead";
import { planReplay, type ReplayRunPlan, type ReplayTick } from "./replayDiff";
import { replayRun } from "./replayRun";

/** A key's journal to replay: its entries (oldest first), or a journal and the key. */
export type ReplaySource = Iterable<JournalEntry> | AsyncIterable<JournalEntry> | { journal: Journal; key: string };

/** What a strategy factory of a replay is told: the run it makes the strategy for. */
export interface ReplayRunInfo {
  /** From 1. */
  run: number;
  symbol: string;
  /** The recorded strategy's name. */
  strategyName: string;
  exchangeName: string;
  /** The run's start (ms). */
  start: number;
  tickMs: number;
}

/**
 * The strategy to replay with: a schema, a name registered with `addStrategy`, or a factory
 * called once per run — a fresh strategy per run, as each run of a recording (a process) had
 * its own. A stateful strategy given as a schema carries its state from one run into the next.
 */
export type ReplayStrategy = StrategySchema | string | ((run: ReplayRunInfo) => StrategySchema);

/** Options of `replayJournal$`. */
export interface ReplayOptions {
  /** The config overrides the recording ran with (`LiveOptions.config`); the journal does not keep them. */
  config?: Partial<Config>;
  /**
   * Real ms the replay waits, at most, for a strategy call that answered with a Promise before
   * it moves virtual time on. Default: the call's own time limit (CC_MAX_SIGNAL_GENERATION_SECONDS),
   * so that a strategy that awaits a timer or a server answers on the tick it was asked on, as live.
   */
  callGraceMs?: number;
}

/** How a run of the journal was recorded and whether it was replayed. */
export interface ReplayRunSummary {
  /** From 1. */
  run: number;
  /** The run's start (ms). */
  from: number;
  /** Its last entry (ms): its `stop`, or, for a run that was killed, the last entry before the next start. */
  to: number;
  /** How it ended: its `stop` entry's reason, or `killed` (no `stop` entry). */
  ended: "stopped" | "error" | "unsubscribed" | "killed";
  level: JournalLevel;
  tickMs: number;
  /** Its recorded ticks. */
  ticks: number;
  /** The signal it resumed from the store. */
  resumedSignalId?: string;
  /** Why it was not replayed. */
  skipped?: string;
}

/** A differing tick, without its inputs. */
export type ReplayDivergence = Omit<ReplayTick, "inputs">;

/** What `runReplay` resolves to. */
export interface ReplaySummary {
  key: string;
  symbol: string;
  exchangeName: string;
  /** The recorded strategy's name (its first run's). */
  recordedStrategyName: string;
  /** The replayed strategy's name (its first replayed run's). */
  strategyName: string;
  runs: ReplayRunSummary[];
  /** Ticks compared (each recorded tick of the replayed runs, and any the replay made at another time). */
  ticks: number;
  /** Ticks a `gap` entry marks as dropped in the replayed runs: missing from the recording, not compared; the run is resynced from the recording after each gap. */
  gapTicks: number;
  /** Ticks whose decisions differ (or where the replay asked for candles the recording does not have). */
  differing: number;
  /** No tick differs. */
  identical: boolean;
  /**
   * Changes of position on each side (scheduled, opened, closed, cancelled): the recorded ones
   * are the `trade` entries of the replayed runs (the store writes that landed; not the ones a
   * start rebuilt, `recovered`), the replayed ones the replay's ticks that changed position.
   */
  trades: { recorded: number; replayed: number };
  /** The recorded trades by action (`opened`: 6, `closed`: 6). */
  recordedTrades: Partial<Record<JournalTradeResult["action"], number>>;
  /** The first differing tick, with its inputs; `null` when identical. */
  firstDivergence: ReplayTick | null;
  /** The differing ticks in time order, without inputs: at most `maxDivergences`. */
  divergences: ReplayDivergence[];
}

/**
 * Replays a journal recorded at level `full` through the live loop itself — `liveTicks$`, the
 * same operators and rules — in virtual time, and compares every tick's decision with the
 * recorded one. For each run of the journal (each start of the stream), in order:
 *
 * - the clock (a `VirtualClock`) starts at the run's start, and the loop's timer, of the run's
 *   recorded `tickMs`, beats at the recorded tick times: a live run's ticks drift, skip and
 *   move after a retry, and the replay ticks when it did;
 * - the exchange serves each candle request with what the recording got at that tick (matched
 *   by interval, since and limit), a recorded failure as that failure (a time-out as a call that
 *   never answers); a request the recording does not have fails, and the tick is reported as
 *   differing ("the replayed strategy asked for candles the recording never saw");
 * - the store (a `memoryStore`) holds what the recording's did at the start: the signal the run
 *   resumed, as the journal last showed it.
 *
 * Each run starts from the recording, not from the replay of the run before: a divergence in
 * one run is not carried into the next. The time between two runs (the process was down) is
 * not replayed; a signal held across it is monitored again from the next run's first tick, as it
 * was live. Runs not recorded at level `full` are skipped; a journal with none is a `ReplayError`.
 *
 * It emits one `ReplayTick` per tick, in time order: the recorded and replayed decisions (the
 * action, and the signal's position, prices, lifetime, close reason and price — ids are random,
 * and not compared), whether they are the same, and the tick's inputs. The replay's results
 * also go to the strategy's callbacks and to `signal$` like a live run's.
 *
 * ```
 * recorded:        i--o--a--a--c--i     (ticks of the journal, at their times)
 * replayed:        i--o--a--c--i--i     (the strategy with a nearer take profit)
 * replayJournal$:  s--D--D--D--D--s     (s same, D differs)
 * ```
 *
 * @example
 * import { replayJournal$ } from "rxtrade";
 * import { fileJournal } from "rxtrade/node";
 * import { momentumStrategy } from "./strategies/momentum";
 * replayJournal$({ journal: fileJournal("./.rxtrade"), key: "BTCUSDT:momentum" }, () => momentumStrategy())
 *   .subscribe((tick) => tick.same || console.log(new Date(tick.at).toISOString(), tick.differences));
 *
 * @param source the key's entries, oldest first, or `{ journal, key }`
 * @param strategy the strategy to replay with: a schema, a registered name, or a factory called once per run
 * @param options the config overrides of the recording, the grace for async calls
 */
export function replayJournal$(source: ReplaySource, strategy: ReplayStrategy, options: ReplayOptions = {}): Observable<ReplayTick> {
  return new Observable<ReplayTick>((subscriber) => {
    let stopped = false;
    entriesOf(source)
      .then(async (entries) => {
        const plan = planned(entries);
        for (const run of plan.runs) {
          if (run.skipped !== undefined) continue;
          await replayRun(run, strategy, options, (tick) => subscriber.next(tick), () => stopped);
          if (stopped) return;
        }
        subscriber.complete();
      })
      .catch((error: unknown) => subscriber.error(error));
    return () => {
      stopped = true;
    };
  });
}

/**
 * Runs `replayJournal$` to its end and sums it up: the runs, the ticks compared, how many
 * differ, the trades on each side, the first divergence with its inputs.
 *
 * @example
 * import { runReplay } from "rxtrade";
 * const summary = await runReplay(entries, () => momentumStrategy({ exitPercent: 2 }));
 * if (!summary.identical) console.log(summary.differing, summary.firstDivergence);
 *
 * @param source the key's entries, oldest first, or `{ journal, key }`
 * @param strategy as for `replayJournal$`
 * @param options as for `replayJournal$`, and `onTick` (each comparison, e.g. for progress) and `maxDivergences` (default 1000)
 */
export async function runReplay(
  source: ReplaySource,
  strategy: ReplayStrategy,
  options: ReplayOptions & { onTick?: (tick: ReplayTick) => void; maxDivergences?: number } = {},
): Promise<ReplaySummary> {
  const { onTick, maxDivergences = 1000 } = options;
  const plan = planned(await entriesOf(source));
  const first = plan.runs[0] as ReplayRunPlan;
  const summary: ReplaySummary = {
    key: plan.key,
    symbol: first.start.symbol,
    exchangeName: first.start.exchangeName,
    recordedStrategyName: first.start.strategyName,
    strategyName: "",
    runs: runSummaries(plan.runs),
    ticks: 0,
    gapTicks: 0,
    differing: 0,
    identical: true,
    trades: { recorded: 0, replayed: 0 },
    recordedTrades: {},
    firstDivergence: null,
    divergences: [],
  };
  const record = (tick: ReplayTick) => {
    summary.ticks++;
    if (tick.replayed?.trade === true) summary.trades.replayed++;
    if (!tick.same) {
      summary.differing++;
      summary.identical = false;
      summary.firstDivergence ??= tick;
      if (summary.divergences.length < maxDivergences) {
        const { inputs: _inputs, ...divergence } = tick;
        summary.divergences.push(divergence);
      }
    }
    onTick?.(tick);
  };
  for (const run of plan.runs) {
    if (run.skipped !== undefined) continue;
    summary.gapTicks += run.afterGap?.ticks ?? 0;
    for (const entry of run.entries) {
      if (entry.kind !== "trade" || entry.recovered === true) continue;
      summary.trades.recorded++;
      const action = entry.result.action;
      summary.recordedTrades[action] = (summary.recordedTrades[action] ?? 0) + 1;
    }
    const name = await replayRun(run, strategy, options, record, () => false);
    if (summary.strategyName === "") summary.strategyName = name;
  }
  return summary;
}

// A run split at its gaps is one run: its first segment's start, its last segment's end.
function runSummaries(plans: readonly ReplayRunPlan[]): ReplayRunSummary[] {
  const runs: ReplayRunSummary[] = [];
  for (const plan of plans) {
    const summary = runSummary(plan);
    const previous = runs.at(-1);
    if (previous === undefined || previous.run !== plan.run) runs.push(summary);
    else runs[runs.length - 1] = { ...previous, to: summary.to, ended: summary.ended, ticks: previous.ticks + summary.ticks };
  }
  return runs;
}

function runSummary(run: ReplayRunPlan): ReplayRunSummary {
  const last = run.entries.at(-1);
  return {
    run: run.run,
    from: run.start.at,
    to: run.stop?.at ?? last?.at ?? run.start.at,
    ended: run.stop?.reason ?? (run.stop === undefined ? "killed" : "stopped"),
    level: run.start.level,
    tickMs: run.start.tickMs,
    ticks: run.ticks.length,
    ...(run.start.resumedSignalId === undefined ? {} : { resumedSignalId: run.start.resumedSignalId }),
    ...(run.skipped === undefined ? {} : { skipped: run.skipped }),
  };
}

function planned(entries: readonly JournalEntry[]): { key: string; runs: ReplayRunPlan[] } {
  const plan = planReplay(entries);
  if ("reason" in plan) {
    const key = plan.reason === "not-full" ? plan.key : undefined;
    const advice =
      plan.reason === "not-full" ? '; record it at level full (journalLevel: "full", or --journal full on the command line) to replay it' : "";
    throw new ReplayError({ reason: plan.reason, message: `cannot replay: ${plan.message}${advice}`, ...(key === undefined ? {} : { key }) });
  }
  return plan;
}

async function entriesOf(source: ReplaySource): Promise<JournalEntry[]> {
  let all: Iterable<JournalEntry> | AsyncIterable<JournalEntry>;
  // A journal's read is bounded (CC_STORE_TIMEOUT_SECONDS a step), as every history read is.
  if (source !== null && typeof source === "object" && "journal" in source && "key" in source) all = boundedRead(source.journal, source.key);
  else all = source as Iterable<JournalEntry> | AsyncIterable<JournalEntry>;
  const entries: JournalEntry[] = [];
  if (Symbol.asyncIterator in all) for await (const entry of all) entries.push(checked(entry, entries.length));
  else for (const entry of all) entries.push(checked(entry, entries.length));
  return entries;
}

function checked(entry: JournalEntry, index: number): JournalEntry {
  const problem = journalEntryProblem(entry);
  if (problem !== undefined) {
    throw new ArgumentError(`replay: entry ${index} is not a journal entry (${problem}); give the entries as a journal reads them`, { argument: `entries[${index}]`, value: entry });
  }
  return entry;
}
