import { RxTradeError } from "../errors";

/**
 * `redisStore` cannot reach Redis: the connection failed or was lost (reported on `error$` once
 * per outage while the client reconnects with backoff), or the `ioredis` package is not
 * installed. It is also the `cause` of the `StoreReadError` / `StoreWriteError` of a call that
 * failed on it. (Additive to the API's error list.)
 */
export class RedisConnectionError extends RxTradeError {
  override readonly name = "RedisConnectionError";
  /** Where the store connects: its URL without the password, or "the given ioredis client". */
  readonly where: string;
  constructor(where: string, message: string, cause?: unknown) {
    super(`rxtrade: ${message}`, {}, cause);
    this.where = where;
  }
}
