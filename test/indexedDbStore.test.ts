// indexedDbStore beyond the shared contract: quarantine of entries that are not its own, and
// locks (Web Locks where present, else per database in this realm). IndexedDB is
// fake-indexeddb under Node; a real-browser run belongs to the browser issue.
import "fake-indexeddb/auto";
import { createStore, get, keys, set } from "idb-keyval";
import type { Subscription } from "rxjs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { listenError, liveTrade$, replayExchange, StoreLockedError, StoreReadError, type StrategySchema } from "rxtrade";
import { indexedDbStore } from "rxtrade/browser";
import { candlesFromPrices, VirtualClock } from "rxtrade/testing";

const KEY = "BTCUSDT:momentum";
const OTHER = "ETHUSDT:momentum";
let databases = 0;
const freshDb = () => `rxtrade-idb-test-${++databases}`;

async function readError(promise: Promise<unknown>): Promise<StoreReadError> {
  const error = await promise.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(StoreReadError);
  return error as StoreReadError;
}

describe("entries", () => {
  it("holds JSON text of { rxtrade: 1, key, value }", async () => {
    const db = freshDb();
    await indexedDbStore(db).write(KEY, { a: 1 });
    expect(JSON.parse((await get<string>(KEY, createStore(db, "signals"))) as string)).toEqual({ rxtrade: 1, key: KEY, value: { a: 1 } });
  });

  const corrupt: Array<[string, unknown]> = [
    ["text that is not JSON", '{"rxtrade":1,"key":"BTCUSDT:mom'],
    ["an empty string", ""],
    ["JSON of the wrong shape", JSON.stringify({ version: 1, status: "opened" })],
    ["an entry of another key", JSON.stringify({ rxtrade: 1, key: OTHER, value: {} })],
    ["a structured-clone object instead of text", { version: 1, status: "opened" }],
    ["a number", 42],
  ];
  for (const [name, raw] of corrupt) {
    it(`${name}: moved to a .corrupt- key, reported with quarantinedTo, then the key reads null; other keys intact`, async () => {
      const db = freshDb();
      const store = indexedDbStore(db);
      await store.write(OTHER, { other: true });
      await set(KEY, raw, createStore(db, "signals"));

      const error = await readError(store.read(KEY));
      expect(error.key).toBe(KEY);
      expect(error.quarantinedTo).toMatch(/^BTCUSDT:momentum\.corrupt-/);
      expect(error.path).toBe(`indexedDB ${db}/signals`);
      expect(await get(error.quarantinedTo as string, createStore(db, "signals"))).toEqual(raw);
      expect(await get(KEY, createStore(db, "signals"))).toBeUndefined();
      expect(await store.read(KEY)).toBeNull();
      expect(await store.read(OTHER)).toEqual({ other: true });
    });
  }

  it("never overwrites an earlier quarantined entry", async () => {
    const db = freshDb();
    const store = indexedDbStore(db);
    const idb = createStore(db, "signals");
    await set(KEY, "first", idb);
    const first = await readError(store.read(KEY));
    await set(KEY, "second", idb);
    const second = await readError(store.read(KEY));
    expect(second.quarantinedTo).not.toBe(first.quarantinedTo);
    expect(await get(first.quarantinedTo as string, idb)).toBe("first");
    expect(await get(second.quarantinedTo as string, idb)).toBe("second");
    expect((await keys(idb)).sort()).toEqual([first.quarantinedTo, second.quarantinedTo].sort());
  });

  it("a value JSON cannot hold is a StoreWriteError, and the stored value is kept", async () => {
    const store = indexedDbStore(freshDb());
    await store.write(KEY, { kept: true });
    await expect(store.write(KEY, { n: 1n })).rejects.toMatchObject({ name: "StoreWriteError", key: KEY });
    expect(await store.read(KEY)).toEqual({ kept: true });
  });
});

describe("locks without the Web Locks API", () => {
  it("are per database and object store: another store instance on the same database is refused", async () => {
    const db = freshDb();
    const release = await indexedDbStore(db).lock(KEY);
    await expect(indexedDbStore(db).lock(KEY)).rejects.toMatchObject({ name: "StoreLockedError", key: KEY, pid: undefined });
    const elsewhere = await indexedDbStore(freshDb()).lock(KEY);
    release();
    const again = await indexedDbStore(db).lock(KEY);
    again();
    elsewhere();
  });
});

describe("locks through the Web Locks API", () => {
  /** Web Locks as browsers have them: a lock is released asynchronously, after its callback's promise settles. */
  function fakeWebLocks() {
    const held = new Set<string>();
    const requests: string[] = [];
    return {
      held,
      requests,
      request(name: string, options: { ifAvailable?: boolean }, callback: (lock: { name: string } | null) => unknown): Promise<unknown> {
        requests.push(name);
        if (held.has(name)) {
          if (!options.ifAvailable) throw new Error("this fake only supports ifAvailable");
          return Promise.resolve().then(() => callback(null));
        }
        held.add(name);
        return Promise.resolve()
          .then(() => callback({ name }))
          .finally(() => {
            held.delete(name);
          });
      },
    };
  }

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("hold the key until released; a held key is refused; a released key can be locked again at once", async () => {
    const locks = fakeWebLocks();
    vi.stubGlobal("navigator", { locks });
    const db = freshDb();
    const store = indexedDbStore(db);
    const release = await store.lock(KEY);
    expect(locks.held.has(`rxtrade:${db}/signals:${KEY}`)).toBe(true);
    const refused = await indexedDbStore(db).lock(KEY).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(StoreLockedError);
    expect(refused).toMatchObject({ key: KEY });
    release();
    release();
    // The Web Lock is not free yet (its release is asynchronous): lock waits for it.
    expect(locks.held.has(`rxtrade:${db}/signals:${KEY}`)).toBe(true);
    const again = await store.lock(KEY);
    again();
    expect(locks.requests).toHaveLength(3);
  });
});

describe("liveTrade$ on indexedDbStore", () => {
  let subscription: Subscription | undefined;
  afterEach(() => subscription?.unsubscribe());

  it("a corrupt entry: error$ gets the StoreReadError and the stream starts fresh", async () => {
    const db = freshDb();
    await set(KEY, "not json", createStore(db, "signals"));
    const clock = new VirtualClock(0);
    const exchange = replayExchange(candlesFromPrices(new Array(100).fill(100), { start: -10 * 60_000 }), clock);
    const strategy: StrategySchema = {
      strategyName: "momentum",
      interval: "1m",
      getSignal: () => ({ id: "P1", position: "long", priceTakeProfit: 102, priceStopLoss: 98, minuteEstimatedTime: 15 }),
    };
    const errors: unknown[] = [];
    const unlisten = listenError((error) => errors.push(error));
    const results: string[] = [];
    const store = indexedDbStore(db);
    subscription = liveTrade$("BTCUSDT", strategy, { exchange, store, scheduler: clock, config: { CC_AVG_PRICE_CANDLES_COUNT: 1 } }).subscribe(
      (result) => results.push(`${result.action} ${result.signal.id}`),
    );
    const deadline = Date.now() + 10_000;
    while (results.length === 0 && Date.now() < deadline) {
      clock.flush(0);
      await new Promise((resolve) => setImmediate(resolve));
    }
    unlisten();
    expect(results).toEqual(["opened P1"]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ name: "StoreReadError", key: KEY });
    expect((errors[0] as StoreReadError).quarantinedTo).toMatch(/\.corrupt-/);
    expect(await store.read(KEY)).toMatchObject({ version: 1, status: "opened", signal: { id: "P1" } });
  });
});
