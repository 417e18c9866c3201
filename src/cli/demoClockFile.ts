// The demo's clock file (demo-clock.json): what the last run of a key saved, read and written
// synchronously, for the next run to go on from (see demoRestartPoint).
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { SignalState } from "rxtrade";

/** What a store write leaves under the key once it has landed: nothing, or a signal in a state. */
export type StoredHolding = { status: SignalState["status"]; id: string } | null;

/** A store write of the loop, saved before it was passed on. */
export interface SavedWrite {
  /** Its tick. */
  at: number;
  /** What the key holds once it has landed. */
  holds: StoredHolding;
  /** When the strategy was last asked, at or before `at`. */
  askedAt?: number;
}

/**
 * What the last demo run of a key saved, for the next one (see `restartPoint`):
 *
 * - `started`: it started at `from` and wrote nothing to the store since (or was killed before);
 * - `writing`: its latest store write (`write`), saved before it was passed on, and `from`: the
 *   tick after the write before it (landed, since the loop writes one at a time), or its start;
 * - `stopped`: it ended by itself — a graceful stop, an error, a second Ctrl-C — and the next
 *   run goes on at `next`, the tick after its last;
 * - `legacy`: a file of rxtrade 0.1, only a time (that of the last tick it had reported).
 */
export type SavedClock =
  | { run: "started"; from: number }
  | { run: "writing"; from: number; fromAskedAt?: number; write: SavedWrite }
  | { run: "stopped"; next: number; askedAt?: number }
  | { run: "legacy"; next: number };

/**
 * Where the demo's last run of a key got to, in one small JSON file in the store's directory
 * (`demo-clock.json`), so that the next run goes on as an uninterrupted run would have:
 *
 * ```json
 * { "version": 1,
 *   "clocks": { "BTCUSDT:momentum": 1677636180003 },
 *   "resume": { "BTCUSDT:momentum": { "run": "writing", "from": 1677636060001,
 *     "write": { "at": 1677636180003, "holds": null, "askedAt": 1677636000000 } } } }
 * ```
 *
 * `resume` is the `SavedClock` of each key; `clocks` keeps, for rxtrade 0.1, a time to start at.
 * Saved when a run starts, before each store write of its loop (so a kill after the write finds
 * it: the next run reads the store to tell whether the write landed), and when it ends. Writes
 * are synchronous (a temp file renamed over the file, so a kill leaves the old or the new
 * content); the temp name follows the store's pattern, so `fileStore` sweeps one left by a
 * killed writer. No fsync: the store's own files and the journal (see `restartPoint`) are what a
 * power loss is judged by.
 */
export class DemoClockFile {
  /** Times the strategy was asked that no save covers yet, oldest first. */
  private readonly asks: number[] = [];
  private askedAt: number | undefined;
  private from: { at: number; askedAt?: number } | undefined;
  private lastWrite: SavedWrite | undefined;

  constructor(
    readonly path: string,
    private readonly key: string,
    private readonly tickMs: number,
  ) {}

  static in(dir: string, key: string, tickMs: number): DemoClockFile {
    return new DemoClockFile(join(dir, "demo-clock.json"), key, tickMs);
  }

  /** The saved clock of this key, or `undefined` (no file, another key, or unreadable: the demo then starts afresh). */
  read(): SavedClock | undefined {
    const file = this.readAll();
    const resume = decodeSaved(file.resume[this.key]);
    if (resume !== undefined) return resume;
    const next = file.clocks[this.key];
    return typeof next === "number" && Number.isFinite(next) ? { run: "legacy", next } : undefined;
  }

  /** The run starts at `at`: until it writes, a kill makes the next run start there again. */
  started(at: number): void {
    this.from = { at };
    this.lastWrite = undefined;
    this.save({ run: "started", from: at }, at);
  }

  /** The strategy was asked at `at` (the tick's time): the next run must not ask it again before its interval has passed. */
  asked(at: number): void {
    this.asks.push(at);
  }

  /**
   * The loop is about to write `value` (an encoded state, or `null`) under the key at tick `at`:
   * saved now, before the write can land. The write before it has landed (the loop writes one at
   * a time, each confirmed before the next), so the next run goes on after that one at least.
   */
  writing(at: number, value: unknown): void {
    const previous = this.lastWrite;
    if (previous !== undefined) this.from = { at: previous.at + this.tickMs, ...(previous.askedAt === undefined ? {} : { askedAt: previous.askedAt }) };
    const from = this.from ?? { at };
    const write: SavedWrite = { at, holds: holdingOf(value), ...this.askedBy(at) };
    this.lastWrite = write;
    this.save({ run: "writing", from: from.at, ...(from.askedAt === undefined ? {} : { fromAskedAt: from.askedAt }), write }, at + this.tickMs);
  }

  /** The run ended by itself after reporting the tick `lastTick`: the next run goes on at the tick after it. */
  stopped(lastTick: number): void {
    const next = lastTick + this.tickMs;
    this.save({ run: "stopped", next, ...this.askedBy(lastTick) }, next);
  }

  // The last ask at or before `at`: a later one belongs to a tick not reported yet.
  private askedBy(at: number): { askedAt?: number } {
    while (this.asks.length > 0 && (this.asks[0] as number) <= at) this.askedAt = this.asks.shift();
    return this.askedAt === undefined ? {} : { askedAt: this.askedAt };
  }

  /**
   * Never throws: the clock file is a convenience — a lost save is made up for by the next run's
   * floors (the stored signal, the journal; see `restartPoint`) — and a store folder that was
   * removed or made read-only is the stream's to report, not a crash here.
   */
  private save(clock: SavedClock, legacyStart: number): void {
    const file = this.readAll();
    const content = { version: 1, clocks: { ...file.clocks, [this.key]: legacyStart }, resume: { ...file.resume, [this.key]: clock } };
    const temp = join(dirname(this.path), `.${basename(this.path)}.tmp-${process.pid}-0`);
    try {
      // 0600 like the store's own files (the mode applies to the new temp file the rename keeps).
      writeFileSync(temp, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
      renameSync(temp, this.path);
    } catch {
      // not saved: see above
    }
  }

  private readAll(): { clocks: Record<string, unknown>; resume: Record<string, unknown> } {
    try {
      const parsed = JSON.parse(readFileSync(this.path, "utf8")) as { version?: unknown; clocks?: unknown; resume?: unknown };
      if (parsed.version !== 1) return { clocks: {}, resume: {} };
      return { clocks: record(parsed.clocks), resume: record(parsed.resume) };
    } catch {
      return { clocks: {}, resume: {} };
    }
  }
}

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

const time = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value);
const optionalTime = (name: string, value: unknown) => (time(value) ? { [name]: value } : {});

function decodeSaved(value: unknown): SavedClock | undefined {
  const saved = record(value);
  switch (saved.run) {
    case "started":
      return time(saved.from) ? { run: "started", from: saved.from } : undefined;
    case "stopped":
      return time(saved.next) ? { run: "stopped", next: saved.next, ...optionalTime("askedAt", saved.askedAt) } : undefined;
    case "writing": {
      const write = record(saved.write);
      const holds = write.holds === null ? null : record(write.holds);
      if (!time(saved.from) || !time(write.at)) return undefined;
      if (holds !== null && !((holds.status === "opened" || holds.status === "scheduled") && typeof holds.id === "string")) return undefined;
      return {
        run: "writing",
        from: saved.from,
        ...optionalTime("fromAskedAt", saved.fromAskedAt),
        write: { at: write.at, holds: holds === null ? null : { status: holds.status as SignalState["status"], id: holds.id as string }, ...optionalTime("askedAt", write.askedAt) },
      };
    }
    default:
      return undefined;
  }
}

// What the key holds once `value` (as the engine encodes a state: `{ version, status, signal }`, or `null`) has landed.
function holdingOf(value: unknown): StoredHolding {
  if (value === null || value === undefined) return null;
  const { status, signal } = value as { status?: unknown; signal?: { id?: unknown } };
  return { status: status === "scheduled" ? "scheduled" : "opened", id: typeof signal?.id === "string" ? signal.id : "" };
}
