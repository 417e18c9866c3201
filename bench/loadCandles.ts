import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import type { Candle } from "rxtrade";

/** The bundled BTCUSDT one-minute candles of March 2023 (30,240 rows). */
export const BUNDLED_CANDLES = fileURLToPath(new URL("../data/BTCUSDT_1m_2023-03-01_2023-03-21.csv.gz", import.meta.url));

export function loadBundledCandles(): Candle[] {
  const text = gunzipSync(readFileSync(BUNDLED_CANDLES)).toString("utf8");
  const lines = text.split("\n");
  const candles: Candle[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (!line) continue;
    const [time, open, high, low, close, volume] = line.split(",");
    candles.push({
      timestamp: Date.parse((time as string).replace(" ", "T")),
      open: Number(open),
      high: Number(high),
      low: Number(low),
      close: Number(close),
      volume: Number(volume),
    });
  }
  return candles;
}
