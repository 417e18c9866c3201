import { fileURLToPath } from "node:url";

/**
 * Path of the BTCUSDT one-minute candles of 2023-03-01 to 2023-03-21 (30,240 rows, gzipped CSV)
 * shipped with the package, for demos and tests: `await csvCandles(BUNDLED_BTCUSDT_1M)`.
 */
export const BUNDLED_BTCUSDT_1M: string = bundled("BTCUSDT_1m_2023-03-01_2023-03-21.csv.gz");

function bundled(name: string): string {
  // Source: src/node/ -> ../../data; built: dist/ -> ../data. Both resolve from this module.
  const url = import.meta.url;
  const depth = /\/src\/node\/[^/]+$/.test(url) ? "../../data/" : "../data/";
  return fileURLToPath(new URL(depth + name, url));
}
