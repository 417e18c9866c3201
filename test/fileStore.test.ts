// fileStore beyond the shared contract: the files it writes, what it does with corrupt,
// unreadable and leftover files, write failures, lock files, and liveTrade$ on top of it.
// (The crash test is test/crash.test.ts; locks across processes are in test/lock.test.ts.)
import { spawnSync } from "node:child_process";
import { readFileSync, readlinkSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { Subscription } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  listenError,
  listenSignal,
  liveTrade$,
  replayExchange,
  StoreLockedError,
  StoreReadError,
  StoreWriteError,
  type SignalDto,
  type StrategySchema,
} from "rxtrade";
import { fileStore } from "rxtrade/node";
import { candlesFromPrices, VirtualClock } from "rxtrade/testing";

const KEY = "BTCUSDT:momentum";
const OTHER = "ETHUSDT:momentum";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "rxtrade-filestore-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A pid that is certainly not running: a child that has exited and been reaped. */
function deadPid(): number {
  return spawnSync("true").pid as number;
}

/** A lock file naming `pid` on this host, boot and PID namespace (read from /proc here), started at `startTime`. */
function lockOf(pid: number, startTime: number, token = "theirs"): string {
  return JSON.stringify({
    pid,
    hostname: hostname(),
    bootId: readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim(),
    pidNamespace: readlinkSync("/proc/self/ns/pid"),
    startTime,
    since: "2023-03-01T00:00:00.000Z",
    token,
  });
}

/** Yields to the event loop (no timers) until `ready()`, for at most 10 s of real I/O. */
async function until(ready: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!ready() && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
  expect(ready()).toBe(true);
}

async function readError(promise: Promise<unknown>): Promise<StoreReadError> {
  const error = await promise.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(StoreReadError);
  return error as StoreReadError;
}

describe("files", () => {
  it("writes one envelope per key, named by a readable prefix and a hash of the exact key", async () => {
    const store = fileStore(dir);
    await store.write("BTC/USDT:USDT:momentum v2", { a: 1 });
    await store.write("abc:x", { b: 2 });
    await store.write("ABC:x", { c: 3 });
    const names = (await readdir(dir)).sort();
    expect(names).toHaveLength(3);
    for (const name of names) expect(name).toMatch(/^[A-Za-z0-9_-]+-[0-9a-f]{16}\.json$/);
    // Case-insensitive file systems: the two names differ in their lower-case hash as well.
    expect(new Set(names.map((name) => name.toLowerCase())).size).toBe(3);
    const path = store.pathOf("BTC/USDT:USDT:momentum v2");
    expect(basename(path)).toMatch(/^BTC_USDT_USDT_momentum_v2-[0-9a-f]{16}\.json$/);
    expect(JSON.parse(await readFile(path, "utf8"))).toEqual({ rxtrade: 1, key: "BTC/USDT:USDT:momentum v2", value: { a: 1 } });
  });

  it("keeps file names within 255 bytes for any key", async () => {
    const store = fileStore(dir);
    const key = `${"ü".repeat(500)}:${"s".repeat(500)}`;
    await store.write(key, { long: true });
    expect(Buffer.byteLength(basename(store.pathOf(key)))).toBeLessThan(100);
    expect(await store.read(key)).toEqual({ long: true });
  });

  it("creates the directory recursively and deletes the file on null", async () => {
    const store = fileStore(join(dir, "a", "b"));
    await store.write(KEY, { a: 1 });
    expect(await readdir(join(dir, "a", "b"))).toHaveLength(1);
    await store.write(KEY, null);
    expect(await readdir(join(dir, "a", "b"))).toEqual([]);
  });

  it("leaves no temp file behind after writes", async () => {
    const store = fileStore(dir);
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.write(KEY, { i })));
    expect(await readdir(dir)).toEqual([basename(store.pathOf(KEY))]);
  });
});

describe("corrupt files", () => {
  const valid = JSON.stringify({ rxtrade: 1, key: KEY, value: { version: 1, status: "opened", signal: { id: "S1" } } });
  const cases: Array<[string, string]> = [
    ["truncated JSON", valid.slice(0, valid.length - 9)],
    ["an empty file", ""],
    ["valid JSON of the wrong shape (an engine value without the envelope)", JSON.stringify({ version: 1, status: "opened", signal: { id: "S1" } })],
    ["valid JSON that is not an object", "null"],
    ["an envelope of another key", JSON.stringify({ rxtrade: 1, key: OTHER, value: { version: 1 } })],
    ["an envelope of another format version", JSON.stringify({ rxtrade: 2, key: KEY, value: {} })],
  ];

  for (const [name, bytes] of cases) {
    it(`${name}: moved aside with its bytes, reported with quarantinedTo, then the key reads null; other keys intact`, async () => {
      const store = fileStore(dir);
      await store.write(KEY, { will: "be replaced by corrupt bytes" });
      await store.write(OTHER, { other: true });
      const path = store.pathOf(KEY);
      await writeFile(path, bytes);

      const error = await readError(store.read(KEY));
      expect(error.key).toBe(KEY);
      expect(error.path).toBe(path);
      expect(error.quarantinedTo).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.corrupt-`));
      expect(error.cause).toBeDefined();
      expect(error.message).toContain(KEY);
      expect(await readFile(error.quarantinedTo as string, "utf8")).toBe(bytes);
      await expect(readFile(path)).rejects.toMatchObject({ code: "ENOENT" });

      expect(await store.read(KEY)).toBeNull();
      expect(await store.read(OTHER)).toEqual({ other: true });
      // The key works again.
      await store.write(KEY, { fresh: 1 });
      expect(await store.read(KEY)).toEqual({ fresh: 1 });
    });
  }

  it("never overwrites an earlier quarantined copy", async () => {
    const store = fileStore(dir);
    await writeFile(store.pathOf(KEY), "first");
    const first = await readError(store.read(KEY));
    await writeFile(store.pathOf(KEY), "second");
    const second = await readError(store.read(KEY));
    expect(second.quarantinedTo).not.toBe(first.quarantinedTo);
    expect(await readFile(first.quarantinedTo as string, "utf8")).toBe("first");
    expect(await readFile(second.quarantinedTo as string, "utf8")).toBe("second");
  });
});

describe("leftover temp files", () => {
  it("are deleted on open when their writer is dead, and never read as data", async () => {
    const path = fileStore(dir).pathOf(KEY);
    const otherPath = fileStore(dir).pathOf(OTHER);
    await writeFile(otherPath, JSON.stringify({ rxtrade: 1, key: OTHER, value: { old: true } }));
    const dead = deadPid();
    // A complete newer value and a torn one, both from a writer killed before its rename.
    const leftovers = [
      `.${basename(path)}.tmp-${dead}-1`,
      `.${basename(otherPath)}.tmp-${dead}-7`,
    ];
    await writeFile(join(dir, leftovers[0] as string), JSON.stringify({ rxtrade: 1, key: KEY, value: { never: "read" } }));
    await writeFile(join(dir, leftovers[1] as string), '{"rxtrade":1,"key":"ETH');
    // A live writer's temp file (this process) is left alone.
    const live = `.${basename(path)}.tmp-${process.pid}-999999`;
    await writeFile(join(dir, live), "in progress");

    const store = fileStore(dir);
    expect(await store.read(KEY)).toBeNull();
    expect(await store.read(OTHER)).toEqual({ old: true });
    const names = await readdir(dir);
    for (const leftover of leftovers) expect(names).not.toContain(leftover);
    expect(names).toContain(live);
  });
});

describe("read and write failures", () => {
  it("an unreadable data file is a StoreReadError without quarantinedTo, and the file is left as it is", async () => {
    const store = fileStore(dir);
    const path = store.pathOf(KEY);
    // Tests run as root, where chmod 000 does not stop a read: a directory in its place does (EISDIR).
    await mkdir(path);
    await writeFile(join(path, "inside"), "x");
    const error = await readError(store.read(KEY));
    expect(error.key).toBe(KEY);
    expect(error.path).toBe(path);
    expect(error.quarantinedTo).toBeUndefined();
    expect((error.cause as NodeJS.ErrnoException).code).toBe("EISDIR");
    expect(await readdir(path)).toEqual(["inside"]);
    expect((await readdir(dir)).filter((name) => name.includes(".corrupt-"))).toEqual([]);
    // It is retried, and fails the same way until it is fixed: nothing was moved.
    await readError(store.read(KEY));
    await rm(path, { recursive: true });
    expect(await store.read(KEY)).toBeNull();
  });

  it("a failed write is a StoreWriteError with key, path and cause, and leaves no temp file", async () => {
    const store = fileStore(dir);
    const path = store.pathOf(KEY);
    await mkdir(path); // the rename over it fails
    const error = await store.write(KEY, { a: 1 }).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(StoreWriteError);
    expect(error).toMatchObject({ key: KEY, path });
    expect((error as StoreWriteError).cause).toBeDefined();
    expect((await readdir(dir)).filter((name) => name.includes(".tmp-"))).toEqual([]);
  });

  it("a value JSON cannot hold is a StoreWriteError, and the stored value is kept", async () => {
    const store = fileStore(dir);
    await store.write(KEY, { kept: true });
    await expect(store.write(KEY, { n: 1n })).rejects.toBeInstanceOf(StoreWriteError);
    await expect(store.write(KEY, undefined)).rejects.toBeInstanceOf(StoreWriteError);
    expect(await store.read(KEY)).toEqual({ kept: true });
  });

  it("a directory that cannot be created fails reads and writes with typed errors", async () => {
    await writeFile(join(dir, "file"), "not a directory");
    const store = fileStore(join(dir, "file", "store"));
    expect(await readError(store.read(KEY))).toMatchObject({ key: KEY, quarantinedTo: undefined });
    await expect(store.write(KEY, { a: 1 })).rejects.toBeInstanceOf(StoreWriteError);
  });
});

describe("lock files", () => {
  const lockPath = (key: string) => `${fileStore(dir).pathOf(key)}.lock`;

  it("hold { pid, hostname, bootId, pidNamespace, startTime, since } while held, and are removed on release", async () => {
    const store = fileStore(dir);
    const release = await store.lock(KEY);
    const owner = JSON.parse(await readFile(lockPath(KEY), "utf8"));
    expect(owner).toMatchObject({ pid: process.pid, hostname: hostname(), pidNamespace: readlinkSync("/proc/self/ns/pid") });
    expect(owner.bootId).toBe(readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim());
    expect(Number.isInteger(owner.startTime)).toBe(true);
    expect(Number.isNaN(Date.parse(owner.since))).toBe(false);
    await expect(store.lock(KEY)).rejects.toMatchObject({ name: "StoreLockedError", key: KEY, pid: process.pid });
    // Another instance on the same directory, same process: refused too.
    await expect(fileStore(dir).lock(KEY)).rejects.toBeInstanceOf(StoreLockedError);
    release();
    await expect(readFile(lockPath(KEY))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("of a dead process on this host, boot and PID namespace is taken over", async () => {
    await writeFile(lockPath(KEY), lockOf(deadPid(), 4242));
    const release = await fileStore(dir).lock(KEY);
    expect(JSON.parse(await readFile(lockPath(KEY), "utf8")).pid).toBe(process.pid);
    release();
    expect((await readdir(dir)).filter((name) => name.includes(".lock"))).toEqual([]);
  });

  it("naming this pid but an earlier start time (an earlier process with the same pid: a container restarted as pid 1) is taken over", async () => {
    await writeFile(lockPath(KEY), lockOf(process.pid, 1, "earlier"));
    const release = await fileStore(dir).lock(KEY);
    release();
  });

  it("of another host is never taken over: StoreLockedError with its pid", async () => {
    const foreign = { pid: deadPid(), hostname: `${hostname()}-elsewhere`, since: "2023-03-01T00:00:00.000Z" };
    await writeFile(lockPath(KEY), JSON.stringify(foreign));
    const error = await fileStore(dir).lock(KEY).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(StoreLockedError);
    expect(error).toMatchObject({ key: KEY, pid: foreign.pid });
    expect((error as Error).message).toContain(String(foreign.pid));
    expect(JSON.parse(await readFile(lockPath(KEY), "utf8"))).toEqual(foreign);
  });

  it("left half-taken-over by a killed process (a stale takeover guard) does not block", async () => {
    const stale = lockOf(deadPid(), 4242);
    await writeFile(lockPath(KEY), stale);
    const { createHash } = await import("node:crypto");
    const guard = `${lockPath(KEY)}.takeover-${createHash("sha256").update(stale).digest("hex").slice(0, 16)}`;
    await writeFile(guard, lockOf(deadPid(), 4343));
    const release = await fileStore(dir).lock(KEY);
    release();
    expect((await readdir(dir)).filter((name) => name.includes(".lock"))).toEqual([]);
  });

  it("a release never removes a lock that is no longer ours, and never throws", async () => {
    const store = fileStore(dir);
    const release = await store.lock(KEY);
    const someoneElse = JSON.stringify({ pid: 1, hostname: hostname(), since: "2023-03-01T00:00:00.000Z", token: "theirs" });
    await writeFile(lockPath(KEY), someoneElse);
    expect(() => release()).not.toThrow();
    expect(await readFile(lockPath(KEY), "utf8")).toBe(someoneElse);
    await rm(dir, { recursive: true });
    expect(() => release()).not.toThrow();
  });
});

describe("liveTrade$ on fileStore", () => {
  const LONG: SignalDto = { id: "P1", position: "long", priceTakeProfit: 102, priceStopLoss: 98, minuteEstimatedTime: 15 };
  const config = { CC_AVG_PRICE_CANDLES_COUNT: 1, CC_GET_CANDLES_RETRY_COUNT: 1 };
  let subscription: Subscription | undefined;
  const unlisten: Array<() => void> = [];
  afterEach(() => {
    subscription?.unsubscribe();
    for (const fn of unlisten.splice(0)) fn();
  });

  /** Flat candles at 100; every tick result (signal$) and error$ event recorded. */
  function setup() {
    const clock = new VirtualClock(0);
    const exchange = replayExchange(candlesFromPrices(new Array(200).fill(100), { start: -10 * 60_000 }), clock);
    const calls: number[] = [];
    const strategy: StrategySchema = {
      strategyName: "momentum",
      interval: "1m",
      getSignal: (_symbol, when) => {
        calls.push(when.getTime());
        return LONG;
      },
    };
    const errors: unknown[] = [];
    const ticks: string[] = [];
    unlisten.push(listenError((error) => errors.push(error)));
    unlisten.push(listenSignal((result) => ticks.push(`${result.timestamp} ${result.action}${result.action === "idle" ? "" : ` ${result.signal.id}`}`)));
    return { clock, exchange, strategy, calls, errors, ticks };
  }

  // Lock, read and write are real I/O: keep the virtual clock at `time` and yield to the event
  // loop until the stream has done what the test waits for.
  const at = (clock: VirtualClock, time: number, done: () => boolean) =>
    until(() => {
      clock.flush(time);
      return done();
    });

  it("a corrupt state file: error$ gets the StoreReadError, the file is moved aside and the stream starts fresh", async () => {
    const { clock, exchange, strategy, calls, errors, ticks } = setup();
    const store = fileStore(dir);
    const path = store.pathOf(KEY);
    const corrupt = '{"rxtrade":1,"key":"BTCUSDT:momentum","value":{"version":1,"status":"op';
    await writeFile(path, corrupt);

    const results: string[] = [];
    subscription = liveTrade$("BTCUSDT", strategy, { exchange, store, scheduler: clock, config }).subscribe((result) =>
      results.push(`${result.action} ${result.signal.id}`),
    );
    await at(clock, 0, () => results.length === 1);
    expect(results).toEqual(["opened P1"]);
    expect(ticks).toEqual(["0 opened P1"]);
    expect(calls).toEqual([0]);
    expect(errors).toHaveLength(1);
    const error = errors[0] as StoreReadError;
    expect(error).toBeInstanceOf(StoreReadError);
    expect(error.key).toBe(KEY);
    expect(await readFile(error.quarantinedTo as string, "utf8")).toBe(corrupt);
    // The fresh signal was written (and confirmed) before it was emitted.
    expect(JSON.parse(await readFile(path, "utf8"))).toMatchObject({ rxtrade: 1, key: KEY, value: { version: 1, status: "opened", signal: { id: "P1", pendingAt: 0 } } });
  });

  it("an unreadable state file is retried every tick and never started fresh; once readable the stream resumes what it holds", async () => {
    const { clock, exchange, strategy, calls, errors, ticks } = setup();
    const store = fileStore(dir);
    const path = store.pathOf(KEY);
    await mkdir(path);

    subscription = liveTrade$("BTCUSDT", strategy, { exchange, store, scheduler: clock, config }).subscribe();
    await at(clock, 0, () => errors.length === 1);
    expect(errors[0]).toMatchObject({ name: "StoreReadError", key: KEY, quarantinedTo: undefined });
    // retryAfter(tickMs) reads again, and fails again.
    await at(clock, 60_001, () => errors.length === 2);
    expect(calls).toEqual([]);
    expect(ticks).toEqual([]);
    expect(await readdir(path)).toEqual([]);

    // Fixed by hand, holding an open signal of this stream: the next retry resumes it.
    await rm(path, { recursive: true });
    const row = { ...LONG, id: "R1", priceOpen: 100, note: "", symbol: "BTCUSDT", strategyName: "momentum", exchangeName: "replay", scheduledAt: 0, pendingAt: 0 };
    await store.write(KEY, { version: 1, status: "opened", signal: row });
    await at(clock, 120_002, () => ticks.length === 1);
    await at(clock, 180_003, () => ticks.length === 2);
    expect(ticks).toEqual(["120002 active R1", "180003 active R1"]);
    expect(calls).toEqual([]);
    expect(errors).toHaveLength(2);
  });
});
