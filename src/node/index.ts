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
export { csvCandles, parseCandlesCsv } from "./csvCandles";
export { BUNDLED_BTCUSDT_1M } from "./bundledData";

// Errors (re-exported so instanceof works from this entry)
export * from "../errors";
