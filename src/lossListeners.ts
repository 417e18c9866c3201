/**
 * The `onLost` listeners of a held lock or lease (fileStore's lock watch, redisStore's lease):
 * each is told once, when the hold is lost; one added after the loss is told on the next
 * microtask (unless removed first); none is told anything after the release. A listener that
 * throws does not keep the others from being told.
 */
export class LossListeners {
  private readonly listeners = new Set<(error: Error) => void>();
  private lost: Error | undefined;
  private closed = false;

  /** Adds `listener`; returns what removes it. */
  add(listener: (error: Error) => void): () => void {
    if (this.closed) return () => undefined;
    const lost = this.lost;
    if (lost !== undefined) {
      let listening = true;
      queueMicrotask(() => {
        if (listening) listener(lost);
      });
      return () => (listening = false);
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The hold is lost with `error`: tells every listener, once. */
  lose(error: Error): void {
    this.lost ??= error;
    if (this.closed) return;
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const listener of listeners) {
      try {
        listener(error);
      } catch {
        // A listener's failure is its own; the others are still told.
      }
    }
  }

  /** The hold is released: no listener is told anything more. */
  close(): void {
    this.closed = true;
    this.listeners.clear();
  }
}
