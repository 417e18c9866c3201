import type { Candle } from "../model";
import { candleChunks } from "./csvCandleFile";
import { csvColumns, parseCandleRow, type PreviousRow } from "./csvRows";

export { csvCandleFile, type CsvCandleFile, type CsvGaps } from "./csvCandleFile";

/**
 * Reads one-minute (or any width) candles from a CSV file, `.csv` or gzipped `.csv.gz`.
 * The header names a time column — `timestamp` or `open_time`, holding ms since the epoch
 * or ISO 8601 text (`2023-03-01 00:00:00+00:00` works) — and `open`, `high`, `low`, `close`,
 * `volume`, in any order. Every row is checked: a missing field, a value that is not a finite
 * number, a price <= 0, a negative volume, high < low, open or close outside [low, high], a
 * time in seconds or microseconds (not ms), or a time that does not increase (repeated or out
 * of order: nothing is sorted for you) throws a `CandleDataError` naming the file, the line,
 * the value and the fix. The whole file ends up in memory: for a backtest over a long file,
 * `csvCandleFile` streams it instead.
 *
 * @example
 * import { csvCandles } from "rxtrade/node";
 * const candles = await csvCandles("./data/BTCUSDT_1m.csv.gz");
 */
export async function csvCandles(path: string): Promise<Candle[]> {
  const candles: Candle[] = [];
  for await (const chunk of candleChunks(path)) {
    for (const candle of chunk.candles) candles.push(candle);
  }
  return candles;
}

/** Parses CSV text as `csvCandles` does; `source` names it in errors. */
export function parseCandlesCsv(text: string, source = "<csv>"): Candle[] {
  const lines = text.split(/\r?\n/);
  const columns = csvColumns((lines[0] ?? "").replace(/^\uFEFF/, ""), source);
  const previous: PreviousRow = { time: Number.NEGATIVE_INFINITY, line: 0 };
  const candles: Candle[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === "") continue;
    candles.push(parseCandleRow(line, i + 1, columns, source, previous));
  }
  return candles;
}
