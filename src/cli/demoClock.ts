import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

const SAVE_EVERY_MS = 250;

/**
 * Where the demo's simulated clock was, per stream key, in one small JSON file in the store's
 * directory (`demo-clock.json`): `{ "version": 1, "clocks": { "BTCUSDT:momentum": 1677636000000 } }`.
 * The next run starts there, so a signal resumed from the store is monitored with the candles
 * after the moment the last run reached, not replayed from the start of the data.
 *
 * Writes are synchronous (a temp file renamed over the file, so a kill leaves the old or the new
 * content) and at most every 250 ms of wall time, plus on request; the temp name follows the
 * store's pattern, so `fileStore` sweeps one left by a killed writer. No fsync: a demo's clock
 * is not worth one per write, and the stored signal's own timestamps bound how far it can lag.
 */
export class DemoClockFile {
  private lastSave = Number.NEGATIVE_INFINITY;
  private written: number | undefined;

  constructor(
    readonly path: string,
    private readonly key: string,
  ) {}

  static in(dir: string, key: string): DemoClockFile {
    return new DemoClockFile(join(dir, "demo-clock.json"), key);
  }

  /** The saved time of this key, or `undefined` (no file, another key, or unreadable: the demo then starts afresh). */
  read(): number | undefined {
    const value = this.readAll()[this.key];
    return typeof value === "number" && Number.isFinite(value) ? value : undefined;
  }

  /**
   * Saves `now` unless a save happened in the last 250 ms (`force` saves anyway). Never throws:
   * the clock is a convenience (a lost save only moves where the next run starts), and a store
   * folder that was removed or made read-only is the stream's to report, not a crash here.
   */
  save(now: number, force = false): void {
    if (now === this.written) return;
    const wall = performance.now();
    if (!force && wall - this.lastSave < SAVE_EVERY_MS) return;
    this.lastSave = wall;
    this.written = now;
    const clocks = { ...this.readAll(), [this.key]: now };
    const temp = join(dirname(this.path), `.${basename(this.path)}.tmp-${process.pid}-0`);
    try {
      // 0600 like the store's own files (the mode applies to the new temp file the rename keeps).
      writeFileSync(temp, `${JSON.stringify({ version: 1, clocks }, null, 2)}\n`, { mode: 0o600 });
      renameSync(temp, this.path);
    } catch {
      this.written = undefined; // not saved: the next call tries again
    }
  }

  private readAll(): Record<string, unknown> {
    try {
      const parsed = JSON.parse(readFileSync(this.path, "utf8")) as { version?: unknown; clocks?: unknown };
      return parsed.version === 1 && parsed.clocks !== null && typeof parsed.clocks === "object" ? (parsed.clocks as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  }
}
