import { from, type ObservableInput, Subscriber, type Subscription } from "rxjs";
import { emit } from "../src/events";

/** Something told when a stop is requested. */
export interface StopListener {
  onStop(): void;
}

/**
 * The graceful-stop request of one run of a stream: the one piece of stop state its stages
 * share. `liveTicks$` makes one per subscription, so that `tick`, the retry and `stopGate` hear
 * the same stop and a cold `stop$` is not restarted when a tick error resubscribes the inner
 * pipeline.
 *
 * The protocol:
 * - The caller's `stop$` is subscribed once, at construction; its first emission requests the
 *   stop. An error of `stop$` is reported on `error$` and also requests the stop. A `stop$`
 *   that completes without emitting requests nothing.
 * - `requested` turns true once and stays true. Each listener is told once, synchronously —
 *   possibly in the middle of delivering a result, when a callback, an event listener or
 *   `onWrite` requested the stop. A stage that is delivering a result acts on the stop only
 *   after that delivery returns (`tick` defers its completion; `stopGate` acts on results).
 * - A listener that joins after the request is told at once.
 * - `close()` releases `stop$` (the run is over).
 */
export class StopRequest {
  requested = false;
  private listeners: StopListener[] = [];
  private readonly upstream: Subscription;

  constructor(stop$: ObservableInput<unknown>) {
    this.upstream = from(stop$).subscribe(new RequestSubscriber(this));
  }

  /** Calls `listener.onStop()` once: when the stop is requested, or at once if it was. Returns the way out. */
  listen(listener: StopListener): () => void {
    if (this.requested) {
      listener.onStop();
      return noop;
    }
    // concat, not push: an array of exactly its length (push grows one to 17 slots), for 10,000s of streams.
    this.listeners = this.listeners.concat(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Releases the caller's `stop$`; listeners are forgotten. */
  close(): void {
    this.listeners = [];
    this.upstream?.unsubscribe();
  }

  /** @internal */
  request(): void {
    if (this.requested) return;
    this.requested = true;
    this.upstream?.unsubscribe();
    const listeners = this.listeners;
    this.listeners = [];
    for (const listener of listeners) listener.onStop();
  }
}

/**
 * Listens to any stop input: a `StopRequest` directly, anything else through a request of its
 * own (closed with the returned way out).
 */
export function listenStop(stop$: ObservableInput<unknown> | StopRequest, listener: StopListener): () => void {
  if (stop$ instanceof StopRequest) return stop$.listen(listener);
  const request = new StopRequest(stop$);
  const leave = request.listen(listener);
  return () => {
    leave();
    request.close();
  };
}

// A class, not a closure: one small object per stream on the hot many-streams path.
class RequestSubscriber extends Subscriber<unknown> {
  constructor(private readonly stop: StopRequest) {
    super();
  }
  protected override _next(): void {
    this.stop.request();
  }
  // A broken stop$ still means "stop": the operator's intent is not lost with its source.
  protected override _error(error: unknown): void {
    emit.error(error);
    this.stop.request();
  }
  protected override _complete(): void {}
}

function noop(): void {}
