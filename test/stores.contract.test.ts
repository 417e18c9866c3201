// One contract, every store: memoryStore, fileStore (Node), indexedDbStore (fake-indexeddb)
// and fromPersistBase over a seed-style adapter. Each test gets a fresh store (a fresh
// directory, a fresh database). The suite itself is test/helpers/storeContract.ts (redisStore runs it too).
import "fake-indexeddb/auto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fromPersistBase, memoryStore, type PersistBaseAdapter } from "rxtrade";
import { indexedDbStore } from "rxtrade/browser";
import { fileStore } from "rxtrade/node";
import { type Fixture, storeContract } from "./helpers/storeContract";

/** A seed-style adapter over a Map, asynchronous like a real one; counts `waitForInit` calls. */
function seedAdapter(): PersistBaseAdapter & { inits: number; data: Map<string, unknown> } {
  const data = new Map<string, unknown>();
  const id = (symbol: string, strategyName: string) => JSON.stringify([symbol, strategyName]);
  const adapter = {
    inits: 0,
    data,
    async waitForInit() {
      adapter.inits++;
      await Promise.resolve();
    },
    async hasValue(symbol: string, strategyName: string) {
      return data.has(id(symbol, strategyName));
    },
    async readValue(symbol: string, strategyName: string) {
      return data.get(id(symbol, strategyName));
    },
    async writeValue(symbol: string, strategyName: string, value: unknown) {
      // A real adapter's latency varies: later writes may finish first unless the wrapper orders them.
      await new Promise((resolve) => setImmediate(resolve));
      data.set(id(symbol, strategyName), value);
    },
    async removeValue(symbol: string, strategyName: string) {
      data.delete(id(symbol, strategyName));
    },
  };
  return adapter;
}

let databases = 0;
const factories: Record<string, () => Promise<Fixture>> = {
  memoryStore: async () => ({ store: memoryStore() }),
  fileStore: async () => {
    const dir = await mkdtemp(join(tmpdir(), "rxtrade-contract-"));
    return { store: fileStore(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
  },
  indexedDbStore: async () => ({ store: indexedDbStore(`rxtrade-contract-${++databases}`, "signals") }),
  fromPersistBase: async () => ({ store: fromPersistBase(seedAdapter()) }),
};

for (const [name, create] of Object.entries(factories)) storeContract(name, create);

describe("fromPersistBase", () => {
  it("splits the key at its last ':', calls waitForInit once, and clears with removeValue", async () => {
    const adapter = seedAdapter();
    const store = fromPersistBase(adapter);
    await Promise.all([store.write("BTC/USDT:USDT:momentum", { a: 1 }), store.read("x:y"), store.read("x:y")]);
    expect(adapter.inits).toBe(1);
    expect([...adapter.data.keys()]).toEqual([JSON.stringify(["BTC/USDT:USDT", "momentum"])]);
    await store.write("BTC/USDT:USDT:momentum", null);
    expect(adapter.data.size).toBe(0);
    expect(adapter.inits).toBe(1);
  });

  it("writes null through writeValue when the adapter has no removeValue", async () => {
    const { removeValue: _, ...adapter } = seedAdapter();
    const written: unknown[] = [];
    const store = fromPersistBase({ ...adapter, writeValue: async (_s, _n, value) => void written.push(value), hasValue: async () => false });
    await store.write("BTCUSDT:s", { a: 1 });
    await store.write("BTCUSDT:s", null);
    expect(written).toEqual([{ a: 1 }, null]);
  });

  it("reports adapter failures as StoreReadError / StoreWriteError with the key and cause", async () => {
    const boom = new Error("redis down");
    const store = fromPersistBase({
      waitForInit: () => undefined,
      hasValue: () => true,
      readValue: () => {
        throw boom;
      },
      writeValue: () => Promise.reject(boom),
    });
    await expect(store.read("BTCUSDT:s")).rejects.toMatchObject({ name: "StoreReadError", key: "BTCUSDT:s", cause: boom });
    await expect(store.write("BTCUSDT:s", { a: 1 })).rejects.toMatchObject({ name: "StoreWriteError", key: "BTCUSDT:s", cause: boom });
  });
});
