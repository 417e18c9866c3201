// The bundled candles, loaded for the benchmarks, which run on the built package under
// plain `node` (no tsx: its keepNames transform would slow the engine and skew the figures).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";

/** The bundled BTCUSDT one-minute candles of March 2023 (30,240 rows). */
export const BUNDLED_CANDLES = fileURLToPath(new URL("../data/BTCUSDT_1m_2023-03-01_2023-03-21.csv.gz", import.meta.url));

/** @returns {import("rxtrade").Candle[]} */
export function loadBundledCandles() {
  const lines = gunzipSync(readFileSync(BUNDLED_CANDLES)).toString("utf8").split("\n");
  const candles = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (!line) continue;
    const [time, open, high, low, close, volume] = line.split(",");
    candles.push({
      timestamp: Date.parse(time.replace(" ", "T")),
      open: Number(open),
      high: Number(high),
      low: Number(low),
      close: Number(close),
      volume: Number(volume),
    });
  }
  return candles;
}
