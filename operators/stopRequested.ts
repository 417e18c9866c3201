import { Observable } from "rxjs";
import type { StopRequest } from "./stopRequest";

/**
 * Emits once when the run's stop is requested (at once when it already was) and never
 * completes: the notifier a retry's delay races its timer with, so that a stop cuts the wait
 * short.
 *
 * ```
 * stop:                   --------s----
 * stopRequested$(stop):   --------x----
 * ```
 *
 * @param stop the run's `StopRequest`
 */
export function stopRequested$(stop: StopRequest): Observable<void> {
  return new Observable<void>((subscriber) => stop.listen({ onStop: () => subscriber.next() }));
}
