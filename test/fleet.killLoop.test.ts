// rxtrade fleet (issue 12's acceptance, new feature): three worker processes, 50 SIGKILLs in a
// loop (each killed worker replaced by a new one), against a real redis-server, leases of
// 500 ms at --speed 10. From the event stream: never two workers on a pair (tokens), no signal
// opened or closed twice, every takeover resumes the signal its pair last held, and at the end
// every pair runs again with the signal its events say it holds.
import { rm } from "node:fs/promises";
import { dirname } from "node:path";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { fleetAdmin, type FleetAdmin } from "rxtrade/redis";
import { Child } from "./fixtures/processHarness";
import { bundleFleetCli } from "./fixtures/fleetHarness";
import { checkTokens } from "./fixtures/fleetCheck";
import { describeRedis, type RedisServer, startRedis } from "./helpers/redisServer";

const hold = fileURLToPath(new URL("./fixtures/cliHoldStrategy.mjs", import.meta.url));
const KILLS = 50;
const EVERY_MS = 300;
const SYMBOLS = ["AAAUSDT", "BBBUSDT", "CCCUSDT", "DDDUSDT", "EEEUSDT", "FFFUSDT"];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeRedis("rxtrade fleet: a kill loop", () => {
  let server: RedisServer;
  let cli: string[];
  let admin: FleetAdmin;
  const children: Child[] = [];
  beforeAll(async () => {
    [server, cli] = await Promise.all([startRedis(), bundleFleetCli()]);
    admin = fleetAdmin({ url: server.url }, { prefix: "kill:" });
  }, 30_000);
  afterAll(async () => {
    for (const child of children) child.kill("SIGKILL");
    await admin?.close();
    await server?.stop();
    if (cli !== undefined) await rm(dirname(cli[1] as string), { recursive: true, force: true });
  });

  const worker = (name: string) => {
    const child = new Child(cli, ["fleet", "worker", "--name", name, "--lease-ms", "500", "--speed", "10", "--from", "2023-03-08T12:00Z", "--prefix", "kill:", "--log-level", "warn"], {
      cwd: tmpdir(),
      env: { RXTRADE_REDIS: server.url },
    });
    children.push(child);
    return child;
  };

  it(`${KILLS} SIGKILLs over 3 workers: one holder per pair, no signal lost or duplicated`, async () => {
    for (const symbol of SYMBOLS) await admin.add({ symbol, strategy: hold, exchange: "bundled" }, "hold");
    const live = new Map<string, Child>(["w-0", "w-1", "w-2"].map((name) => [name, worker(name)]));
    // Each kill hits the live worker holding the most pairs (so that every kill forces
    // takeovers), and a new worker replaces it at once.
    let victims = 0;
    for (let kill = 1; kill <= KILLS; kill++) {
      await sleep(EVERY_MS);
      const { pairs: now } = await admin.list();
      const counts = [...live.keys()].map((name) => ({ name, count: now.filter((pair) => pair.owner === name).length })).sort((a, b) => b.count - a.count);
      const victim = counts[0];
      if (victim === undefined || victim.count === 0) {
        kill--; // nobody holds anything yet: look again
        continue;
      }
      live.get(victim.name)?.kill("SIGKILL");
      live.delete(victim.name);
      victims++;
      live.set(`w-${kill + 2}`, worker(`w-${kill + 2}`));
    }
    expect(victims).toBe(KILLS);
    // Settled: every pair held again, with a signal.
    const deadline = performance.now() + 10_000;
    let pairs = (await admin.list()).pairs;
    while (!pairs.every((pair) => pair.status === "running" && pair.signalId !== null) && performance.now() < deadline) {
      await sleep(100);
      pairs = (await admin.list()).pairs;
    }
    expect(pairs.map((pair) => pair.status)).toEqual(SYMBOLS.map(() => "running"));
    await sleep(300); // the last notes
    const events = await admin.events();
    expect(checkTokens(events)).toEqual([]);

    const problems: string[] = [];
    const held = new Map<string, string>(); // pair -> the signal its events say it holds
    const closed = new Set<string>();
    let takeovers = 0;
    for (const event of events) {
      if (event.action === "opened") held.set(event.pair, event.signalId);
      if (event.action === "closed" || event.action === "cancelled") {
        if (closed.has(event.signalId)) problems.push(`${event.id}: ${event.signalId} closed twice`);
        closed.add(event.signalId);
        held.delete(event.pair);
      }
      if (event.action === "resumed") {
        takeovers++;
        if (held.get(event.pair) !== event.signalId) problems.push(`${event.id} ${event.pair}: resumed ${event.signalId}, its events say it held ${held.get(event.pair) ?? "nothing"}`);
        held.set(event.pair, event.signalId);
      }
    }
    expect(problems).toEqual([]);
    expect(takeovers).toBeGreaterThanOrEqual(KILLS); // each kill took at least one open signal down
    expect(pairs.map((pair) => pair.signalId)).toEqual(pairs.map((pair) => held.get(pair.pair) ?? null));
  }, 90_000);
});
