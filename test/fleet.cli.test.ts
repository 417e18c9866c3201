// rxtrade fleet (issue 12 items 2 and 3, new feature) as real processes against a real
// redis-server: add/list/drain/remove from the command line; two workers share six pairs three
// each; SIGTERM hands a worker's pairs over at once (taken within a poll and a tick, the open
// signals resumed under the same ids, never a second opened); SIGKILL: taken within the lease
// plus a tick; the event stream's tokens never show two holders of a pair.
import { rm } from "node:fs/promises";
import { dirname } from "node:path";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { fleetAdmin, type FleetAdmin } from "rxtrade/redis";
import { Child, run } from "./fixtures/processHarness";
import { bundleFleetCli } from "./fixtures/fleetHarness";
import { checkTokens } from "./fixtures/fleetCheck";
import { describeRedis, type RedisServer, startRedis } from "./helpers/redisServer";

const hold = fileURLToPath(new URL("./fixtures/cliHoldStrategy.mjs", import.meta.url));
const LEASE_MS = 500;
const TICK_WALL_MS = 100; // --speed 10: a 60 001 ms tick every ~100 ms
const SYMBOLS = ["AAAUSDT", "BBBUSDT", "CCCUSDT", "DDDUSDT", "EEEUSDT", "FFFUSDT"];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(20);
  }
}

describeRedis("rxtrade fleet, as processes", () => {
  let server: RedisServer;
  let cli: string[];
  let admin: FleetAdmin;
  const children: Child[] = [];
  beforeAll(async () => {
    [server, cli] = await Promise.all([startRedis(), bundleFleetCli()]);
  }, 30_000);
  afterAll(async () => {
    for (const child of children) child.kill("SIGKILL");
    await admin?.close();
    await server?.stop();
    if (cli !== undefined) await rm(dirname(cli[1] as string), { recursive: true, force: true });
  });

  const fleet = (args: string[], prefix: string) => run(cli, ["fleet", ...args, "--prefix", prefix], { cwd: tmpdir(), env: { RXTRADE_REDIS: server.url } });
  const worker = (name: string, prefix: string) => {
    const child = new Child(cli, ["fleet", "worker", "--name", name, "--lease-ms", String(LEASE_MS), "--speed", "10", "--from", "2023-03-08T12:00Z", "--prefix", prefix], {
      cwd: tmpdir(),
      env: { RXTRADE_REDIS: server.url },
    });
    children.push(child);
    return child;
  };

  it("add, list, drain, remove from the command line; a worker drains a pair", async () => {
    const prefix = "cli:";
    // A worker drains a pair, meanwhile (its own prefix): then the pair is drained for good and the worker stops on SIGTERM.
    const view = fleetAdmin({ url: server.url }, { prefix: "drain:" });
    await view.add({ symbol: "ETHUSDT", strategy: hold, exchange: "bundled", tickMs: 30_000 }, "hold");
    expect(await view.drain(["ETHUSDT:hold"])).toEqual(["ETHUSDT:hold"]);
    const w = worker("drainer", "drain:");
    const drained = until("drained", async () => ((await view.list()).pairs[0]?.status === "drained" ? true : undefined), 15_000);

    const [added, bad, none] = await Promise.all([
      fleet(["add", "--symbol", "BTCUSDT", "--strategy", "momentum", "--exchange", "bundled"], prefix),
      fleet(["add", "--symbol", "ETHUSDT", "--strategy", "momentun", "--exchange", "bundled"], prefix),
      run(cli, ["fleet", "list"], { cwd: tmpdir(), env: { RXTRADE_REDIS: "" } }),
    ]);
    expect(added).toMatchObject({ code: 0, stdout: "added BTCUSDT:momentum\n", stderr: "" });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--strategy "momentun" is neither an example strategy nor a file; did you mean momentum?');
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("rxtrade fleet: Redis is required: --redis redis://127.0.0.1:6379, or set RXTRADE_REDIS");
    expect(await fleet(["add", "--symbol", "ETHUSDT", "--strategy", hold, "--exchange", "bundled", "--tick-ms", "30000"], prefix)).toMatchObject({ code: 0, stdout: "added ETHUSDT:hold\n" });
    const listed = await fleet(["list", "--json"], prefix);
    expect(JSON.parse(listed.stdout)).toEqual([
      { pair: "BTCUSDT:momentum", owner: null, status: "unowned", signalId: null, lastTickAt: null, token: null },
      { pair: "ETHUSDT:hold", owner: null, status: "unowned", signalId: null, lastTickAt: null, token: null },
    ]);
    expect(await fleet(["drain", "ETHUSDT:hold"], prefix)).toMatchObject({ code: 0, stdout: "draining ETHUSDT:hold\n" });
    expect((await fleet(["list"], prefix)).stdout).toBe(
      [
        "2 pairs, 0 live workers",
        "PAIR              OWNER  STATUS    SIGNAL  LAST TICK  TOKEN",
        "BTCUSDT:momentum  -      unowned   -       -          -",
        "ETHUSDT:hold      -      draining  -       -          -",
        "",
      ].join("\n"),
    );
    expect(await fleet(["remove", "BTCUSDT:momentum"], prefix)).toMatchObject({ code: 0, stdout: "removed BTCUSDT:momentum\n" });
    expect(await fleet(["remove", "BTCUSDT:momentum"], prefix)).toMatchObject({ code: 1, stderr: "rxtrade fleet: no pair BTCUSDT:momentum in cli:pairs; see rxtrade fleet list\n" });

    await drained;
    expect((await view.events()).map((event) => [event.action, event.worker])).toEqual([
      ["claimed", "drainer"],
      ["drained", "drainer"],
    ]);
    await view.close();
    w.kill("SIGTERM");
    expect((await w.exited).code).toBe(0);
  }, 40_000);

  it("two workers share six pairs; SIGTERM hands one's pairs over at once, SIGKILL within the lease: signals resumed, one holder per token", async () => {
    const prefix = "procs:";
    admin = fleetAdmin({ url: server.url }, { prefix });
    for (const symbol of SYMBOLS) await admin.add({ symbol, strategy: hold, exchange: "bundled" }, "hold");
    const a = worker("a", prefix);
    const b = worker("b", prefix);
    const owners = async () => {
      const { pairs } = await admin.list();
      const by = (name: string) => pairs.filter((pair) => pair.owner === name && pair.signalId !== null).map((pair) => pair.pair);
      return { a: by("a"), b: by("b"), c: by("c") };
    };
    await until("3 pairs each, signals open", async () => {
      const now = await owners();
      return now.a.length === 3 && now.b.length === 3 ? now : undefined;
    }, 15_000);

    const c = worker("c", prefix);
    await until("c has some", async () => ((await owners()).c.length >= 1 ? true : undefined), 10_000);
    await until("2 each", async () => {
      const now = await owners();
      return now.a.length === 2 && now.b.length === 2 && now.c.length === 2 ? now : undefined;
    }, 10_000);

    // SIGTERM: a hands over at once.
    const before = await owners();
    let at = performance.now();
    a.kill("SIGTERM");
    await until("b and c hold a's pairs", async () => {
      const now = await owners();
      return now.b.length + now.c.length === 6 ? now : undefined;
    }, LEASE_MS + 3_000);
    const handOver = performance.now() - at;
    expect((await a.exited).code).toBe(0);

    // SIGKILL: b's leases expire, c takes them.
    const fromB = (await owners()).b;
    at = performance.now();
    b.kill("SIGKILL");
    await until("c holds every pair", async () => ((await owners()).c.length === 6 ? true : undefined), LEASE_MS * 2 + 3_000);
    const takeover = performance.now() - at;
    // Within the lease and a tick, with the loaded machine's slack of a poll and a status flush.
    expect(takeover).toBeLessThan(LEASE_MS + TICK_WALL_MS + 600);
    expect(handOver).toBeLessThan(TICK_WALL_MS + 600);

    const events = await admin.events();
    expect(checkTokens(events)).toEqual([]);
    const opened = new Map(events.filter((event) => event.action === "opened").map((event) => [event.pair, event.signalId]));
    expect(opened.size).toBe(6);
    for (const id of [...before.a, ...fromB]) {
      const resumed = events.filter((event) => event.pair === id && event.action === "resumed");
      expect(resumed.length).toBeGreaterThanOrEqual(1);
      expect(new Set(resumed.map((event) => event.signalId))).toEqual(new Set([opened.get(id)]));
    }
    c.kill("SIGTERM");
    expect((await c.exited).code).toBe(0);
    expect((await admin.list()).workers).toEqual([]);
  }, 60_000);
});
