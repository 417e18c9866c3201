// Acceptance 5: one stream per key, across processes and within one. Children are the crash
// test's child (test/fixtures/crashChild.ts, bundled once) in "hold" mode: they lock the key,
// tick, open nothing, print "ready" and run until killed; a refused child prints the error's
// name and message to stderr and exits with code 3.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import type { Subscription } from "rxjs";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { listenError, liveTrade$, replayExchange, StoreLockedError, type StrategySchema } from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandles, fileStore } from "rxtrade/node";
import { candlesFromPrices, VirtualClock } from "rxtrade/testing";
import { bundleFixture, candleWindowCsv, CRASH_KEY, CRASH_STRATEGY, CRASH_SYMBOL, prepareCrashChild } from "./fixtures/crashHarness";

const ORIGIN = Date.parse("2023-03-01T00:10:00Z");
let work: string;
let childCommand: string[];
/** The children's candles: a day of the bundled minutes from ORIGIN (at --speed 600, 144 s of ticks), parsed in milliseconds where the bundled 20 days cost ~0.2 s of CPU a start. */
let candles: string;
let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "rxtrade-lock-test-"));
  candles = join(work, "candles.csv");
  const bundled = await csvCandles(BUNDLED_BTCUSDT_1M);
  [childCommand] = await Promise.all([prepareCrashChild(work), writeFile(candles, candleWindowCsv(bundled, ORIGIN - 10 * 60_000, ORIGIN + 1440 * 60_000))]);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});
beforeEach(async () => {
  dir = await mkdtemp(join(work, "store-"));
});
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

interface Started {
  child: ChildProcess;
  /** "ready" (it holds the lock and ticks), or how it ended. */
  outcome: Promise<{ ready: true } | { ready: false; code: number | null; stderr: string }>;
  exited: Promise<void>;
}

function start(startAt?: number): Started {
  const options = { dir, log: join(dir, "events.log"), candles, origin: ORIGIN, speed: 600, symbol: CRASH_SYMBOL, strategyName: CRASH_STRATEGY, mode: "hold", startAt };
  const child = spawn(childCommand[0] as string, [...childCommand.slice(1), JSON.stringify(options)], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const outcome = new Promise<{ ready: true } | { ready: false; code: number | null; stderr: string }>((resolve) => {
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      if (chunk.includes("ready")) resolve({ ready: true });
    });
    child.on("exit", (code) => resolve({ ready: false, code, stderr }));
  });
  return { child, outcome, exited };
}

async function lockOwner(): Promise<{ pid: number; hostname: string; since: string }> {
  return JSON.parse(await readFile(`${fileStore(dir).pathOf(CRASH_KEY)}.lock`, "utf8"));
}

describe("across processes", () => {
  it("a second process on the same key exits with StoreLockedError naming the key and the holder's pid; after a SIGKILL of the holder a new process takes the stale lock over", async () => {
    const first = start();
    expect(await first.outcome).toEqual({ ready: true });
    expect(await lockOwner()).toMatchObject({ pid: first.child.pid, hostname: hostname() });

    const second = await start().outcome;
    expect(second.ready).toBe(false);
    if (second.ready) return;
    expect(second.code).toBe(3);
    expect(second.stderr).toContain("StoreLockedError");
    expect(second.stderr).toContain(CRASH_KEY);
    expect(second.stderr).toContain(`process ${first.child.pid}`);

    first.child.kill("SIGKILL");
    await first.exited;
    // The lock file is still there, naming a dead process.
    expect((await lockOwner()).pid).toBe(first.child.pid);

    const third = start();
    expect(await third.outcome).toEqual({ ready: true });
    expect((await lockOwner()).pid).toBe(third.child.pid);
  }, 30_000);

  it("of processes racing for a stale lock exactly one wins", async () => {
    for (let round = 0; round < 2; round++) {
      const dead = start();
      await dead.outcome;
      dead.child.kill("SIGKILL");
      await dead.exited;

      // All leave the line at the same moment, after their start-up.
      const startAt = Date.now() + 1_500;
      const racers = [start(startAt), start(startAt), start(startAt)];
      const outcomes = await Promise.all(racers.map((racer) => racer.outcome));
      const winners = racers.filter((_, i) => outcomes[i]?.ready);
      expect(winners).toHaveLength(1);
      for (const outcome of outcomes) {
        if (outcome.ready) continue;
        expect(outcome.code).toBe(3);
        expect(outcome.stderr).toContain("StoreLockedError");
      }
      expect((await lockOwner()).pid).toBe(winners[0]?.child.pid);
      for (const racer of racers) racer.child.kill("SIGKILL");
      await Promise.all(racers.map((racer) => racer.exited));
    }
  }, 60_000);

  it("the store folder removed under a held lock and the key taken by a second process: the first's next write is refused with StoreLockedError naming the new holder, onLost hears it, and the release leaves the new lock alone", async () => {
    const store = fileStore(dir, { lockCheckMs: 60_000 });
    const release = await store.lock(CRASH_KEY);
    const heard: Error[] = [];
    release.onLost((error) => heard.push(error));
    const lockPath = `${store.pathOf(CRASH_KEY)}.lock`;

    await rm(dir, { recursive: true, force: true });
    await mkdir(dir); // the folder the second process starts on (and logs to)
    const second = start();
    expect(await second.outcome).toEqual({ ready: true });
    const theirs = await readFile(lockPath, "utf8");
    expect(JSON.parse(theirs).pid).toBe(second.child.pid);

    const error = await store.write(CRASH_KEY, { mine: true }).then(
      () => "written",
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(StoreLockedError);
    expect(error).toMatchObject({ key: CRASH_KEY, path: lockPath, pid: second.child.pid, hostname: hostname() });
    expect((error as Error).message).toContain(`lost its lock on ${CRASH_KEY} (${lockPath}): the lock file now names process ${second.child.pid} on host ${hostname()}`);
    expect(heard).toEqual([error]);
    await expect(readFile(store.pathOf(CRASH_KEY))).rejects.toMatchObject({ code: "ENOENT" });

    release();
    expect(await readFile(lockPath, "utf8")).toBe(theirs);
  }, 30_000);

  it("stays exclusive under contention: 4 processes taking stale locks over from each other for 1.5 s never hold it together", async () => {
    const command = await bundleFixture("lockStressChild", work);
    const dead = spawnSync(process.execPath, ["-e", ""]).pid as number;
    const startAt = Date.now() + 1_000;
    const runs = [0, 1, 2, 3].map(
      () =>
        new Promise<{ acquired: number; refused: number; violations: number }>((resolve, reject) => {
          const child = spawn(command[0] as string, [...command.slice(1), JSON.stringify({ dir, key: "BTCUSDT:stress", deadPid: dead, ms: 1_500, startAt })], {
            stdio: ["ignore", "pipe", "inherit"],
          });
          children.push(child);
          let out = "";
          child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
          child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`stress child exited with ${code}`))));
        }),
    );
    const results = await Promise.all(runs);
    const total = results.reduce((sum, r) => ({ acquired: sum.acquired + r.acquired, refused: sum.refused + r.refused, violations: sum.violations + r.violations }));
    expect(total.violations).toBe(0);
    // Every acquisition but the first took over a stale lock; they must have contended.
    // (36 to 136 in 1 s here, by the machine's load.)
    expect(total.acquired).toBeGreaterThan(20);
    expect(results.every((r) => r.acquired > 0)).toBe(true);
  }, 30_000);
});

describe("within one process", () => {
  let subscriptions: Subscription[] = [];
  afterEach(() => {
    for (const subscription of subscriptions) subscription.unsubscribe();
    subscriptions = [];
  });

  it("a second liveTrade$ on the same directory and key ends with StoreLockedError; after the first ends, the key is free", async () => {
    const clock = new VirtualClock(0);
    const exchange = replayExchange(candlesFromPrices(new Array(100).fill(100), { start: -10 * 60_000 }), clock);
    const strategy: StrategySchema = { strategyName: "momentum", interval: "1m", getSignal: () => null };
    const lockFile = `${fileStore(dir).pathOf("BTCUSDT:momentum")}.lock`;
    const reported: unknown[] = [];
    const unlisten = listenError((error) => reported.push(error));

    subscriptions.push(liveTrade$("BTCUSDT", strategy, { exchange, scheduler: clock, store: fileStore(dir) }).subscribe());
    // Wait (real I/O, no timer) until the first stream holds the lock.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !(await readFile(lockFile, "utf8").then(() => true, () => false))) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(JSON.parse(await readFile(lockFile, "utf8")).pid).toBe(process.pid);

    const error = await new Promise<unknown>((resolve) => {
      subscriptions.push(
        liveTrade$("BTCUSDT", strategy, { exchange, scheduler: clock, store: fileStore(dir) }).subscribe({ error: resolve, complete: () => resolve("completed") }),
      );
    });
    expect(error).toBeInstanceOf(StoreLockedError);
    expect(error).toMatchObject({ key: "BTCUSDT:momentum", pid: process.pid });
    expect(reported).toEqual([error]);
    unlisten();

    // The first stream's unsubscribe releases the lock synchronously.
    (subscriptions[0] as Subscription).unsubscribe();
    await expect(readFile(lockFile)).rejects.toMatchObject({ code: "ENOENT" });
    const release = await fileStore(dir).lock("BTCUSDT:momentum");
    release();
  });

  it("a lock file of a live process refuses the key even to a new store instance", async () => {
    const other = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
    children.push(other);
    const path = `${fileStore(dir).pathOf("BTCUSDT:momentum")}.lock`;
    await writeFile(path, JSON.stringify({ pid: other.pid, hostname: hostname(), since: new Date().toISOString() }));
    await expect(fileStore(dir).lock("BTCUSDT:momentum")).rejects.toMatchObject({ name: "StoreLockedError", pid: other.pid });
  });
});
