import { readFile } from "node:fs/promises";
import { gunzip } from "node:zlib";
import { promisify } from "node:util";
import { CandleDataError } from "../errors";
import type { Candle } from "../model";

const gunzipAsync = promisify(gunzip);
const REQUIRED = ["open", "high", "low", "close", "volume"] as const;

/**
 * Reads one-minute (or any width) candles from a CSV file, `.csv` or gzipped `.csv.gz`.
 * The header names a time column — `timestamp` or `open_time`, holding ms since the epoch
 * or ISO 8601 text (`2023-03-01 00:00:00+00:00` works) — and `open`, `high`, `low`, `close`,
 * `volume`, in any order. Every row is checked: a missing field, a value that is not a finite
 * number, a price <= 0, a negative volume or a time that does not increase throws a
 * `CandleDataError` naming the file and line.
 *
 * @example
 * import { csvCandles } from "rxtrade/node";
 * const candles = await csvCandles("./data/BTCUSDT_1m.csv.gz");
 */
export async function csvCandles(path: string): Promise<Candle[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw new CandleDataError({ path, message: `cannot read the file: ${(cause as Error).message}`, cause });
  }
  if (path.endsWith(".gz") || (bytes[0] === 0x1f && bytes[1] === 0x8b)) {
    try {
      bytes = await gunzipAsync(bytes);
    } catch (cause) {
      throw new CandleDataError({ path, message: `not a valid gzip file: ${(cause as Error).message}`, cause });
    }
  }
  return parseCandlesCsv(bytes.toString("utf8"), path);
}

/** Parses CSV text as `csvCandles` does; `source` names it in errors. */
export function parseCandlesCsv(text: string, source = "<csv>"): Candle[] {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? "").split(",").map((name) => name.trim().toLowerCase());
  const timeColumn = header.findIndex((name) => name === "timestamp" || name === "open_time");
  const missing = [timeColumn < 0 ? "timestamp (or open_time)" : undefined, ...REQUIRED.filter((name) => !header.includes(name))].filter(
    (name) => name !== undefined,
  );
  if (missing.length > 0) {
    throw new CandleDataError({
      path: source,
      line: 1,
      message: `the header ${JSON.stringify(lines[0] ?? "")} lacks ${missing.join(", ")}; expected timestamp,open,high,low,close,volume`,
    });
  }
  const [open, high, low, close, volume] = REQUIRED.map((name) => header.indexOf(name)) as [number, number, number, number, number];
  const candles: Candle[] = [];
  let previous = -Infinity;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === "") continue;
    const fail = (message: string): never => {
      throw new CandleDataError({ path: source, line: i + 1, message: `${message} in ${JSON.stringify(line)}` });
    };
    const fields = line.split(",");
    if (fields.length !== header.length) fail(`expected ${header.length} fields, got ${fields.length}`);
    const timestamp = parseTime((fields[timeColumn] as string).trim());
    if (timestamp === undefined) fail(`the time ${JSON.stringify(fields[timeColumn])} is neither ms nor ISO 8601`);
    if ((timestamp as number) <= previous) fail(`the time does not increase (previous row ${new Date(previous).toISOString()})`);
    const number = (column: number, name: string) => {
      const text = (fields[column] as string).trim();
      const value = text === "" ? Number.NaN : Number(text);
      if (!Number.isFinite(value)) fail(`${name} ${JSON.stringify(text)} is not a finite number`);
      return value;
    };
    const candle: Candle = {
      timestamp: timestamp as number,
      open: number(open, "open"),
      high: number(high, "high"),
      low: number(low, "low"),
      close: number(close, "close"),
      volume: number(volume, "volume"),
    };
    if (!(candle.open > 0 && candle.high > 0 && candle.low > 0 && candle.close > 0)) fail("prices must be > 0");
    if (candle.volume < 0) fail("volume must be >= 0");
    previous = candle.timestamp;
    candles.push(candle);
  }
  return candles;
}

function parseTime(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  // "2023-03-01 00:00:00+00:00" is ISO 8601 with a space; Date.parse wants the "T".
  const ms = Date.parse(text.includes("T") ? text : text.replace(" ", "T"));
  return Number.isFinite(ms) ? ms : undefined;
}
