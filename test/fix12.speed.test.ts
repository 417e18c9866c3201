// Issue 12 review, fix 2: a fleet has one clock. A worker without speed (real time) is refused
// by a fleet at --speed, and a worker with a speed by a real-time fleet — as a worker of another
// speed is — instead of dragging the pairs it takes over to its own clock.
import { afterAll, beforeAll, expect, it } from "vitest";
import { ArgumentRangeError } from "rxtrade";
import { fleetAdmin, type FleetWorker, fleetWorker, type FleetWorkerOptions } from "rxtrade/redis";
import { describeRedis, type RedisServer, startRedis } from "./helpers/redisServer";


describeRedis("fix 12.2: one clock per fleet", () => {
  let server: RedisServer;
  const workers: FleetWorker[] = [];
  beforeAll(async () => {
    server = await startRedis();
  }, 20_000);
  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    await server?.stop();
  });
  const start = async (prefix: string, name: string, speed: number | undefined) => {
    const options: FleetWorkerOptions = {
      redis: { url: server.url },
      prefix,
      name,
      leaseMs: 500,
      ...(speed === undefined ? {} : { speed, from: Date.parse("2023-03-08T12:00Z") }),
      resolve: () => {
        throw new Error("no pair in this test");
      },
    };
    const worker = await fleetWorker(options);
    workers.push(worker);
    return worker;
  };
  const live = async (prefix: string) => {
    const admin = fleetAdmin({ url: server.url }, { prefix });
    try {
      return (await admin.list()).workers;
    } finally {
      await admin.close();
    }
  };

  it("a real-time worker is refused by a fleet at --speed, naming the speed to give", async () => {
    await start("sp1:", "fast", 10);
    const refused = await start("sp1:", "slow", undefined).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ArgumentRangeError);
    expect((refused as Error).message).toBe(
      "rxtrade: the fleet sp1: runs its clock at speed 10 (its first worker's), as sp1:clock says, and this worker has no speed (real time): its pairs would change clocks when it took them over. " +
        "Give this worker speed 10 (--speed 10), or use another prefix (--prefix); to change the fleet's clock, stop all its workers and delete sp1:clock",
    );
    expect(await live("sp1:")).toEqual(["fast"]);
  });

  it("a worker at --speed is refused by a real-time fleet", async () => {
    await start("sp2:", "wall", undefined);
    const refused = await start("sp2:", "fast", 10).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ArgumentRangeError);
    expect((refused as Error).message).toBe(
      "rxtrade: the fleet sp2: runs in real time (its first worker had no speed), as sp2:clock says, and this worker has speed 10: its pairs would change clocks when it took them over. " +
        "Start this worker without speed (--speed), or use another prefix (--prefix); to change the fleet's clock, stop all its workers and delete sp2:clock",
    );
    expect(await live("sp2:")).toEqual(["wall"]);
    // Another real-time worker is welcome.
    await start("sp2:", "wall2", undefined);
    expect(await live("sp2:")).toEqual(["wall", "wall2"]);
  });
});
