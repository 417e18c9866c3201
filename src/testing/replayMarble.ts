import type { SchedulerLike } from "rxjs";
import { replayExchange } from "../exchanges/replayExchange";
import type { ExchangeSchema } from "../model";
import { type CandleOptions, candlesFromMarble } from "./candles";

/**
 * A replay exchange on the test clock, from a price marble (one character per minute, see
 * `candlesFromMarble`). With `CC_AVG_PRICE_CANDLES_COUNT: 1`, the tick at time t sees the price
 * of the minute that closed last before t.
 *
 * @example
 * testScheduler.run(() => {
 *   const exchange = marbleExchange("a----b----c", { a: 100, b: 102, c: 97 }, testScheduler, { start: -60_000 });
 *   …
 * });
 */
export function marbleExchange(
  marble: string,
  values: Readonly<Record<string, number>>,
  clock: Pick<SchedulerLike, "now">,
  options: CandleOptions & { exchangeName?: string } = {},
): ExchangeSchema {
  return replayExchange(candlesFromMarble(marble, values, options), clock, { exchangeName: options.exchangeName ?? "marble" });
}
