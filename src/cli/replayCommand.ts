import { type JournalAnswer, type JournalCandles, JournalError, ReplayError, type StrategySchema } from "rxtrade";
import { type JournalFile, type JournalWarning, readJournalFile, type ReplayDecision, type ReplaySummary, type ReplayTick, runReplay } from "rxtrade/node";
import { displayPath, minute, price } from "./format";
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

const REDRAW_EVERY_MS = 80;

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
    if (error instanceof JournalError) {
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
  // One strategy per run, made before the replay starts (a module's failure is a wrong command line).
  const runs = journal.entries.filter((entry) => entry.kind === "run" && entry.event === "start").length;
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
  try {
    summary = await runReplay(journal.entries, (run) => strategies[run.run - 1] as StrategySchema, {
      onTick: (tick) => {
        if (actionChange === undefined && tick.recorded?.action !== tick.replayed?.action) actionChange = tick;
        count(trades.recorded, tick.recorded);
        count(trades.replayed, tick.replayed);
        progress.tick(tick);
      },
    });
  } catch (error) {
    progress.end();
    if (error instanceof ReplayError) {
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

  if (json) {
    terminal.line(JSON.stringify({ file: displayPath(path), files: journal.files.map(displayPath), skippedLines: journal.skipped, ...summary }, null, 2));
    return summary.identical ? EXIT.ok : EXIT.failed;
  }
  for (const line of report(path, journal, summary, choice, trades, actionChange)) terminal.line(line);
  return summary.identical ? EXIT.ok : EXIT.failed;
}

function recordedStrategyName(journal: JournalFile): string | undefined {
  for (const entry of journal.entries) if (entry.kind === "run") return entry.strategyName;
  return undefined;
}

/** The text report: what was replayed, then identical, or the first divergence and the count. */
function report(
  path: string,
  journal: JournalFile,
  summary: ReplaySummary,
  choice: string,
  trades: Record<"recorded" | "replayed", Map<string, number>>,
  actionChange: ReplayTick | undefined,
): string[] {
  const segments = journal.files.length;
  const lines = [
    `Replay of ${summary.key} from ${displayPath(path)}${segments > 1 ? ` (${segments} segments)` : ""}`,
    `  recorded: ${summary.recordedStrategyName} on ${summary.exchangeName}, ${runsLine(summary)}`,
    `  replayed: ${choice === summary.strategyName ? choice : `${choice} (${summary.strategyName})`}`,
  ];
  for (const run of summary.runs) if (run.skipped !== undefined) lines.push(`  run ${run.run} not replayed: ${run.skipped}`);
  lines.push("");
  if (summary.identical) {
    lines.push(`Identical: the same decision on all ${summary.ticks} ticks, ${tradesText(summary.trades.recorded, trades.recorded)} among them.`);
    return lines;
  }
  lines.push(
    `Divergent: ${summary.differing} of ${summary.ticks} decisions differ; recorded ${tradesText(summary.trades.recorded, trades.recorded)}, ` +
      `replayed ${tradesText(summary.trades.replayed, trades.replayed)}.`,
  );
  const first = summary.firstDivergence;
  if (first === null) return lines;
  lines.push("", `First divergence at ${new Date(first.at).toISOString()} (run ${first.run})`);
  lines.push(`  recorded   ${describeDecision(first.recorded)}`);
  lines.push(`  replayed   ${describeDecision(first.replayed)}`);
  first.differences.forEach((difference, i) => lines.push(`  ${i === 0 ? "differs" : "       "}    ${difference}`));
  const { price: prices, candles, answer } = first.inputs;
  lines.push(
    `  price      ${prices.recorded === null ? "none (pricing failed, or no tick)" : price(prices.recorded)}` +
      `${Object.is(prices.recorded, prices.replayed) ? "" : ` (replayed: ${prices.replayed === null ? "none" : price(prices.replayed)})`}`,
  );
  if (candles.length === 0) lines.push("  candles    none recorded at this tick");
  candles.forEach((request, i) => lines.push(`  ${i === 0 ? "candles" : "       "}    ${describeCandles(request)}`));
  lines.push(`  answer     recorded: ${describeAnswer(answer.recorded)}`);
  lines.push(`             replayed: ${describeAnswer(answer.replayed)}`);
  if (actionChange !== undefined && actionChange !== first) {
    lines.push("", `First different action at ${new Date(actionChange.at).toISOString()} (run ${actionChange.run})`);
    lines.push(`  recorded   ${describeDecision(actionChange.recorded)}`);
    lines.push(`  replayed   ${describeDecision(actionChange.replayed)}`);
  }
  if (summary.differing > 1) lines.push("", `${summary.differing - 1} more differ after it; --json lists them.`);
  return lines;
}

/** `12 trades (6 opened, 6 closed)` */
function tradesText(total: number, byAction: Map<string, number>): string {
  const order = ["scheduled", "opened", "closed", "cancelled"];
  const parts = order.filter((action) => byAction.has(action)).map((action) => `${byAction.get(action)} ${action}`);
  return `${total} trade${total === 1 ? "" : "s"}${parts.length === 0 ? "" : ` (${parts.join(", ")})`}`;
}

function runsLine(summary: ReplaySummary): string {
  const runs = summary.runs;
  const first = runs[0];
  const last = runs.at(-1);
  if (first === undefined || last === undefined) return "no run";
  const span = `${minute(first.from)} to ${minute(last.to)} UTC`;
  if (runs.length === 1) return `1 run, ${span}, ${first.ticks} ticks`;
  const ends = runs.map((run) => `run ${run.run} ${runSpan(run.from, run.to)} ${run.ended}`).join("; ");
  return `${runs.length} runs, ${span} (${ends})`;
}

/** `2023-03-01 10:00–12:00`, or with the end's date when it is another day's: `2023-03-01 23:00–2023-03-02 01:00`. */
function runSpan(from: number, to: number): string {
  const [start, end] = [minute(from), minute(to)];
  return `${start}–${start.slice(0, 10) === end.slice(0, 10) ? end.slice(11) : end}`;
}

function describeDecision(decision: ReplayDecision | null): string {
  if (decision === null) return "no tick at this time";
  const action = decision.action.toUpperCase();
  if (decision.action === "error") return "ERROR (the tick could not price the market; retried)";
  const signal = decision.signal;
  if (signal === undefined) return decision.action === "idle" ? "IDLE" : `${action} (its signal is not in the journal)`;
  let text = `${action} ${signal.position} @ ${price(signal.priceOpen)} TP ${price(signal.priceTakeProfit)} SL ${price(signal.priceStopLoss)} ${signal.minuteEstimatedTime} min`;
  if (decision.action === "closed") text += `: ${decision.closeReason ?? "?"} at ${decision.closePrice === undefined ? "?" : price(decision.closePrice)}`;
  if (decision.action === "cancelled") text += `: ${decision.cancelReason ?? "?"}`;
  if (decision.action === "scheduled" && !decision.trade) text += " (waiting)";
  return text;
}

function describeCandles(request: JournalCandles): string {
  const asked = `${request.interval} ×${request.limit} since ${minute(request.since)}`;
  if (request.error !== undefined) return `${asked}: ${request.error.name}: ${request.error.message.replace(/^rxtrade: /, "")}`;
  const first = request.candles[0];
  const last = request.candles.at(-1);
  if (first === undefined || last === undefined) return `${asked}: no candles`;
  return `${asked}: ${request.candles.length} candle${request.candles.length === 1 ? "" : "s"} to ${minute(last.timestamp)}, close ${price(first.close)} → ${price(last.close)}`;
}

function describeAnswer(answer: JournalAnswer | undefined): string {
  if (answer === undefined) return "not asked";
  if ("error" in answer) return `${answer.error.name}: ${answer.error.message.replace(/^rxtrade: /, "")}`;
  const signal = answer.signal;
  if (signal === null) return "no signal";
  const entry = signal.priceOpen === undefined ? "" : ` limit @ ${price(signal.priceOpen)}`;
  const note = signal.note === undefined || signal.note === "" ? "" : ` (${signal.note})`;
  return `${signal.position}${entry} TP ${price(signal.priceTakeProfit)} SL ${price(signal.priceStopLoss)} ${signal.minuteEstimatedTime} min${note}`;
}

/** The replay's progress on a terminal (stderr): the ticks compared of all, and how many differ. Nothing elsewhere. */
class Progress {
  private readonly enabled: boolean;
  private done = 0;
  private differing = 0;
  private shown = false;
  private lastDraw = performance.now();

  constructor(
    private readonly out: Output,
    private readonly key: string,
    private readonly total: number,
  ) {
    this.enabled = out.isTTY === true;
  }

  tick(tick: ReplayTick): void {
    this.done++;
    if (!tick.same) this.differing++;
    if (!this.enabled) return;
    const now = performance.now();
    // Short replays finish before the first draw: a progress line only for long ones.
    if (now - this.lastDraw < REDRAW_EVERY_MS) return;
    this.lastDraw = now;
    const share = this.total === 0 ? 1 : Math.min(1, this.done / this.total);
    const text = `replaying ${this.key}: ${this.done} of ${this.total} ticks (${Math.floor(share * 100)} %), ${minute(tick.at)} UTC, ${this.differing} differ`;
    const width = Math.max(20, (this.out.columns || 100) - 1);
    this.out.write(`\r\x1b[2K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
    this.shown = true;
  }

  end(): void {
    if (this.shown) this.out.write("\r\x1b[2K");
    this.shown = false;
  }
}
