// The SignalStore contract every store passes, as one reusable suite: test/stores.contract.test.ts
// runs it against memoryStore, fileStore, indexedDbStore and fromPersistBase, and
// test/redis.contract.test.ts against redisStore. Each test gets a fresh store from `create`.
import { afterEach, describe, expect, it } from "vitest";
import { StoreLockedError, type SignalStore } from "rxtrade";

export interface Fixture {
  store: SignalStore;
  cleanup?: () => Promise<void>;
}

// Every store's methods may be synchronous or not: normalise to Promises (a sync throw rejects).
// (None of these stores answers with an Observable.)
const read = (store: SignalStore, key: string): Promise<unknown> => Promise.resolve().then(() => store.read(key));
const write = (store: SignalStore, key: string, value: unknown): Promise<void> =>
  Promise.resolve().then(() => store.write(key, value) as void | Promise<void>);
const lock = (store: SignalStore, key: string): Promise<() => void> =>
  Promise.resolve().then(() => (store.lock as NonNullable<SignalStore["lock"]>)(key) as (() => void) | Promise<() => void>);

export function storeContract(name: string, create: () => Promise<Fixture>) {
  describe(`${name} (SignalStore contract)`, () => {
    let fixture: Fixture;
    const open = async () => (fixture = await create()).store;
    afterEach(async () => {
      await fixture?.cleanup?.();
    });

    it("reads null for a key never written", async () => {
      const store = await open();
      expect(await read(store, "BTCUSDT:none")).toBeNull();
    });

    it("returns a JSON round trip of what was written, not the same object", async () => {
      const store = await open();
      const value = { version: 1, status: "opened", signal: { id: "a", priceOpen: 42_000.5, note: "" }, at: new Date(0), gone: undefined, list: [1, "2", null] };
      await write(store, "BTCUSDT:s", value);
      value.signal.id = "mutated after the write";
      const got = await read(store, "BTCUSDT:s");
      expect(got).toEqual({ version: 1, status: "opened", signal: { id: "a", priceOpen: 42_000.5, note: "" }, at: "1970-01-01T00:00:00.000Z", list: [1, "2", null] });
      expect(got).not.toBe(value);
      expect(await read(store, "BTCUSDT:s")).not.toBe(got);
    });

    it("clears a key on null, and clearing a missing key is fine", async () => {
      const store = await open();
      await write(store, "BTCUSDT:s", { a: 1 });
      await write(store, "BTCUSDT:s", null);
      expect(await read(store, "BTCUSDT:s")).toBeNull();
      await write(store, "BTCUSDT:never", null);
      expect(await read(store, "BTCUSDT:never")).toBeNull();
    });

    it("keeps keys isolated", async () => {
      const store = await open();
      await write(store, "BTCUSDT:a", { v: "a" });
      await write(store, "BTCUSDT:b", { v: "b" });
      await write(store, "ETHUSDT:a", { v: "eth" });
      await write(store, "BTCUSDT:a", null);
      expect(await read(store, "BTCUSDT:a")).toBeNull();
      expect(await read(store, "BTCUSDT:b")).toEqual({ v: "b" });
      expect(await read(store, "ETHUSDT:a")).toEqual({ v: "eth" });
    });

    it("takes 200 keys written concurrently", async () => {
      const store = await open();
      const keys = Array.from({ length: 200 }, (_, i) => `SYM${i}:strategy`);
      await Promise.all(keys.map((key, i) => write(store, key, { i, key })));
      const values = await Promise.all(keys.map((key) => read(store, key)));
      expect(values).toEqual(keys.map((key, i) => ({ i, key })));
    });

    it("applies writes to one key in call order: of 50 writes fired at once, the last wins", async () => {
      const store = await open();
      const writes: Promise<void>[] = [];
      for (let i = 0; i < 50; i++) writes.push(write(store, "BTCUSDT:order", i % 7 === 3 ? null : { i }));
      await Promise.all(writes);
      expect(await read(store, "BTCUSDT:order")).toEqual({ i: 49 });
      // The other direction: the last of the burst clears.
      const clears: Promise<void>[] = [];
      for (let i = 0; i < 50; i++) clears.push(write(store, "BTCUSDT:order", i === 49 ? null : { i }));
      await Promise.all(clears);
      expect(await read(store, "BTCUSDT:order")).toBeNull();
    });

    it("stores a 1 MB value", async () => {
      const store = await open();
      const big = { text: "x".repeat(1_000_000), numbers: Array.from({ length: 10_000 }, (_, i) => i * 1.5) };
      await write(store, "BTCUSDT:big", big);
      const got = (await read(store, "BTCUSDT:big")) as typeof big;
      expect(got.text.length).toBe(1_000_000);
      expect(got).toEqual(big);
    });

    it("keeps keys with special characters distinct and intact", async () => {
      const store = await open();
      const keys = [
        "BTC/USDT:USDT:momentum",
        "BTC/USDT:momentum",
        "BTC/USDT:USDT:momentum v2",
        "abc:x",
        "ABC:x",
        "Abc:x",
        "a b:c d",
        "币安/USDT:策略",
        "emoji🚀:x",
        "é:x", // precomposed
        "e\u0301:x", // e + combining accent: looks the same, is another key
        "..:..",
        "con:nul",
        "a\\b:c?*<>|\"",
        `${"long".repeat(80)}:${"name".repeat(40)}`,
        "BTCUSDT_momentum:x",
        "BTCUSDT:momentum_x",
      ];
      await Promise.all(keys.map((key) => write(store, key, { key })));
      for (const key of keys) expect(await read(store, key)).toEqual({ key });
      await write(store, "ABC:x", null);
      expect(await read(store, "ABC:x")).toBeNull();
      expect(await read(store, "abc:x")).toEqual({ key: "abc:x" });
    });

    it("locks a key exclusively; a release is idempotent and frees the key", async () => {
      const store = await open();
      expect(typeof store.lock).toBe("function");
      const release = await lock(store, "BTC/USDT:USDT:s");
      const refused = await lock(store, "BTC/USDT:USDT:s").then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(StoreLockedError);
      expect((refused as StoreLockedError).key).toBe("BTC/USDT:USDT:s");
      expect((refused as StoreLockedError).message).toContain("BTC/USDT:USDT:s");
      const other = await lock(store, "BTC/USDT:USDT:other");
      expect(() => release()).not.toThrow();
      expect(() => release()).not.toThrow();
      const again = await lock(store, "BTC/USDT:USDT:s");
      again();
      other();
    });
  });
}

