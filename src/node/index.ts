// Stores
export { fileStore, type FileStore } from "./fileStore";

// Candle data
export { csvCandles, parseCandlesCsv } from "./csvCandles";
export { BUNDLED_BTCUSDT_1M } from "./bundledData";

// Errors (re-exported so instanceof works from this entry)
export * from "../errors";
