// Streams
export { liveTrade$, liveTicks$ } from "./liveTrade";
export { tradeContext, DEFAULT_TICK_MS, type TradeContext } from "./tradeContext";

// Stores
export { memoryStore } from "./stores/memoryStore";
export { fromPersistBase, type PersistBaseAdapter } from "./stores/fromPersistBase";
export { STATE_VERSION, encodeState, decodeState, type StoredState } from "./stateCodec";

// Journals
export {
  memoryJournal,
  journalTail,
  journalEntryProblem,
  JOURNAL_LEVELS,
  type Journal,
  type JournalEntry,
  type JournalTrade,
  type JournalTick,
  type JournalRun,
  type JournalIntent,
  type JournalGap,
  type JournalTradeResult,
  type JournalCandles,
  type JournalAnswer,
  type JournalErrorInfo,
  type JournalRecovery,
  type JournalTail,
  type JournalLevel,
} from "./journal";

// Schedulers
export { acceleratedScheduler, type AcceleratedSchedulerOptions } from "./schedulers/acceleratedScheduler";
export { batchedScheduler } from "./schedulers/batchedScheduler";

// Exchanges
export { replayExchange, type ReplayExchangeOptions } from "./exchanges/replayExchange";

// Facade
export { Live, Performance, setDefaultStore, setDefaultJournal, type LiveContext, type LiveRun, type LiveResult, type LiveStatus } from "./live/live";

// Statistics and reports
export { LiveStatisticsCollector, liveStatistics, DEFAULT_MAX_EVENTS, type LiveStatistics } from "./live/liveStatistics";
export { liveReport, defaultReportColumns, noteReportColumn, type ReportColumn } from "./live/liveReport";
export { PerformanceCollector, performanceReport, type PerformanceStatistics } from "./live/performanceStatistics";
export {
  readLiveHistory,
  journalStatistics,
  historyStatistics,
  journalPerformance,
  TradeLedger,
  type LiveHistory,
  type EndedUnrecorded,
  type HistoryOptions,
} from "./live/liveHistory";

// Registries
export { addStrategy, addExchange, getStrategy, getExchange } from "./registry";

// Events
export {
  signal$,
  signalLive$,
  performance$,
  error$,
  doneLive$,
  exit$,
  listenSignal,
  listenSignalLive,
  listenSignalLiveOnce,
  listenPerformance,
  listenDoneLive,
  listenError,
  listenExit,
  setLogger,
  type PerformanceEvent,
  type DoneEvent,
  type Logger,
} from "./events";

// Trading rules (pure)
export { evaluate, holdsSignal, type Transition } from "./rules";
export { createSignal, signalProblems, type SignalState, type SignalStatus, type StreamIdentity } from "./signal";
export { pnl } from "./pnl";
export { vwapPrice, windowStart, checkCandles, normalizeCandles } from "./pricing";

// Config
export { setConfig, getConfig, getDefaultConfig, resolveConfig, validateConfig, type Config } from "./config";

// Errors
export {
  RxTradeError,
  InvalidSignalError,
  ConfigError,
  ExchangeError,
  StrategyError,
  StoreReadError,
  StoreWriteError,
  StoreLockedError,
  StoreConflictError,
  CandleDataError,
  CallTimeoutError,
  StreamStalledError,
  ReportWriteError,
  RegistryError,
  JournalError,
  ReplayError,
  SchemaError,
  ArgumentError,
  ArgumentRangeError,
  ArgumentSyntaxError,
  ListenerError,
  StoreListError,
  type ErrorContext,
  type ArgumentProblem,
} from "./errors";

// Types
export type {
  Position,
  SignalInterval,
  CandleInterval,
  Candle,
  MaybeAsync,
  SignalDto,
  SignalRow,
  CloseReason,
  CancelReason,
  Pnl,
  TickResult,
  TickAction,
  TickResultIdle,
  TickResultScheduled,
  TickResultOpened,
  TickResultActive,
  TickResultClosed,
  TickResultCancelled,
  SignalContext,
  StrategyCallbacks,
  StrategySchema,
  ExchangeSchema,
  SignalStore,
  LockRelease,
  LiveOptions,
} from "./model";
