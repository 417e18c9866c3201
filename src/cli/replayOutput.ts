import type { JournalAnswer, JournalCandles } from "rxtrade";
import type { JournalFile, ReplayDecision, ReplaySummary, ReplayTick } from "rxtrade/node";
import { displayPath, minute, price } from "./format";
import type { Output } from "./terminal";

// What rxtrade replay prints: the text report, and the progress line on a terminal.

const REDRAW_EVERY_MS = 80;

/** The text report: what was replayed, then identical, or the first divergence and the count. */
export function replayReport(
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
  if (summary.gapTicks > 0) {
    lines.push(`  skipped (gap): ${summary.gapTicks} tick${summary.gapTicks === 1 ? "" : "s"} the journal dropped (gap entries): missing from the recording, not compared; resynced from the recording after each gap`);
  }
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
export class Progress {
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
