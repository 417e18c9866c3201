import { type MonoTypeOperatorFunction, Observable, type ObservableInput, type Subscriber } from "rxjs";
import type { TickResult } from "../src/model";
import { holdsSignal } from "../src/rules";
import { ChainSubscriber } from "./chainSubscriber";
import { listenStop, type StopListener, type StopRequest } from "./stopRequest";

/**
 * The graceful stop, as seen from the results: once `stop$` has fired, completes right after
 * the first result that leaves nothing open or scheduled (that result is passed on first), or
 * when the source completes. `stop$` is subscribed at once. The source (and a store lock in
 * it) is released before the completion is announced.
 *
 * Why not rxjs's `takeWhile((r) => !stopped || holdsSignal(r), true)`, which reads the same:
 * - The condition is on the value and on an outside event. `takeWhile`'s predicate sees only the
 *   value, so the stop would be a flag that something else subscribes to `stop$` and sets; the
 *   gate subscribes `stop$` itself, at subscription, and owns that state.
 * - It looks at the stop after the result has been passed on, `takeWhile` before: a stop
 *   requested while a result is delivered (from a callback, a `signal$` listener, the
 *   subscriber) ends the stream right after that result, not a tick period later with the next.
 * - It tears its source down (releasing a store lock in it) before announcing the completion;
 *   `takeWhile` announces first and unsubscribes its source after, so whoever hears of the end
 *   (`doneLive$`, a restart of the pair) would find the key still locked.
 * - The stop alone ends nothing: a new signal may still be on its way to the store. Inside
 *   `liveTrade$`, `tick` ends the stream at the stop when nothing is held; this gate is the
 *   same rule, on the results, for pipelines composed without `tick`.
 *
 * ```
 * stop$:          -----s-------
 * source:         --a--a--a--c--a--
 * stopGate(s$):   --a--a--a--c|
 * ```
 *
 * @example
 * source$.pipe(stopGate(fromEvent(process, "SIGTERM")));
 *
 * @param stop$ its first emission requests the stop (a `StopRequest` is shared, not resubscribed)
 */
export function stopGate(stop$: ObservableInput<unknown> | StopRequest): MonoTypeOperatorFunction<TickResult> {
  return (source) =>
    new Observable<TickResult>((subscriber) => {
      const gate = new StopGateSubscriber(subscriber);
      gate.listen(stop$);
      if (!gate.closed) source.subscribe(gate);
    });
}

class StopGateSubscriber extends ChainSubscriber<TickResult> implements StopListener {
  private stopping = false;
  // Held here rather than added to the destination's finalizers: that list is an array per stream.
  private leaveStop: (() => void) | undefined;

  listen(stop$: ObservableInput<unknown> | StopRequest): void {
    const leave = listenStop(stop$, this);
    if (this.closed) leave();
    else this.leaveStop = leave;
  }

  onStop(): void {
    this.stopping = true;
  }

  protected override _next(result: TickResult): void {
    this.out.next(result);
    if (this.stopping && !holdsSignal(result) && !this.closed) {
      // Upstream first, so whoever hears of the completion can start the pair again at once.
      this.unsubscribe();
      this.out.complete();
    }
  }

  override unsubscribe(): void {
    if (this.closed) return;
    super.unsubscribe();
    const leave = this.leaveStop;
    this.leaveStop = undefined;
    leave?.();
  }
}
