import type { CandleDataError, JournalError, ReplayError, StoreLockedError, StoreReadError } from "rxtrade";

/** The rxtrade errors the commands tell apart, by name. */
interface Named {
  CandleDataError: CandleDataError;
  JournalError: JournalError;
  ReplayError: ReplayError;
  StoreLockedError: StoreLockedError;
  StoreReadError: StoreReadError;
}

/**
 * Whether `error` is rxtrade's error `name`, whichever copy of rxtrade made it: by its stable
 * `name` (every rxtrade error class sets it to its own name), not `instanceof`. A command's
 * classes and the errors it sees may come from two copies of the library — the bin's bundle
 * holds copies of what it imports by relative path, and a user's strategy, exchange or store
 * module may load rxtrade from its own install — and `instanceof` fails across copies, turning a
 * typed error the command explains into an "unexpected error" crash.
 */
export function isRxtradeError<N extends keyof Named>(error: unknown, name: N): error is Named[N] {
  return typeof error === "object" && error !== null && (error as { name?: unknown }).name === name && typeof (error as { message?: unknown }).message === "string";
}
