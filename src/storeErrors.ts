// The errors of the stores: a key that cannot be read, written or locked, a key holding another
// stream's value, and a store folder that cannot be listed.
import { type ErrorContext, RxTradeError } from "./errorBase";

/**
 * A stored value could not be read. When `quarantinedTo` is set, the corrupt value was moved
 * aside there and the key now reads as empty (the engine starts it fresh); otherwise the read
 * failed (I/O, permissions) and is retried.
 */
export class StoreReadError extends RxTradeError {
  override readonly name = "StoreReadError";
  readonly key: string;
  readonly path: string | undefined;
  readonly quarantinedTo: string | undefined;
  constructor(options: { key: string; path?: string; quarantinedTo?: string; cause?: unknown; message?: string }) {
    const moved = options.quarantinedTo ? `; moved aside to ${options.quarantinedTo}, the key starts fresh` : "";
    super(
      `rxtrade: cannot read ${options.key}${options.path ? ` (${options.path})` : ""}: ${options.message ?? describe(options.cause)}${moved}`,
      {},
      options.cause,
    );
    this.key = options.key;
    this.path = options.path;
    this.quarantinedTo = options.quarantinedTo;
  }
}

/**
 * A write did not become durable — or a store's `lock` (the write that claims a key) failed:
 * it threw, rejected or returned something that is not a release, as `fileStore`'s own lock
 * does when its lock file cannot be written. `message` (when given) replaces the default text.
 */
export class StoreWriteError extends RxTradeError {
  override readonly name = "StoreWriteError";
  readonly key: string;
  readonly path: string | undefined;
  constructor(options: { key: string; path?: string; cause?: unknown; message?: string }) {
    super(
      `rxtrade: ${options.message ?? `cannot write ${options.key}${options.path ? ` (${options.path})` : ""}: ${describe(options.cause)}`}`,
      {},
      options.cause,
    );
    this.key = options.key;
    this.path = options.path;
  }
}

/**
 * Another stream or process holds the key, or this stream lost its lock. `message` (when given)
 * replaces the default text; `hostname` and `path` name the holder's host and the lock file.
 */
export class StoreLockedError extends RxTradeError {
  override readonly name = "StoreLockedError";
  readonly key: string;
  readonly pid: number | undefined;
  readonly hostname: string | undefined;
  readonly path: string | undefined;
  constructor(options: { key: string; pid?: number; hostname?: string; path?: string; message?: string; cause?: unknown }) {
    super(
      options.message === undefined
        ? `rxtrade: ${options.key} is locked by ${options.pid === undefined ? "another stream" : `process ${options.pid}`}; ` +
            `stop that stream first (one stream per symbol and strategy per store)`
        : `rxtrade: ${options.message}`,
      {},
      options.cause,
    );
    this.key = options.key;
    this.pid = options.pid;
    this.hostname = options.hostname;
    this.path = options.path;
  }
}

/**
 * The store holds, under this stream's key, a value that is not this stream's: another
 * strategy's or exchange's signal, or a value the engine does not recognise. It is neither
 * traded nor overwritten; the stream ends with this error. (Additive to the API's error list.)
 */
export class StoreConflictError extends RxTradeError {
  override readonly name = "StoreConflictError";
  readonly key: string;
  readonly found: unknown;
  constructor(options: { key: string; found: unknown; reason: string; context?: ErrorContext }) {
    super(
      `rxtrade: ${options.key} holds ${options.reason}; it is left untouched. ` +
        `Resume it with the stream that wrote it, use another store, or clear the key (store.write(key, null)) if it is obsolete`,
      options.context ?? {},
    );
    this.key = options.key;
    this.found = options.found;
  }
}

/**
 * A store folder could not be listed (`listFileStore` of `rxtrade/node`): it does not exist
 * (`code` `ENOENT`), is a file (`ENOTDIR`) or cannot be read (`EACCES`, …). `path` is the
 * folder, absolute; the system error is in `cause`. (Additive to the API's error list.)
 */
export class StoreListError extends RxTradeError {
  override readonly name = "StoreListError";
  readonly path: string;
  /** The system error's code (`ENOENT`, `ENOTDIR`, `EACCES`, …), when it has one. */
  readonly code: string | undefined;
  constructor(options: { path: string; message: string; code?: string; cause?: unknown }) {
    super(`rxtrade: cannot list the store folder ${options.path}: ${options.message}`, {}, options.cause);
    this.path = options.path;
    this.code = options.code;
  }
}

function describe(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  return String(cause);
}
