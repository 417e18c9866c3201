import { CANDLE_CHUNKS } from "../backtestWindow";
import { CandleDataError } from "../errors";
import type { Candle } from "../model";
import { type CsvColumns, csvColumns, parseCandleRow, type PreviousRow } from "./csvRows";
import { readLines } from "./csvLines";

const MINUTE = 60_000;
/** Distinct step sizes counted for the interval check (a file with more is mostly gaps anyway). */
const MAX_STEP_SIZES = 256;

/** The gaps in a file's minutes. */
export interface CsvGaps {
  /** Steps of more than a minute between two rows. */
  count: number;
  /** One-minute candles missing in all. */
  missingMinutes: number;
  /** The longest: after the row at `line`, opening at `from`, the next opens at `to`. */
  largest: { from: number; to: number; line: number } | null;
}

/**
 * A CSV file of one-minute candles, checked from end to end and read again, as a stream, each
 * time it is iterated: `runBacktest(symbol, strategy, { candles: file })` keeps only the
 * candles its clock needs, not the file.
 */
export interface CsvCandleFile extends AsyncIterable<Candle> {
  readonly path: string;
  /** Candles (data rows) in the file. */
  readonly rows: number;
  /** Open time of the first candle (ms). */
  readonly first: number;
  /** Open time of the last candle (ms). */
  readonly last: number;
  readonly gaps: CsvGaps;
  /** What is odd but usable, one line per kind with its count (the gaps): say it before a run. */
  readonly warnings: readonly string[];
}

/**
 * Checks a CSV of one-minute candles (`.csv` or `.csv.gz`, read as `csvCandles` reads them) in
 * one streaming pass, and resolves to a handle that streams its candles again when iterated —
 * never the whole file in memory. Refused with a `CandleDataError` naming the file, the line
 * and the value: every row `csvCandles` refuses (a field that is not a number, high < low, open
 * or close outside [low, high], a time in seconds or microseconds, a time repeated or out of
 * order: the file is not sorted for you), a file of another interval (rows mostly 5 minutes
 * apart, say) or rows less than a minute apart, and a file without candles. Gaps are not fatal:
 * `warnings` says how many and the largest, once.
 *
 * @example
 * import { csvCandleFile, runBacktest } from "rxtrade/node";
 * const file = await csvCandleFile("./data/BTCUSDT_1m_2024.csv.gz");
 * for (const warning of file.warnings) console.warn(warning);
 * const result = await runBacktest("BTCUSDT", strategy, { candles: file });
 *
 * @param path the file
 */
export async function csvCandleFile(path: string, options: CsvCheckOptions = {}): Promise<CsvCandleFile> {
  const { signal } = options;
  const scan = new Scan(path);
  const chunks = candleChunks(path);
  // The line the check has reached (the last one of the chunk checked last).
  let line = 1;
  try {
    for (;;) {
      if (signal?.aborted === true) throw new CsvCheckStopped(path, line);
      // A read that does not come (a stalled mount) does not hold a stop back either.
      const next = signal === undefined ? await chunks.next() : await untilAborted(chunks.next(), signal, () => new CsvCheckStopped(path, line));
      if (next.done === true) break;
      const chunk = next.value;
      for (let i = 0; i < chunk.candles.length; i++) scan.row(chunk.candles[i] as Candle, chunk.lines[i] as number);
      line = chunk.lines.at(-1) ?? line;
    }
  } catch (error) {
    // Not awaited: a generator waiting on a read that never comes would hold this up.
    if (error instanceof CsvCheckStopped) void chunks.return(undefined).catch(() => undefined);
    throw error;
  }
  return checkedCsvCandleFile(path, scan.finish());
}

/** Options of `csvCandleFile`. */
export interface CsvCheckOptions {
  /** Stops the check pass where it is (between two chunks of lines, or waiting on a read): it rejects with a `CsvCheckStopped`. */
  signal?: AbortSignal;
}

/** The check of a CSV stopped by its `signal` (e.g. Ctrl-C): `line` is the last line it checked. */
export class CsvCheckStopped extends Error {
  override readonly name = "CsvCheckStopped";
  constructor(
    readonly path: string,
    readonly line: number,
  ) {
    super(`stopped during the check of ${path} at line ${line.toLocaleString("en-US")}`);
  }
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, stopped: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(stopped());
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/**
 * The streaming handle of a file checked before (in another thread, say) without checking it
 * again: `facts` are what that check found. For the command line's backtest worker.
 */
export function checkedCsvCandleFile(path: string, facts: Pick<CsvCandleFile, "rows" | "first" | "last" | "gaps" | "warnings">): CsvCandleFile {
  const file: CsvCandleFile = { path, rows: facts.rows, first: facts.first, last: facts.last, gaps: facts.gaps, warnings: facts.warnings, [Symbol.asyncIterator]: () => candles(path) };
  // The fast way for a backtest: a chunk of candles per await, not one.
  return Object.defineProperty(file, CANDLE_CHUNKS, { value: () => chunksOf(path) });
}

/** The candles of a file, parsed and checked row by row, a chunk at a time (each with its line). */
export async function* candleChunks(path: string): AsyncGenerator<{ candles: Candle[]; lines: number[] }> {
  let columns: CsvColumns | undefined;
  const previous: PreviousRow = { time: Number.NEGATIVE_INFINITY, line: 0 };
  for await (const chunk of readLines(path)) {
    const candles: Candle[] = [];
    const lines: number[] = [];
    for (let i = 0; i < chunk.lines.length; i++) {
      const text = chunk.lines[i] as string;
      const line = chunk.first + i;
      if (columns === undefined) {
        columns = csvColumns(line === 1 ? text.replace(/^\uFEFF/, "") : text, path);
        continue;
      }
      if (text.trim() === "") continue;
      candles.push(parseCandleRow(text, line, columns, path, previous));
      lines.push(line);
    }
    if (candles.length > 0) yield { candles, lines };
  }
  if (columns === undefined) csvColumns("", path);
}

async function* chunksOf(path: string): AsyncGenerator<readonly Candle[]> {
  for await (const chunk of candleChunks(path)) yield chunk.candles;
}

// The candles of a file, one at a time, read as they are asked for.
async function* candles(path: string): AsyncGenerator<Candle> {
  for await (const chunk of candleChunks(path)) yield* chunk.candles;
}

/** What one pass learns of a file: its span, the steps between rows, the gaps. */
class Scan {
  private rows = 0;
  private first = Number.NaN;
  private last = Number.NaN;
  private lastLine = 0;
  /** Rows apart by a step of this many minutes: how many, and the line of the first. */
  private readonly steps = new Map<number, { count: number; line: number }>();
  private readonly gaps: CsvGaps = { count: 0, missingMinutes: 0, largest: null };

  constructor(private readonly path: string) {}

  row(candle: Candle, line: number): void {
    this.rows++;
    const time = candle.timestamp;
    if (this.rows === 1) this.first = time;
    else {
      const step = time - this.last;
      if (step % MINUTE !== 0) {
        throw new CandleDataError({
          path: this.path,
          line,
          message:
            `the candle opens ${step < MINUTE ? `${step / 1000} s` : `${(step / MINUTE).toFixed(2)} minutes`} after line ${this.lastLine}'s (${iso(this.last)} → ${iso(time)}): ` +
            "one-minute candles open whole minutes apart; give a file of 1m candles (open times on the minute)",
        });
      }
      const minutes = step / MINUTE;
      const seen = this.steps.get(minutes);
      if (seen !== undefined) seen.count++;
      else if (this.steps.size < MAX_STEP_SIZES) this.steps.set(minutes, { count: 1, line });
      if (minutes > 1) {
        this.gaps.count++;
        this.gaps.missingMinutes += minutes - 1;
        if (this.gaps.largest === null || step > this.gaps.largest.to - this.gaps.largest.from) this.gaps.largest = { from: this.last, to: time, line: this.lastLine };
      }
    }
    this.last = time;
    this.lastLine = line;
  }

  finish(): { rows: number; first: number; last: number; gaps: CsvGaps; warnings: string[] } {
    if (this.rows === 0) {
      throw new CandleDataError({ path: this.path, line: 2, message: "the file holds no candles, only its header; give one row per minute: timestamp,open,high,low,close,volume" });
    }
    let usual: { minutes: number; count: number; line: number } | undefined;
    for (const [minutes, seen] of this.steps) if (usual === undefined || seen.count > usual.count) usual = { minutes, ...seen };
    if (usual !== undefined && usual.minutes !== 1) {
      const steps = this.rows - 1;
      throw new CandleDataError({
        path: this.path,
        line: usual.line,
        message:
          `the candles are ${usual.minutes} minutes apart (${usual.count.toLocaleString("en-US")} of ${steps.toLocaleString("en-US")} steps; the first ends at this line): ` +
          `these look like ${usual.minutes}-minute candles, not one-minute ones. A backtest replays 1m candles (and builds wider intervals from them): give a file of 1m candles`,
      });
    }
    const warnings: string[] = [];
    const largest = this.gaps.largest;
    if (largest !== null) {
      const minutes = (largest.to - largest.from) / MINUTE - 1;
      warnings.push(
        `${this.path}: ${this.gaps.count.toLocaleString("en-US")} gap${this.gaps.count === 1 ? "" : "s"} in the minutes, ` +
          `${this.gaps.missingMinutes.toLocaleString("en-US")} one-minute candle${this.gaps.missingMinutes === 1 ? "" : "s"} missing in all; ` +
          `the largest, ${minutes.toLocaleString("en-US")} minute${minutes === 1 ? "" : "s"}, after line ${largest.line.toLocaleString("en-US")} ` +
          `(${iso(largest.from + MINUTE)} to ${iso(largest.to - MINUTE)}). A tick in a gap prices with what is left of its window, or fails on error$ when nothing is; ` +
          "fill the gaps, or keep --from/--to out of them",
      );
    }
    return { rows: this.rows, first: this.first, last: this.last, gaps: this.gaps, warnings };
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(":00.000Z", "Z");
}
