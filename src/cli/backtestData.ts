import { readdir, stat } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { type Candle, getConfig } from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandleFile, type CsvCandleFile } from "rxtrade/node";
import type { WindowFlags } from "./backtestFlags";
import { displayPath, minute } from "./format";
import { isRxtradeError } from "./rxtradeErrors";
import { UsageError } from "./usage";

const MINUTE = 60_000;
/** The default start is this far into the data (as the demo's), so strategies have their history. */
const WARM_UP_MINUTES = 120;
const BUNDLED_NAME = "Binance.US BTC/USDT one-minute candles";
/** Names of skipped folder entries listed before "and N more". */
const SKIPPED_SHOWN = 5;

/** Candles to backtest, what is known of them before the run, and how to describe them. */
export interface CandleSource {
  /** An array (fetched), or a checked CSV file, streamed by the run. */
  candles: readonly Candle[] | CsvCandleFile;
  /** Open times of the first and last candle, and how many there are. */
  first: number;
  last: number;
  rows: number;
  /** Said once, before the run (a file's gaps). */
  warnings: readonly string[];
  /** What the data are, given their first and last minute. */
  description: (range: string) => string;
}

/** The bundled Binance.US BTC/USDT minutes, streamed from the package's file. */
export async function bundledSource(): Promise<CandleSource> {
  const file = await csvCandleFile(BUNDLED_BTCUSDT_1M);
  return { ...fileFacts(file), description: (range) => `${BUNDLED_NAME} ${range}, prices in USDT, bundled (no network)` };
}

/** `--data <file>`: checked from end to end before the run (a row that is not a candle is exit 2, with its line), then streamed. */
export async function fileSource(path: string, signal?: AbortSignal): Promise<CandleSource> {
  let file: CsvCandleFile;
  try {
    file = await csvCandleFile(path, { signal });
  } catch (error) {
    // Ctrl-C during the check: said by the command, exit 130.
    if ((error as { name?: unknown })?.name === "CsvCheckStopped") throw new CheckStopped((error as Error).message);
    if (isRxtradeError(error, "CandleDataError")) throw new UsageError("backtest", `--data ${error.message.replace(/^rxtrade: /, "")}; give a CSV of one-minute candles (timestamp,open,high,low,close,volume)`);
    throw error;
  }
  return { ...fileFacts(file), description: (range) => `${displayPath(resolve(path))}, one-minute candles ${range}` };
}

/** Ctrl-C stopped the check of a file before the run: `message` says where (`stopped during the check of <file> at line N`). */
export class CheckStopped extends Error {
  override readonly name = "CheckStopped";
}

/** Candles fetched from an exchange (in memory: the window and a day before it). */
export function arraySource(candles: readonly Candle[], description: (range: string) => string): CandleSource {
  return { candles, first: (candles[0] as Candle).timestamp, last: (candles.at(-1) as Candle).timestamp, rows: candles.length, warnings: [], description };
}

function fileFacts(file: CsvCandleFile): Omit<CandleSource, "description"> {
  return { candles: file, first: file.first, last: file.last, rows: file.rows, warnings: file.warnings };
}

/** What a worker is given: one CSV file to backtest. */
export interface CsvJob extends WindowFlags {
  file: string;
  symbol: string;
  strategy: string;
  moduleTimeoutMs: number;
}

/**
 * The jobs of a folder: each .csv / .csv.gz file, its symbol from its name. What is not one —
 * a dotfile (.DS_Store, .gitkeep, macOS's ._BTCUSDT.csv), a folder, README.md — is skipped and
 * listed in `skipped`; only a folder without any CSV is refused.
 */
export async function folderJobs(dir: string, strategy: string, moduleTimeoutMs: number, window: WindowFlags): Promise<{ jobs: CsvJob[]; skipped: string[] }> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const names: string[] = [];
  const skipped: string[] = [];
  for (const entry of entries) {
    const isFile = entry.isFile() || (entry.isSymbolicLink() && (await stat(join(dir, entry.name)).then((info) => info.isFile(), () => false)));
    if (isFile && !entry.name.startsWith(".") && /\.csv(\.gz)?$/i.test(entry.name)) names.push(entry.name);
    else skipped.push(isFile || !entry.isDirectory() ? entry.name : `${entry.name}/`);
  }
  if (names.length === 0) {
    const others = skipped.length === 0 ? "" : ` (only ${listed(skipped)})`;
    throw new UsageError("backtest", `--data ${dir} holds no .csv or .csv.gz file${others}; put one file of one-minute candles per symbol in it (e.g. BTCUSDT.csv)`);
  }
  const jobs = names.map((name): CsvJob => ({ file: resolve(dir, name), symbol: symbolOfFile(name), strategy, moduleTimeoutMs, ...window }));
  const bySymbol = new Map<string, string[]>();
  for (const job of jobs) bySymbol.set(job.symbol, [...(bySymbol.get(job.symbol) ?? []), basename(job.file)]);
  for (const [symbol, files] of bySymbol) {
    if (files.length > 1) {
      throw new UsageError("backtest", `--data ${dir}: ${files.join(" and ")} both name the symbol ${symbol} (the name up to the first "_"); keep one file per symbol`);
    }
  }
  return { jobs, skipped };
}

/** `a, b, c and 4 more`. */
export function listed(names: readonly string[]): string {
  const shown = names.slice(0, SKIPPED_SHOWN).join(", ");
  return names.length > SKIPPED_SHOWN ? `${shown} and ${names.length - SKIPPED_SHOWN} more` : shown;
}

/** The symbol a CSV file is named after: `BTCUSDT_1m_2023-03.csv.gz` -> `BTCUSDT`. */
export function symbolOfFile(path: string): string {
  const name = basename(path).replace(/\.csv(\.gz)?$/i, "");
  const symbol = name.split("_")[0] ?? "";
  if (!/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(symbol)) {
    throw new UsageError("backtest", `cannot tell a symbol from the file name ${JSON.stringify(basename(path))}; name the file after its symbol (e.g. BTCUSDT.csv or BTCUSDT_1m.csv.gz), or give --symbol`);
  }
  return symbol;
}

/** A run's window over its data. */
export interface WindowPlan {
  from: number;
  to: number;
  /** The close of the data's last candle. */
  dataEnd: number;
}

/**
 * The window of a run over data from `first` to `last` (open times): --from and --to as given,
 * else two hours into the data and its end. Refuses (with `fail`) a --from the data cannot price
 * with a full VWAP window, and a window that ends before it starts.
 */
export function planWindow(data: { first: number; last: number; rows: number }, window: Pick<WindowFlags, "from" | "to">, fail: (problem: string) => Error): WindowPlan {
  const { first, last } = data;
  if (data.rows === 0) throw fail("the data hold no candles; give one-minute candles (timestamp,open,high,low,close,volume)");
  const count = getConfig().CC_AVG_PRICE_CANDLES_COUNT;
  const earliest = first + count * MINUTE;
  const dataEnd = last + MINUTE;
  if (earliest >= dataEnd) throw fail(`the data hold ${data.rows} candle(s), too few to price a tick (${count + 1} one-minute candles at least)`);
  const from = window.from ?? Math.min(first + WARM_UP_MINUTES * MINUTE, dataEnd - MINUTE);
  if (from < earliest || from >= dataEnd) {
    throw fail(
      `--from ${isoMinute(from)} is outside the data (${minute(first)} → ${minute(last)} UTC); ` +
        `give a time from ${isoMinute(earliest)} to ${isoMinute(dataEnd - MINUTE)}, e.g. --from ${isoMinute(Math.min(first + WARM_UP_MINUTES * MINUTE, dataEnd - MINUTE))}`,
    );
  }
  const to = window.to ?? dataEnd;
  if (to <= from) {
    throw fail(`--to ${isoMinute(to)} is not after the start${window.from === undefined ? ` (two hours into the data, ${isoMinute(from)})` : ` --from ${isoMinute(from)}`}; give a later --to`);
  }
  return { from, to, dataEnd };
}

export function isoMinute(ms: number): string {
  return new Date(ms).toISOString().replace(":00.000Z", "Z");
}
