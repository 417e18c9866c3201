import { fileURLToPath } from "node:url";

/**
 * Path of the one-minute candles of BTC/USDT on Binance.US (not Binance's global exchange) from
 * 2023-03-01 00:00 to 2023-03-21 23:59 UTC (30,240 rows, gzipped CSV; prices in USDT, volume in
 * BTC) shipped with the package, for demos and tests: `await csvCandles(BUNDLED_BTCUSDT_1M)`.
 * Source: the public repository cl8550-crypto/iaqf_analysis, `data/raw/BTCUSDT_1m_20230301_20230321.csv`,
 * copied unchanged.
 */
export const BUNDLED_BTCUSDT_1M: string = bundled("BTCUSDT_1m_2023-03-01_2023-03-21.csv.gz");

function bundled(name: string): string {
  // Source: src/node/ -> ../../data; built: dist/ -> ../data. Both resolve from this module.
  const url = import.meta.url;
  const depth = /\/src\/node\/[^/]+$/.test(url) ? "../../data/" : "../data/";
  return fileURLToPath(new URL(depth + name, url));
}
