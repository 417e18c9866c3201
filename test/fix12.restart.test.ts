// Issue 12 review, fix 5: a worker started again under its name after its process died
// (SIGKILL) takes its place at once when the recorded holder is a process of this host and boot
// that no longer runs (a live one still refuses it); and a first heartbeat that Redis does not
// answer in time is retried, naming what sets that time (the lease, --lease-ms), instead of
// failing the start.
import { spawnSync } from "node:child_process";
import { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, expect, it } from "vitest";
import { fleetAdmin, FleetError, type FleetWorker, fleetWorker, type FleetWorkerOptions } from "rxtrade/redis";
import { selfIdentity } from "../src/node/processIdentity";
import { describeRedis, type RedisServer, startRedis, stallingProxy } from "./helpers/redisServer";

describeRedis("fix 12.5: a worker restarted under its name; a slow first heartbeat", () => {
  let server: RedisServer;
  let raw: Redis;
  const workers: FleetWorker[] = [];
  beforeAll(async () => {
    server = await startRedis();
    raw = new Redis(server.url);
  }, 20_000);
  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    raw?.disconnect();
    await server?.stop();
  });
  const options = (url: string, prefix: string, name: string, extra: Partial<FleetWorkerOptions> = {}): FleetWorkerOptions => ({
    redis: { url },
    prefix,
    name,
    leaseMs: 10_000,
    resolve: () => {
      throw new Error("no pair in this test");
    },
    ...extra,
  });

  it("the heartbeat of a dead process of this host is taken over at once; a live one's is not", async () => {
    const prefix = "rs1:";
    // A process of this host that ran and is gone (as after kill -9).
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    const deadPid = Number(dead.stdout);
    const deadValue = JSON.stringify({ name: "dup", id: "old", pid: deadPid, host: selfIdentity().hostname, identity: { ...selfIdentity(), pid: deadPid, startTime: 1 } });
    await raw.set(`${prefix}worker:dup`, deadValue, "PX", 10_000);
    await raw.sadd(`${prefix}workers`, "dup");
    const started = performance.now();
    const worker = await fleetWorker(options(server.url, prefix, "dup"));
    workers.push(worker);
    expect(performance.now() - started).toBeLessThan(2_000);
    const held = JSON.parse((await raw.get(`${prefix}worker:dup`)) as string) as { pid: number; id: string };
    expect(held.pid).toBe(process.pid);
    expect(held.id).not.toBe("old");
    // Now this (live) process holds the name: another worker of that name is refused.
    const refused = await fleetWorker(options(server.url, prefix, "dup")).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(FleetError);
    expect((refused as Error).message).toContain(`rxtrade: a worker named dup is already in the fleet ${prefix}`);
    const admin = fleetAdmin({ url: server.url }, { prefix });
    expect((await admin.list()).workers).toEqual(["dup"]);
    await admin.close();
  });

  it("a first heartbeat Redis does not answer within the time limit is retried, the warning naming --lease-ms", async () => {
    const proxy = await stallingProxy(server.port);
    const lines: string[] = [];
    const logger = pino({ level: "warn" }, { write: (line: string) => void lines.push(line) });
    try {
      proxy.stall();
      const starting = fleetWorker(options(proxy.url, "rs2:", "slow", { leaseMs: 200, logger }));
      await new Promise((resolve) => setTimeout(resolve, 1_400));
      proxy.resume();
      const worker = await starting;
      workers.push(worker);
      const retried = lines.map((line) => JSON.parse(line) as { msg: string; error?: string }).filter((line) => line.msg === "cannot join the fleet yet; retrying");
      expect(retried.length).toBeGreaterThanOrEqual(1);
      expect(retried[0]?.error).toContain("within the worker's lease (fleetWorker option leaseMs, rxtrade fleet worker --lease-ms; at least 1 s) (1 s)");
      expect(await raw.exists("rs2:worker:slow")).toBe(1);
      await worker.stop();
    } finally {
      await proxy.close();
    }
  });
});
