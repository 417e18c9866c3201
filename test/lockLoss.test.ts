// Issue 9, item 3b: a fileStore lock that is lost — its lock file deleted (`rm -rf` of the store
// folder under a running stream) or replaced by another holder — is detected before the next
// write of the key (which then does not happen) and by a periodic check while held, which
// tells the release's onLost listeners once. (Across processes: test/lock.test.ts.)
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StoreLockedError } from "rxtrade";
import { fileStore } from "rxtrade/node";

const KEY = "BTCUSDT:momentum";
const OTHER = "ETHUSDT:momentum";

let parent: string;
let dir: string;
beforeEach(async () => {
  parent = await mkdtemp(join(tmpdir(), "rxtrade-lock-loss-"));
  dir = join(parent, "store");
});
afterEach(async () => {
  await rm(parent, { recursive: true, force: true });
});

/** The error `listen` receives, or "not called" after `ms` real ms. */
function lostWithin(onLost: (listener: (error: Error) => void) => () => void, ms: number): Promise<{ error: Error | "not called"; after: number; calls: number }> {
  const started = performance.now();
  let calls = 0;
  return new Promise((resolve) => {
    let first: Error | undefined;
    onLost((error) => {
      calls++;
      first ??= error;
    });
    const timer = setInterval(() => {
      if (first !== undefined || performance.now() - started > ms) {
        clearInterval(timer);
        // A little longer, to see a second call if there were one.
        setTimeout(() => resolve({ error: first ?? "not called", after: performance.now() - started, calls }), 60);
      }
    }, 5);
  });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => "resolved",
    (error: unknown) => error,
  );
}

describe("the store folder removed under a held lock", () => {
  it("onLost fires once within the check period; a later write rejects with StoreLockedError and creates no data file", async () => {
    const store = fileStore(dir, { lockCheckMs: 40 });
    const release = await store.lock(KEY);
    await store.write(KEY, { before: true });
    const lockPath = `${store.pathOf(KEY)}.lock`;

    await rm(dir, { recursive: true, force: true });
    const lost = await lostWithin(release.onLost, 1_000);
    expect(lost.error).toBeInstanceOf(StoreLockedError);
    expect(lost.after).toBeLessThan(400);
    expect(lost.calls).toBe(1);
    expect(lost.error).toMatchObject({ key: KEY, path: lockPath });
    expect((lost.error as Error).message).toBe(
      `rxtrade: the stream lost its lock on ${KEY} (${lockPath}): the lock file was deleted (was the store folder removed or cleaned while the stream ran?), ` +
        `so another process may be trading this key. This stream stops trading it and writes nothing more; make sure one process alone trades ${KEY}, then start it again`,
    );

    const error = await rejection(store.write(KEY, { after: true }));
    expect(error).toBe(lost.error);
    expect(await rejection(store.write(KEY, null))).toBe(lost.error);
    expect(existsSync(dir)).toBe(false);

    // A key this store does not hold is not concerned (it fails on the missing folder as before).
    expect(await rejection(store.write(OTHER, { x: 1 }))).toMatchObject({ name: "StoreWriteError" });
    release();
    release();
  });

  it("without waiting for the timer, the next write finds the loss: it rejects, and onLost listeners hear the same error once", async () => {
    const store = fileStore(dir, { lockCheckMs: 60_000 });
    const release = await store.lock(KEY);
    const heard: Error[] = [];
    release.onLost((error) => heard.push(error));
    await rm(dir, { recursive: true, force: true });

    const error = await rejection(store.write(KEY, { after: true }));
    expect(error).toBeInstanceOf(StoreLockedError);
    expect(heard).toEqual([error]);
    expect(existsSync(store.pathOf(KEY))).toBe(false);
    await rejection(store.write(KEY, { again: true }));
    expect(heard).toHaveLength(1);
    // A listener added after the loss hears it too (once, asynchronously).
    const late: Error[] = [];
    release.onLost((e) => late.push(e));
    expect(late).toEqual([]);
    await Promise.resolve();
    expect(late).toEqual([error]);
    release();
  });
});

describe("the lock file replaced by another holder", () => {
  it("the next write rejects before touching the data file; onLost names the new holder; the release leaves its lock file alone", async () => {
    const store = fileStore(dir, { lockCheckMs: 60_000 });
    const release = await store.lock(KEY);
    const heard: Error[] = [];
    release.onLost((error) => heard.push(error));
    await store.write(KEY, { mine: 1 });
    const lockPath = `${store.pathOf(KEY)}.lock`;
    const theirs = JSON.stringify({ pid: 4321, hostname: "db-2", since: "2023-03-01T00:00:00.000Z", token: "theirs" });
    await writeFile(lockPath, theirs);
    await writeFile(store.pathOf(KEY), "their data");

    const error = await rejection(store.write(KEY, { mine: 2 }));
    expect(error).toBeInstanceOf(StoreLockedError);
    expect(error).toMatchObject({ key: KEY, path: lockPath, pid: 4321, hostname: "db-2" });
    expect((error as Error).message).toContain(`the stream lost its lock on ${KEY} (${lockPath}): the lock file now names process 4321 on host db-2`);
    expect(heard).toEqual([error]);
    expect(await readFile(store.pathOf(KEY), "utf8")).toBe("their data");

    release();
    expect(await readFile(lockPath, "utf8")).toBe(theirs);
  });

  it("the periodic check finds it too, with no write", async () => {
    const store = fileStore(dir, { lockCheckMs: 40 });
    const release = await store.lock(KEY);
    await writeFile(`${store.pathOf(KEY)}.lock`, JSON.stringify({ pid: 4321, hostname: hostname(), since: "2023-03-01T00:00:00.000Z", token: "theirs" }));
    const lost = await lostWithin(release.onLost, 1_000);
    expect(lost.error).toMatchObject({ name: "StoreLockedError", key: KEY, pid: 4321 });
    expect(lost.after).toBeLessThan(400);
    expect(lost.calls).toBe(1);
    release();
  });
});

describe("a lock that is kept", () => {
  it("writes go through and no listener is called; after release the check stops and the key can be locked again", async () => {
    const store = fileStore(dir, { lockCheckMs: 20 });
    const release = await store.lock(KEY);
    const kept = lostWithin(release.onLost, 150);
    for (let n = 0; n < 5; n++) await store.write(KEY, { n });
    expect(await store.read(KEY)).toEqual({ n: 4 });
    expect((await kept).error).toBe("not called");

    const heard: Error[] = [];
    release.onLost((error) => heard.push(error));
    release();
    // Released: a replaced lock file concerns this lock no more, and onLost never fires.
    const again = await fileStore(dir).lock(KEY);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(heard).toEqual([]);
    expect(release.onLost(() => heard.push(new Error("late")))).toBeTypeOf("function");
    await Promise.resolve();
    expect(heard).toEqual([]);
    again();
    await store.write(KEY, { unlocked: true });
  });

  it("lockCheckMs must be a positive number of ms; modes must be permission bits", () => {
    expect(() => fileStore(dir, { lockCheckMs: 0 })).toThrow("rxtrade: fileStore option lockCheckMs (0) must be a positive number of milliseconds");
    expect(() => fileStore(dir, { fileMode: 0o1777 })).toThrow("rxtrade: fileStore option fileMode (1023) must be permission bits from 0o000 to 0o777, e.g. 0o640");
  });
});
