// Stores
export { fileStore, type FileStore, type FileStoreOptions } from "./fileStore";
export type { WatchedRelease } from "./lockWatch";
export { listFileStore, type FileStoreListing, type ListedKey } from "./storeListing";
export type { LockInspection, LockOwner } from "./lockFile";
export type { HolderState, ProcessIdentity } from "./processIdentity";

// Journals
export { fileJournal, JOURNAL_DIR, DEFAULT_JOURNAL_MAX_BYTES, type FileJournal, type FileJournalOptions, type JournalWarning } from "./fileJournal";
export { readJournalFile, type JournalFile, type ReadJournalFileOptions } from "./replayFile";

// Reports
export { reportFileName, writeReport, type ReportModes } from "../live/writeReport";

// Candle data
export { csvCandles, csvCandleFile, parseCandlesCsv, type CsvCandleFile, type CsvGaps } from "./csvCandles";
export { BUNDLED_BTCUSDT_1M } from "./bundledData";

// Errors (re-exported so instanceof works from this entry)
export * from "../errors";

// Backtest and replay through the live loop, in virtual time (pure, but kept out of the core
// entry: a browser app that runs the loop does not pay for them).
export { backtest$, runBacktest, type BacktestOptions, type BacktestResult, type BacktestTrade, type BacktestOpenSignal } from "../backtest";
export {
  replayJournal$,
  runReplay,
  type ReplaySource,
  type ReplayStrategy,
  type ReplayOptions,
  type ReplayRunInfo,
  type ReplaySummary,
  type ReplayRunSummary,
  type ReplayDivergence,
} from "../replay";
export {
  decideTicks,
  decisionDifferences,
  compareTick,
  type ReplayTick,
  type ReplayDecision,
  type ReplaySignal,
  type ReplayInputs,
  type ReplayRequest,
  type DecidedTick,
} from "../replayDiff";
