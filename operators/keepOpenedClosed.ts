import { filter, type OperatorFunction } from "rxjs";
import type { TickResult, TickResultClosed, TickResultOpened } from "../src/model";
import { isOpenedOrClosed } from "./isOpenedOrClosed";

/**
 * Keeps the results a trader acts on: `opened` and `closed`. It is rxjs's
 * `filter(isOpenedOrClosed)`, which `liveTrade$` spells out; kept under this name for
 * pipelines of your own.
 *
 * ```
 * source:              --i--o--a--a--c--i--
 * keepOpenedClosed():  -----o--------c-----
 * ```
 *
 * @example
 * import { keepOpenedClosed } from "rxtrade/operators";
 * liveTicks$("BTCUSDT", strategy, { exchange }).pipe(keepOpenedClosed())
 *   .subscribe((r) => console.log(r.action, r.signal.id));
 */
export function keepOpenedClosed(): OperatorFunction<TickResult, TickResultOpened | TickResultClosed> {
  return filter(isOpenedOrClosed);
}
