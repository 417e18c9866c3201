import type { TickResult, TickResultClosed, TickResultOpened } from "../src/model";

/**
 * Whether a tick result opened or closed a signal: the type guard `liveTrade$` gives rxjs's
 * `filter` to keep the results a trader acts on.
 *
 * ```
 * source:                    --i--o--a--a--c--i--
 * filter(isOpenedOrClosed):  -----o--------c-----
 * ```
 *
 * @example
 * import { filter } from "rxjs";
 * import { isOpenedOrClosed } from "rxtrade/operators";
 * liveTicks$("BTCUSDT", strategy, { exchange }).pipe(filter(isOpenedOrClosed));
 *
 * @param result a tick result
 */
export function isOpenedOrClosed(result: TickResult): result is TickResultOpened | TickResultClosed {
  return result.action === "opened" || result.action === "closed";
}
