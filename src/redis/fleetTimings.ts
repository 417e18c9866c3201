import { renameSync, writeFileSync } from "node:fs";

/** Buckets per doubling: a bucket spans 2^(1/8) (about 9 %). */
const PER_DOUBLING = 8;
/** Bucket 0 holds everything up to 1 µs; the last, everything past 2^32 µs (71 minutes). */
const BUCKETS = 32 * PER_DOUBLING + 1;
/** At most one file write a second (the worker's rounds come every pollMs). */
const EVERY_MS = 1_000;

/** What `RXTRADE_FLEET_TIMINGS=<file>` makes a fleet worker write: its store writes' client-side durations so far. */
export interface FleetTimingsFile {
  worker: string;
  pid: number;
  /** When the file was written, epoch ms. */
  at: number;
  /** Store writes timed so far (from the call to its answer, as the engine waits for it). */
  writes: number;
  /** Their durations' percentiles, ms (each the upper edge of its bucket: within 9 % above). */
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  /** Counts by bucket: `[index, count]`; bucket i holds durations up to `2 ** (i / 8)` µs. Diff two files for a window. */
  buckets: Array<[number, number]>;
}

/** The upper edge of bucket `index`, ms. */
export const bucketMs = (index: number): number => 2 ** (index / PER_DOUBLING) / 1_000;

/**
 * An opt-in histogram of a fleet worker's store writes (the bench's "store write p50/p99"): off
 * unless `RXTRADE_FLEET_TIMINGS` names a file, then each write costs a `performance.now()` pair
 * and a counter, and the cumulative counts are written to that file (a temp file renamed over
 * it) at most once a second and when the worker stops — so two reads of it give a window's.
 */
export class FleetTimings {
  private readonly counts = new Float64Array(BUCKETS);
  private writes = 0;
  private lastDump = 0;

  private constructor(
    private readonly path: string,
    private readonly worker: string,
  ) {}

  /** From the environment: `undefined` (no timing at all) unless RXTRADE_FLEET_TIMINGS is set. */
  static fromEnv(worker: string): FleetTimings | undefined {
    const path = typeof process === "object" ? process.env.RXTRADE_FLEET_TIMINGS : undefined;
    return path === undefined || path === "" ? undefined : new FleetTimings(path, worker);
  }

  /** Times `call` (a store write) from now to its settling. */
  time<T>(call: () => Promise<T>): Promise<T> {
    const started = performance.now();
    const settled = () => this.record(performance.now() - started);
    const pending = call();
    pending.then(settled, settled);
    return pending;
  }

  record(ms: number): void {
    const micros = ms * 1_000;
    const index = micros <= 1 ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log2(micros) * PER_DOUBLING));
    this.counts[index] = (this.counts[index] as number) + 1;
    this.writes++;
  }

  /** Writes the file if a second has passed since the last write (or `force`). Never throws: a timing file is a bench's aid. */
  dump(force = false): void {
    const now = Date.now();
    if (!force && now - this.lastDump < EVERY_MS) return;
    this.lastDump = now;
    const buckets: Array<[number, number]> = [];
    this.counts.forEach((count, index) => {
      if (count > 0) buckets.push([index, count]);
    });
    const content: FleetTimingsFile = {
      worker: this.worker,
      pid: process.pid,
      at: now,
      writes: this.writes,
      p50Ms: this.percentile(0.5),
      p99Ms: this.percentile(0.99),
      maxMs: buckets.length === 0 ? null : bucketMs((buckets.at(-1) as [number, number])[0]),
      buckets,
    };
    try {
      writeFileSync(`${this.path}.tmp-${process.pid}`, `${JSON.stringify(content)}\n`);
      renameSync(`${this.path}.tmp-${process.pid}`, this.path);
    } catch {
      // not written: the bench reading it says so
    }
  }

  private percentile(q: number): number | null {
    if (this.writes === 0) return null;
    const rank = Math.ceil(q * this.writes);
    let seen = 0;
    for (let index = 0; index < BUCKETS; index++) {
      seen += this.counts[index] as number;
      if (seen >= rank) return bucketMs(index);
    }
    return null;
  }
}
