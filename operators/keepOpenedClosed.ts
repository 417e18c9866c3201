import { Observable, type OperatorFunction } from "rxjs";
import { ChainSubscriber } from "./chainSubscriber";
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
  return (source) =>
    new Observable<TickResultOpened | TickResultClosed>((subscriber) => {
      source.subscribe(new OpenedClosedSubscriber(subscriber));
    });
}

class OpenedClosedSubscriber extends ChainSubscriber<TickResult, TickResultOpened | TickResultClosed> {
  protected override _next(result: TickResult): void {
    if (result.action === "opened" || result.action === "closed") this.out.next(result);
  }
}
