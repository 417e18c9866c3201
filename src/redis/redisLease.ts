import { StoreLockedError, StoreWriteError } from "../errors";
import { LossListeners } from "../lossListeners";
import type { LockRelease } from "../model";

/**
 * What `redisStore`'s `lock` returns: the release (synchronous, idempotent, never throws),
 * `onLost`, and the lease's fencing token.
 */
export type RedisRelease = LockRelease & {
  /** Calls `listener` once, if and when the lease is lost; returns a function that stops listening. */
  onLost(listener: (error: Error) => void): () => void;
  /** The store key. */
  readonly key: string;
  /**
   * The fencing token: drawn when the lease was taken, in the same script, as
   * max(`<prefix>fence:<key>` + 1, Redis's TIME in µs), and stored in that key — so every later
   * holder of the key has a higher one, even after Redis lost acknowledged writes (as long as
   * the Redis hosts' clocks do not go back). Each write of the key made under this lease is
   * checked against it (and the owner) in Redis.
   */
  readonly token: number;
  /** This lease's owner id (unique per `lock` call). */
  readonly owner: string;
};

/** Who holds a lease, as its value in Redis says. */
export interface LeaseHolder {
  token: number;
  pid: number | undefined;
  host: string | undefined;
}

/** Parses a lease value (`{"token":n,"owner":{…}}`); `undefined` when it is not an rxtrade lease. */
export function parseLease(value: string): LeaseHolder | undefined {
  try {
    const parsed = JSON.parse(value) as { token?: unknown; owner?: { pid?: unknown; host?: unknown } };
    if (typeof parsed.token !== "number" || typeof parsed.owner !== "object" || parsed.owner === null) return undefined;
    return {
      token: parsed.token,
      pid: typeof parsed.owner.pid === "number" ? parsed.owner.pid : undefined,
      host: typeof parsed.owner.host === "string" ? parsed.owner.host : undefined,
    };
  } catch {
    return undefined;
  }
}

/** "process 4321 on host db-2 (token 8)", or what the value is when it is not a lease. */
export function describeHolder(value: string): string {
  const holder = parseLease(value);
  if (holder === undefined) return `a value that is not an rxtrade lease (${value.length > 80 ? `${value.slice(0, 80)}…` : value})`;
  return `process ${holder.pid ?? "?"} on host ${holder.host ?? "?"} (token ${holder.token})`;
}

/** What a lease needs of its store. */
export interface LeaseHost {
  readonly leaseMs: number;
  readonly renewMs: number;
  readonly where: string;
  leaseKeyOf(key: string): string;
  /** Runs the renewal script: resolves true when renewed, or to the value found (`undefined`: gone). */
  renew(lease: RedisLease, late: (found: true | string | undefined) => void): Promise<true | string | undefined>;
  /** Deletes the lease in Redis if it is still ours (fire and forget); the lease is no longer held. */
  released(lease: RedisLease): void;
  report(error: Error): void;
}

/**
 * A lease held by this process: renewed every `renewMs` while held (the renewal script extends
 * it only while its value is still this lease's), and lost — once, for good — when a renewal or a
 * write finds it gone or another's. Then the `onLost` listeners are called with a
 * `StoreLockedError`, and every later write of the key rejects with it.
 */
export class RedisLease {
  /** Set once the loss is seen; never cleared. */
  lost: StoreLockedError | undefined;
  private released = false;
  private renewing = false;
  /** A renewal failure was reported and no renewal has succeeded since. */
  private failing = false;
  private readonly listeners = new LossListeners();
  private readonly timer: ReturnType<typeof setInterval>;
  /** The release handed to the engine. */
  readonly release: RedisRelease;

  constructor(
    readonly key: string,
    /** The lease's exact value in Redis: `{"token":n,"owner":{…}}`. */
    readonly value: string,
    readonly token: number,
    readonly owner: string,
    private readonly host: LeaseHost,
  ) {
    this.timer = setInterval(() => this.renew(), host.renewMs);
    // The engine's own timers keep a trading process alive; a lease alone does not.
    this.timer.unref?.();
    this.release = Object.assign(
      () => {
        try {
          if (this.released) return;
          this.released = true;
          clearInterval(this.timer);
          this.listeners.close();
          this.host.released(this);
        } catch (error) {
          // Never throws: at worst the lease expires by itself after leaseMs.
          this.host.report(new StoreWriteError({ key: this.key, cause: error, message: `cannot release the lease of ${this.key}: ${String(error)}; it expires by itself within ${this.host.leaseMs} ms` }));
        }
      },
      {
        onLost: (listener: (error: Error) => void): (() => void) => this.listeners.add(listener),
        key: this.key,
        token: this.token,
        owner: this.owner,
      },
    );
  }

  get held(): boolean {
    return !this.released && this.lost === undefined;
  }

  /** Marks the lease lost because Redis holds `found` instead (`undefined`: no lease); returns the error. */
  markLost(found: string | undefined): StoreLockedError {
    if (this.lost !== undefined) return this.lost;
    clearInterval(this.timer);
    const holder = found === undefined ? undefined : parseLease(found);
    const what =
      found === undefined
        ? `the lease expired (no renewal got through within leaseMs, ${this.host.leaseMs} ms) and nobody holds it now`
        : `the lease is now held by ${describeHolder(found)}`;
    this.lost = new StoreLockedError({
      key: this.key,
      path: this.host.leaseKeyOf(this.key),
      ...(holder?.pid === undefined ? {} : { pid: holder.pid }),
      ...(holder?.host === undefined ? {} : { hostname: holder.host }),
      message:
        `the stream lost its lease on ${this.key} (Redis key ${this.host.leaseKeyOf(this.key)} at ${this.host.where}, token ${this.token}): ${what}, ` +
        `so another process may be trading this key. This stream stops trading it and writes nothing more; a process paused or cut off from Redis ` +
        `for longer than leaseMs loses its keys. Make sure one process alone trades ${this.key}, then start it again`,
    });
    this.listeners.lose(this.lost);
    return this.lost;
  }

  private renew(): void {
    if (this.renewing || !this.held) return;
    this.renewing = true;
    const judge = (found: true | string | undefined) => {
      if (found === true) {
        this.failing = false;
        return;
      }
      if (!this.released) this.markLost(found);
    };
    this.host
      .renew(this, judge)
      .then(judge, (error: unknown) => {
        if (this.failing || !this.held) return;
        this.failing = true;
        this.host.report(
          new StoreWriteError({
            key: this.key,
            path: this.host.leaseKeyOf(this.key),
            cause: error,
            message:
              `cannot renew the lease of ${this.key} (Redis key ${this.host.leaseKeyOf(this.key)} at ${this.host.where}, token ${this.token}): ` +
              `${error instanceof Error ? error.message : String(error)}; retrying every ${this.host.renewMs} ms. The lease expires ${this.host.leaseMs} ms ` +
              "after the last renewal that got through; writes stay checked against it",
          }),
        );
      })
      .finally(() => (this.renewing = false));
  }
}
