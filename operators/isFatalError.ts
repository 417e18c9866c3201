import { ConfigError, StoreConflictError, StoreLockedError } from "../src/errors";

/**
 * Whether an error is one a retry cannot fix, which ends a stream instead of being retried:
 * `StoreConflictError` (the key holds another stream's row), `StoreLockedError` (another holder
 * owns the key, or the lock was lost) or `ConfigError`. `liveTrade$`'s retry rethrows these
 * from its delay function.
 *
 * @example
 * import { retry, timer } from "rxjs";
 * import { isFatalError } from "rxtrade/operators";
 * source$.pipe(retry({ delay: (error) => { if (isFatalError(error)) throw error; return timer(60_001); } }));
 *
 * @param error what the stream failed with
 */
export function isFatalError(error: unknown): boolean {
  return error instanceof StoreConflictError || error instanceof StoreLockedError || error instanceof ConfigError;
}
