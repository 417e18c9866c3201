import { Subscriber } from "rxjs";

/**
 * The base of the engine's operator subscribers. A plain `Subscriber` registers itself in its
 * destination's finalizer list, an array of its own for every link of the chain; this one
 * keeps a direct pointer instead when the destination is another `ChainSubscriber`, so that a
 * stream is a handful of small objects — the engine runs thousands of streams at once.
 * Unsubscribing still flows upstream, as with rxjs's own operators.
 */
export abstract class ChainSubscriber<T, R = T> extends Subscriber<T> {
  protected readonly out: Subscriber<R>;
  private upstream: Subscriber<unknown> | undefined;

  constructor(destination: Subscriber<R>) {
    super();
    this.out = destination;
    this.destination = destination;
    if (destination instanceof ChainSubscriber) destination.upstream = this;
    else destination.add(this);
  }

  override unsubscribe(): void {
    if (this.closed) return;
    super.unsubscribe();
    const upstream = this.upstream;
    this.upstream = undefined;
    upstream?.unsubscribe();
  }
}
