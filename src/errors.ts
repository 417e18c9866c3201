/**
 * One class per failure mode. Each has a stable `name` (safe across bundles and minifiers),
 * the context it happened in, and the original error in `cause`.
 */
// The classes live by what fails (errorBase, engineErrors, storeErrors, journalErrors,
// argumentErrors); every one is imported from here.

// Base
export { RxTradeError } from "./errorBase";
export type { ErrorContext } from "./errorBase";

// Streams
export {
  CallTimeoutError,
  CandleDataError,
  ConfigError,
  ExchangeError,
  InvalidSignalError,
  ListenerError,
  RegistryError,
  StrategyError,
  StreamStalledError,
} from "./engineErrors";

// Stores
export { StoreConflictError, StoreListError, StoreLockedError, StoreReadError, StoreWriteError } from "./storeErrors";

// Journal, reports, replays
export { JournalError, ReplayError, ReportWriteError } from "./journalErrors";

// Arguments and schemas
export { ArgumentError, ArgumentRangeError, ArgumentSyntaxError, SchemaError } from "./argumentErrors";
export type { ArgumentProblem } from "./argumentErrors";
