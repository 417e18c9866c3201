// rxtrade fleet (issue 12's acceptance, new feature): three worker processes, 50 SIGKILLs in a
// loop against a real redis-server, leases of 400 ms at --speed 10. Each kill hits the live
// worker holding the most pairs whose signal it has announced, and a worker process started
// ahead (fleetHarness's WorkerPool: loaded and waiting) joins in its place at once, so the loop
// waits for leases, not for process starts; nor does it wait for a rebalance between kills.
// From the event stream: never two workers on a pair (tokens), no signal opened twice or
// ended twice, every takeover resumes the signal its pair last held, no signal lost (each one
// opened has ended once, announced by its holder or, when that holder died first, by the next,
// or is held at the end), and at the end every pair runs again in a live worker.
import { rm } from "node:fs/promises";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { fleetAdmin, type FleetAdmin, type FleetEvent } from "rxtrade/redis";
import { bundleFleetWorker, type FleetProcess, WorkerPool } from "./fixtures/fleetHarness";
import { checkTokens } from "./fixtures/fleetCheck";
import { describeRedis, type RedisServer, startRedis } from "./helpers/redisServer";

const hold = fileURLToPath(new URL("./fixtures/cliHoldStrategy.mjs", import.meta.url));
const KILLS = 50;
const LEASE_MS = 400;
/** At least this long between two kills. */
const EVERY_MS = 100;
/** Worker processes loaded and waiting to replace the killed ones. */
const SPARE = 4;
const SYMBOLS = ["AAAUSDT", "BBBUSDT", "CCCUSDT", "DDDUSDT", "EEEUSDT", "FFFUSDT"];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ENDS = new Set(["closed", "cancelled", "ended"]);

describeRedis("rxtrade fleet: a kill loop", () => {
  let server: RedisServer;
  let command: string[];
  let admin: FleetAdmin;
  let pool: WorkerPool;
  let closing = false;
  beforeAll(async () => {
    [server, command] = await Promise.all([startRedis(), bundleFleetWorker()]);
    pool = new WorkerPool(command, [hold]);
    admin = fleetAdmin({ url: server.url }, { prefix: "kill:" });
  }, 30_000);
  afterAll(async () => {
    closing = true;
    await pool?.close();
    await admin?.close();
    await server?.stop();
    if (command !== undefined) await rm(dirname(command[1] as string), { recursive: true, force: true });
  });

  it(`${KILLS} SIGKILLs over 3 workers: one holder per pair, no signal lost or duplicated`, async () => {
    for (const symbol of SYMBOLS) await admin.add({ symbol, strategy: hold, exchange: "bundled" }, "hold");
    const live = new Map<string, FleetProcess>();
    const join = (name: string) => {
      const worker = pool.take();
      live.set(name, worker);
      // A start refused under load (Redis not answering its first heartbeat within a second) is
      // the machine's doing, not the fleet's: said, and the worker replaced.
      worker.start({ url: server.url, prefix: "kill:", name, leaseMs: LEASE_MS, speed: 10, from: Date.parse("2023-03-08T12:00Z") }).catch((error: unknown) => {
        if (closing || live.get(name) !== worker) return; // killed
        console.warn(`fleet kill loop: worker ${name} did not start (${String(error)}); another takes its place`);
        live.delete(name);
        join(`${name}+`);
      });
    };
    for (const name of ["w-0", "w-1", "w-2"]) join(name);
    // The spares load once the first three have (a start costs ~0.3 s of CPU).
    void Promise.all([...live.values()].map((worker) => worker.ready)).then(() => pool.keep(SPARE));

    const killed: FleetProcess[] = [];
    const log: FleetEvent[] = [];
    let lastKill = 0;
    while (killed.length < KILLS) {
      const [{ pairs: now }, more] = await Promise.all([admin.list(), admin.events(log.at(-1)?.id)]);
      log.push(...more.filter((event) => event.id !== log.at(-1)?.id));
      // The pairs a worker holds whose signal it has announced (opened, or resumed) under its token.
      const announced = (name: string) =>
        now.filter((pair) => pair.owner === name && pair.signalId !== null && log.some((event) => event.worker === name && event.pair === pair.pair && event.token === pair.token && event.signalId === pair.signalId && (event.action === "opened" || event.action === "resumed"))).length;
      const victim = [...live.keys()].map((name) => ({ name, count: announced(name) })).sort((a, b) => b.count - a.count)[0];
      const wait = lastKill + EVERY_MS - performance.now();
      if (victim === undefined || victim.count === 0 || wait > 0) {
        await sleep(Math.max(25, wait)); // no live worker has announced a signal of a pair it holds yet, or too soon
        continue;
      }
      const target = live.get(victim.name) as FleetProcess;
      target.kill("SIGKILL");
      lastKill = performance.now();
      live.delete(victim.name);
      killed.push(target);
      join(`w-${killed.length + 2}`);
    }
    // Each kill was a SIGKILL of a worker process.
    expect((await Promise.all(killed.map((worker) => worker.exited))).map((exit) => exit.signal)).toEqual(killed.map(() => "SIGKILL"));

    // Settled: every pair held again by a live worker, with a signal.
    const deadline = performance.now() + 10_000;
    let pairs = (await admin.list()).pairs;
    const settled = () => pairs.every((pair) => pair.status === "running" && pair.signalId !== null && pair.owner !== null && live.has(pair.owner));
    while (!settled() && performance.now() < deadline) {
      await sleep(50);
      pairs = (await admin.list()).pairs;
    }
    expect(pairs.map((pair) => pair.status)).toEqual(SYMBOLS.map(() => "running"));
    expect(pairs.filter((pair) => pair.owner === null || !live.has(pair.owner))).toEqual([]);
    await sleep(200); // the last notes
    const events = await admin.events();
    expect(checkTokens(events)).toEqual([]);

    const problems: string[] = [];
    const held = new Map<string, string>(); // pair -> the signal its events say it holds
    const ended = new Map<string, string>(); // signal -> the event that ended it
    const opened = new Set<string>();
    let takeovers = 0;
    for (const event of events) {
      if (event.action === "opened") {
        opened.add(event.signalId);
        held.set(event.pair, event.signalId);
      }
      if (ENDS.has(event.action)) {
        const first = ended.get(event.signalId);
        if (first !== undefined) problems.push(`${event.id} ${event.pair}: ${event.signalId} ${event.action} after it ${first}`);
        if (held.get(event.pair) !== event.signalId) problems.push(`${event.id} ${event.pair}: ${event.action} ${event.signalId}, its events say it held ${held.get(event.pair) ?? "nothing"}`);
        ended.set(event.signalId, `${event.action} (${event.id})`);
        held.delete(event.pair);
      }
      if (event.action === "resumed") {
        takeovers++;
        if (held.get(event.pair) !== event.signalId) problems.push(`${event.id} ${event.pair}: resumed ${event.signalId}, its events say it held ${held.get(event.pair) ?? "nothing"}`);
      }
    }
    // Not lost: each signal opened has ended once, or a pair holds it now.
    const holding = new Set(pairs.map((pair) => pair.signalId));
    for (const id of opened) if (ended.has(id) === holding.has(id)) problems.push(`${id}: ${ended.has(id) ? `${ended.get(id)} and still held` : "neither ended nor held"}`);
    expect(problems).toEqual([]);
    expect(takeovers).toBeGreaterThanOrEqual(KILLS); // each kill took at least one announced open signal down
    expect(pairs.map((pair) => pair.signalId)).toEqual(pairs.map((pair) => held.get(pair.pair) ?? null));
  }, 60_000);
});
