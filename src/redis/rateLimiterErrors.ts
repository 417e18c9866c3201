import { RxTradeError } from "../errors";

/**
 * `redisRateLimiter`'s `acquire(cost)` was refused: the shared bucket would let the request go
 * only after `waitMs`, more than the limiter's `timeoutMs`. Nothing was taken from the bucket.
 * Thrown at once, not after waiting. Under `ccxtExchange`'s `rateLimiter` option it is the
 * `cause` of the `ExchangeError` the call fails with. (Additive to the API's error list.)
 */
export class RateLimitError extends RxTradeError {
  override readonly name = "RateLimitError";
  constructor(
    /** The limiter's key (the account it limits), e.g. `binance:main`. */
    readonly key: string,
    /** The Redis key of its bucket, e.g. `rxtrade:ratelimit:binance:main`. */
    readonly redisKey: string,
    /** The cost asked for. */
    readonly cost: number,
    /** How long the request would have had to wait, ms. */
    readonly waitMs: number,
    /** The limiter's `timeoutMs`. */
    readonly timeoutMs: number,
    /** The limiter's rate, tokens a second, and burst. */
    readonly ratePerSecond: number,
    readonly burst: number,
  ) {
    super(
      `rxtrade: rate limit ${key} (${ratePerSecond}/s, burst ${burst}, Redis key ${redisKey}): a request of cost ${cost} would wait ${waitMs} ms, ` +
        `more than timeoutMs (${timeoutMs} ms); the processes sharing this key ask for more than ${ratePerSecond}/s — ` +
        "make fewer requests (fewer pairs, longer ticks), raise timeoutMs, or raise ratePerSecond if the venue allows it",
    );
  }
}
