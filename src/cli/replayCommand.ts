import { listenError, type StrategySchema } from "rxtrade";
import { type JournalFile, type JournalWarning, readJournalFile, type ReplayDecision, type ReplaySummary, type ReplayTick, runReplay } from "rxtrade/node";
import { WarningTally } from "./backtestProgress";
import { displayPath } from "./format";
import { Progress, replayReport } from "./replayOutput";
import { isRxtradeError } from "./rxtradeErrors";
import { SkippedLines } from "./skippedLines";
import { EXAMPLE_STRATEGIES, resolveStrategy } from "./strategies";
import type { Output, Terminal } from "./terminal";
import { EXIT, parseCommandLine, UsageError } from "./usage";
import { MODULE_TIMEOUT_HELP, moduleTimeoutMs } from "./userModule";

const FLAGS = {
  strategy: { type: "string" },
  json: { type: "boolean" },
  "module-timeout": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;


export const REPLAY_HELP = `rxtrade replay — replay a recorded live session and compare every decision

Runs a journal recorded at level full (rxtrade live --journal full, rxtrade demo --journal full,
or journalLevel: "full") through the live loop itself — the same operators and rules — in
virtual time: the loop ticks at the recorded tick times, the exchange answers each candle
request with what the recording got at that tick (a recorded failure as that failure), and the
store starts as the recording's did. Each tick's decision (the action; the signal's position,
entry, take profit, stop loss, lifetime, close reason and price) is compared with the recorded
one, and so is the strategy's answer (a signal, none, or the error it threw): the same decision
from another answer differs too. Signal ids are random: signals are compared by order, not by id.

A journal with several runs (a kill, a restart) is replayed run by run, each from what the
recording held at its start; the time between two runs is not replayed.

Usage
  rxtrade replay <journal file> [--strategy name|path] [--json]

Arguments
  <journal file>     a file of a store's journal folder, e.g.
                     .rxtrade/journal/BTCUSDT_momentum-4106cc36fad9a2b2.000001.jsonl; every
                     segment of its key is read (any one of them names the key); a file
                     elsewhere is read alone

Flags
  --strategy S       the strategy to replay with: an example (${Object.keys(EXAMPLE_STRATEGIES).join(", ")}),
                     or a path to a module exporting a StrategySchema as \`strategy\` or default
                     (a factory function gets a fresh strategy per run). Default: the recorded
                     strategy, when it is one of the examples
  --json             print the comparison as JSON on stdout: the runs, the ticks compared, the
                     differing ones (at most 1000), the first divergence with its inputs
${MODULE_TIMEOUT_HELP}
  -h, --help         show this help

Identical, it says so (the ticks and trades compared) and exits 0. Otherwise it prints the
first divergence — its time, the recorded and the replayed decision, what that tick saw (the
price, the candles, the strategy's answer on each side) —, the first tick whose action differs
when that is a later one, and how many decisions differ, and exits 1. The replay runs with the
default config (the journal does not keep a run's config overrides). On a terminal a progress
line on stderr shows how far the replay is; elsewhere there is none.

Exit codes: 0 identical, 1 divergent (or the replay failed, or a segment of the journal did not
answer within CC_STORE_TIMEOUT_SECONDS), 2 a wrong command line: no such file, a file that is
not a journal, a journal not recorded at level full or with no tick to compare, an unknown
strategy. Lines of the file that are skipped (torn, damaged) are one warning per file.

Examples
  rxtrade replay .rxtrade/journal/BTCUSDT_momentum-4106cc36fad9a2b2.000001.jsonl
  rxtrade replay .rxtrade/journal/BTCUSDT_momentum-4106cc36fad9a2b2.000001.jsonl --strategy ./momentum-tp2.mjs
`;

/**
 * `rxtrade replay <journal file>`: replays a full journal through the live loop and compares
 * every decision with the recorded one.
 *
 * @param progressOut where the progress line goes (stderr); drawn only when it is a terminal
 */
export async function replayCommand(args: readonly string[], terminal: Terminal, progressOut: Output = process.stderr): Promise<number> {
  const { flags, positionals } = parseCommandLine("replay", args, FLAGS, { strategy: "momentum", "module-timeout": "30" });
  if (flags.help) {
    terminal.line(REPLAY_HELP);
    return EXIT.ok;
  }
  const [path, ...extra] = positionals;
  if (path === undefined || path.trim() === "") {
    throw new UsageError("replay", "a journal file is required, e.g. rxtrade replay .rxtrade/journal/BTCUSDT_momentum-4106cc36fad9a2b2.000001.jsonl");
  }
  if (extra.length > 0) throw new UsageError("replay", `one journal file at a time, got ${positionals.length}: ${positionals.map((p) => JSON.stringify(p)).join(" ")}`);
  const timeoutMs = moduleTimeoutMs("replay", flags["module-timeout"]);
  const json = flags.json === true;

  const warnings: JournalWarning[] = [];
  const skipped = new SkippedLines();
  let journal: JournalFile;
  try {
    journal = await readJournalFile(path, {
      onWarning: (warning) => {
        warnings.push(warning);
        skipped.add(warning);
      },
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new UsageError("replay", `${path} does not exist; give a journal file, e.g. one in <store>/journal/ (ls .rxtrade/journal/)`);
    if (code === "EISDIR") throw new UsageError("replay", `${path} is a folder; give one of its journal files (*.jsonl), e.g. ls ${path}`);
    if (isRxtradeError(error, "JournalError")) {
      terminal.warn(`rxtrade replay: the journal of ${path} cannot be read: ${error.message.replace(/^rxtrade: /, "")}`);
      return EXIT.failed;
    }
    throw new UsageError("replay", `cannot read ${path}: ${(error as Error).message.replace(/^rxtrade: (readJournalFile: )?/, "")}`);
  }
  if (journal.entries.length === 0) {
    const first = warnings[0];
    throw new UsageError(
      "replay",
      `${path} is not a journal: none of its ${warnings.length} line${warnings.length === 1 ? "" : "s"} is a journal entry` +
        `${first === undefined ? " (the file is empty)" : ` (line ${first.line}: ${first.message.replace(/^journal [^:]+:\d+: /, "")})`}; ` +
        "give a file of a store's journal folder, e.g. .rxtrade/journal/BTCUSDT_momentum-4106cc36fad9a2b2.000001.jsonl",
    );
  }
  for (const line of skipped.lines()) terminal.warn(line);

  const recordedName = recordedStrategyName(journal);
  const strategyFlag = flags.strategy?.trim();
  let choice: string;
  if (strategyFlag !== undefined && strategyFlag !== "") choice = strategyFlag;
  else if (recordedName !== undefined && EXAMPLE_STRATEGIES[recordedName] !== undefined) choice = recordedName;
  else {
    throw new UsageError(
      "replay",
      `the journal's strategy ${recordedName === undefined ? "(no run entry names it)" : JSON.stringify(recordedName)} is not one of the examples ` +
        `(${Object.keys(EXAMPLE_STRATEGIES).join(", ")}); give the strategy to replay with: --strategy ./path/to/strategy.mjs`,
    );
  }
  // One strategy per run and per segment after a gap (resynced from the recording, as a run's
  // start), made before the replay starts (a module's failure is a wrong command line).
  const runs = journal.entries.filter((entry) => (entry.kind === "run" && entry.event === "start") || entry.kind === "gap").length;
  const strategies: StrategySchema[] = [];
  for (let i = 0; i < Math.max(1, runs); i++) strategies.push(await resolveStrategy("replay", choice, timeoutMs));

  const progress = new Progress(progressOut, journal.key, journal.entries.filter((entry) => entry.kind === "tick").length);
  const trades = { recorded: new Map<string, number>(), replayed: new Map<string, number>() };
  // The first tick whose action differs (the first divergence may differ only in a price).
  let actionChange: ReplayTick | undefined;
  const count = (tally: Map<string, number>, decision: ReplayDecision | null) => {
    if (decision?.trade === true) tally.set(decision.action, (tally.get(decision.action) ?? 0) + 1);
  };
  let summary: ReplaySummary;
  // A strategy failing on every tick gives one line and a count, not one line per tick (as backtest).
  const errorLines = new WarningTally((text) => terminal.warn(text));
  const stopListening = listenError((error) => errorLines.add(`error$ ${error.name}: ${error.message.replace(/^rxtrade: /, "")}`));
  try {
    let made = 0;
    summary = await runReplay(journal.entries, () => strategies[made++] as StrategySchema, {
      onTick: (tick) => {
        if (actionChange === undefined && tick.recorded?.action !== tick.replayed?.action) actionChange = tick;
        count(trades.replayed, tick.replayed);
        progress.tick(tick);
      },
    });
  } catch (error) {
    progress.end();
    stopListening();
    errorLines.flush();
    if (isRxtradeError(error, "ReplayError")) {
      if (error.reason === "not-full") {
        throw new UsageError(
          "replay",
          `${path}: ${error.message.replace(/^rxtrade: cannot replay: /, "").replace(/; record it at level full.*$/, "")}; ` +
            "record with --journal full (rxtrade live --journal full, rxtrade demo --journal full) or journalLevel: \"full\", then replay that journal",
        );
      }
      throw new UsageError("replay", `${path}: ${error.message.replace(/^rxtrade: /, "")}`);
    }
    terminal.warn(`rxtrade replay: the replay of ${path} failed: ${(error as Error).message}`);
    return EXIT.failed;
  }
  progress.end();
  stopListening();
  errorLines.flush();
  if (summary.ticks === 0) {
    // Nothing compared is not "identical": a run start with no tick after it (what a file whose
    // tick lines are all damaged reads as) must not pass for a faithful replay.
    const lines = skipped.total;
    throw new UsageError(
      "replay",
      `${path}: no tick to compare: its run${summary.runs.length === 1 ? "" : "s"} at level full hold${summary.runs.length === 1 ? "s" : ""} no tick entry` +
        `${lines === 0 ? "" : ` (${lines} line${lines === 1 ? "" : "s"} skipped: see the warning above)`}; give a journal recorded with --journal full over at least one tick`,
    );
  }

  for (const [action, n] of Object.entries(summary.recordedTrades)) trades.recorded.set(action, n);
  if (json) {
    terminal.line(JSON.stringify({ file: displayPath(path), files: journal.files.map(displayPath), skippedLines: journal.skipped, ...summary }, null, 2));
    return summary.identical ? EXIT.ok : EXIT.failed;
  }
  for (const line of replayReport(path, journal, summary, choice, trades, actionChange)) terminal.line(line);
  return summary.identical ? EXIT.ok : EXIT.failed;
}

function recordedStrategyName(journal: JournalFile): string | undefined {
  for (const entry of journal.entries) if (entry.kind === "run") return entry.strategyName;
  return undefined;
}
