import { filter, type OperatorFunction } from "rxjs";
import type { TickResult, TickResultClosed, TickResultOpened } from "../src/model";

/**
 * Keeps the results a trader acts on: `opened` and `closed`.
 *
 * ```
 * source:              --i--o--a--a--c--i--
 * keepOpenedClosed():  -----o--------c-----
 * ```
 *
 * @example
 * source$.pipe(keepOpenedClosed()).subscribe((r) => console.log(r.action, r.signal.id));
 */
export function keepOpenedClosed(): OperatorFunction<TickResult, TickResultOpened | TickResultClosed> {
  return filter((result): result is TickResultOpened | TickResultClosed => result.action === "opened" || result.action === "closed");
}
