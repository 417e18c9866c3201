// rxtrade/redis against the lowest ioredis its peer range admits (package.json
// peerDependencies: ^5.0.0 || ^6.0.0; 5.0.0 installed as the devDependency alias
// ioredis-lowest), with "ioredis" mocked to that version everywhere, the store's own import of
// it included: the store contract, and a lease lost and fenced.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { StoreLockedError } from "rxtrade";
import { redisStore, type RedisStore } from "rxtrade/redis";
import { describeRedis, type RedisServer, startRedis } from "./helpers/redisServer";
import { storeContract } from "./helpers/storeContract";

vi.mock("ioredis", () => import("ioredis-lowest"));

const json = (path: string) => JSON.parse(readFileSync(new URL(path, import.meta.url), "utf8")) as { version: string; peerDependencies?: Record<string, string> };

let server: RedisServer;
let prefixes = 0;
const stores: RedisStore[] = [];

describeRedis("redisStore on the lowest ioredis", () => {
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await server?.stop();
  });

  it("is the lowest of the peer range, and the one the store imports", async () => {
    const lowest = json("../node_modules/ioredis-lowest/package.json").version;
    expect(lowest).toBe("5.0.0");
    expect(json("../package.json").peerDependencies?.ioredis).toBe(`^${lowest} || ^6.0.0`);
    expect(lowest).not.toBe(json("../node_modules/ioredis/package.json").version);
    expect((await import("ioredis")).default).toBe((await import("ioredis-lowest")).default);
  });

  storeContract("redisStore (ioredis 5.0.0)", async () => {
    const store = redisStore({ url: server.url }, { prefix: `low${++prefixes}:` });
    return { store, cleanup: () => store.close() };
  });

  it("a lease taken over after it ran out fences the old holder's write", async () => {
    const prefix = `low${++prefixes}:`;
    const holder = redisStore({ url: server.url }, { prefix, leaseMs: 600 });
    const other = redisStore({ url: server.url }, { prefix, leaseMs: 600 });
    stores.push(holder, other);
    const mine = await holder.lock("BTCUSDT:s");
    const heard: Error[] = [];
    mine.onLost((error) => heard.push(error));
    // As if its renewals had stopped and the lease had run out.
    await server.command("DEL", `${prefix}lease:BTCUSDT:s`);
    const theirs = await other.lock("BTCUSDT:s");
    expect(theirs.token).toBeGreaterThan(mine.token);
    await other.write("BTCUSDT:s", { by: "other" });
    const error = await holder.write("BTCUSDT:s", { by: "holder" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreLockedError);
    expect(heard).toEqual([error]);
    expect(await other.read("BTCUSDT:s")).toEqual({ by: "other" });
    mine();
    theirs();
  });
});
