// Issue 12 review, fix 7: the admin commands against a Redis they cannot use. A URL that is not
// one: a usage error naming the flag (exit 2). Nobody listening, a wrong or missing password:
// one line naming the URL (password masked) and the cause, exit 1, within the 5 s connect limit
// (it was 30-35 s of silence, then a stack trace). fleet tail says the same at its start, and
// once running says on stderr when it loses Redis and when it is back (fleetEvents$'s
// onError/onRecover), reconnecting with backoff.
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type FleetEvent, fleetEvents$ } from "rxtrade/redis";
import { main } from "../src/cli/main";
import { Terminal } from "../src/cli/terminal";
import { describeRedis, type RedisServer, startRedis } from "./helpers/redisServer";

describeRedis("fix 12.7: admin commands and a Redis they cannot use", () => {
  let server: RedisServer;
  let raw: Redis;
  beforeAll(async () => {
    server = await startRedis();
    raw = new Redis(server.url);
    raw.on("error", () => undefined); // while the server restarts
  }, 20_000);
  afterAll(async () => {
    raw?.disconnect();
    await server?.stop();
  });
  const cli = async (...args: string[]) => {
    let out = "";
    let err = "";
    const terminal = new Terminal({ write: (text: string) => (out += text) }, { write: (text: string) => (err += text) });
    const started = performance.now();
    const code = await main(["fleet", ...args], terminal);
    return { code, out, err, ms: performance.now() - started };
  };

  it("a --redis that is not a URL is a usage error naming the flag (exit 2)", async () => {
    const bad = await cli("list", "--redis", "redis://127.0.0.1:notaport");
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--redis "redis://127.0.0.1:notaport" is not a valid URL (redis://[user:password@]host[:port][/db]); e.g. --redis redis://127.0.0.1:6379');
    expect(bad.err).not.toContain("TypeError");
  });

  it("nobody listening, a wrong password, no password: one line each, exit 1, within seconds", async () => {
    const port = server.port;
    await raw.config("SET", "requirepass", "s3cret");
    try {
      const [refused, drain, tail, wrong, missing] = await Promise.all([
        cli("list", "--redis", "redis://127.0.0.1:1"),
        cli("drain", "--all", "--redis", "redis://127.0.0.1:1"),
        cli("tail", "--redis", "redis://127.0.0.1:1"),
        cli("list", "--redis", `redis://:wrongpw@127.0.0.1:${port}`),
        cli("remove", "X:y", "--redis", `redis://127.0.0.1:${port}`),
      ]);
      for (const run of [refused, drain, tail, wrong, missing]) {
        expect(run.code).toBe(1);
        expect(run.out).toBe("");
        expect(run.err.trimEnd().split("\n")).toHaveLength(1);
        expect(run.ms).toBeLessThan(8_000);
        expect(run.err).toContain("check --redis (or RXTRADE_REDIS: host, port, password) and that Redis is running");
      }
      expect(refused.err).toMatch(/^rxtrade fleet list: cannot use Redis at redis:\/\/127\.0\.0\.1:1: connect ECONNREFUSED 127\.0\.0\.1:1; /);
      expect(drain.err).toMatch(/^rxtrade fleet drain: cannot use Redis at redis:\/\/127\.0\.0\.1:1: connect ECONNREFUSED/);
      expect(tail.err).toMatch(/^rxtrade fleet tail: cannot use Redis at redis:\/\/127\.0\.0\.1:1: connect ECONNREFUSED/);
      expect(wrong.err).toContain(`rxtrade fleet list: cannot use Redis at redis://:***@127.0.0.1:${port}: WRONGPASS`);
      expect(wrong.err).not.toContain("wrongpw");
      expect(missing.err).toContain(`rxtrade fleet remove: cannot use Redis at redis://127.0.0.1:${port}: NOAUTH`);
    } finally {
      await raw.config("SET", "requirepass", "");
    }
  }, 20_000);

  it("fleetEvents$ tells of an outage once and of the recovery, and misses no event", async () => {
    const errors: Error[] = [];
    let recovered = 0;
    const seen: FleetEvent[] = [];
    const subscription = fleetEvents$({ url: server.url }, { prefix: "ur1:", from: "0", onError: (error) => errors.push(error), onRecover: () => recovered++ }).subscribe((event) => seen.push(event));
    try {
      await raw.xadd("ur1:events", "*", "action", "claimed", "pair", "A:b", "worker", "w", "token", "1", "signalId", "", "at", "x");
      for (let n = 0; n < 50 && seen.length < 1; n++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(seen.map((event) => event.action)).toEqual(["claimed"]);
      await server.restart(1_500);
      for (let n = 0; n < 100 && recovered === 0; n++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(errors.length).toBe(1);
      expect(recovered).toBe(1);
      const after = new Redis(server.url);
      await after.xadd("ur1:events", "*", "action", "released", "pair", "A:b", "worker", "w", "token", "1", "signalId", "", "at", "y");
      after.disconnect();
      for (let n = 0; n < 50 && seen.length < 2; n++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(seen.map((event) => event.action)).toEqual(["claimed", "released"]);
    } finally {
      subscription.unsubscribe();
    }
  }, 20_000);
});
