import { readFile } from "node:fs/promises";
import { StoreLockedError } from "../errors";
import { LossListeners } from "../lossListeners";
import type { LockRelease } from "../model";
import { type HeldLock, parseOwner } from "./lockFile";

/** A release that always has `onLost`. */
export type WatchedRelease = LockRelease & { onLost(listener: (error: Error) => void): () => void };

/**
 * A lock a `fileStore` holds, watched for loss: its lock file deleted (the store folder removed
 * under a running stream) or replaced by another holder. `verify` compares the file with the
 * exact bytes this lock wrote; the store calls it before every write of the key, and a timer
 * (unref'd, so it never keeps the process alive) every `checkMs` while the lock is held. Once
 * lost, a lock stays lost: `verify` returns the same `StoreLockedError` and the `onLost`
 * listeners are called once with it.
 */
export class WatchedLock {
  /** Set once the loss is seen; never cleared. */
  lost: StoreLockedError | undefined;
  private readonly listeners = new LossListeners();
  private readonly timer: ReturnType<typeof setInterval>;
  private released = false;
  private checking = false;

  constructor(
    readonly key: string,
    readonly path: string,
    private readonly lock: HeldLock,
    checkMs: number,
    private readonly onReleased: () => void,
  ) {
    this.timer = setInterval(() => {
      if (this.checking) return;
      this.checking = true;
      // A check that cannot read the file (EIO, EACCES) proves nothing; the next one tries again.
      this.verify()
        .catch(() => undefined)
        .finally(() => (this.checking = false));
    }, checkMs);
    this.timer.unref?.();
  }

  /**
   * The loss, if the lock file no longer holds this lock's bytes; rejects with the read error
   * when the file cannot be read for another reason.
   */
  async verify(): Promise<StoreLockedError | undefined> {
    if (this.lost !== undefined || this.released) return this.lost;
    let found: string | undefined;
    try {
      found = await readFile(this.path, "utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") throw error;
    }
    // Released while reading: the file is no longer ours to judge.
    if (this.released || this.lost !== undefined) return this.lost;
    if (found === this.lock.text) return undefined;
    this.markLost(found);
    return this.lost;
  }

  /** The release handed to the engine: stops the watch and removes the lock file only if it is still ours. */
  readonly release: WatchedRelease = Object.assign(
    () => {
      if (this.released) return;
      this.released = true;
      clearInterval(this.timer);
      this.listeners.close();
      this.onReleased();
      // After a loss the file is someone else's (or gone): leave it.
      if (this.lost === undefined) this.lock.release();
    },
    {
      onLost: (listener: (error: Error) => void): (() => void) => this.listeners.add(listener),
    },
  );

  private markLost(found: string | undefined): void {
    clearInterval(this.timer);
    const owner = found === undefined ? undefined : parseOwner(found);
    const what =
      found === undefined
        ? "the lock file was deleted (was the store folder removed or cleaned while the stream ran?)"
        : owner === undefined
          ? "the lock file was overwritten with something that is not an rxtrade lock"
          : `the lock file now names process ${owner.pid} on host ${owner.hostname}`;
    this.lost = new StoreLockedError({
      key: this.key,
      path: this.path,
      ...(owner === undefined ? {} : { pid: owner.pid, hostname: owner.hostname }),
      message:
        `the stream lost its lock on ${this.key} (${this.path}): ${what}, so another process may be trading this key. ` +
        `This stream stops trading it and writes nothing more; make sure one process alone trades ${this.key}, then start it again`,
    });
    this.listeners.lose(this.lost);
  }
}
