// rxtrade/redis, issue 12 item 4 (new feature): redisRateLimiter, a token bucket per exchange
// account in Redis shared by every process on that account, and ccxtExchange's rateLimiter
// option. Against a real redis-server (skipped with a message when it is not installed): 4
// limiters on separate connections, and 3 processes, sharing a key are admitted at most
// burst + rate × elapsed in every window, in about (n − burst) / rate, with one script call per
// acquire; costs above 1 and above the burst; timeoutMs refused at once with RateLimitError,
// taking nothing; Redis stopped or absent is a RedisConnectionError within callTimeoutMs; and a
// ccxt binance whose HTTP goes to a loopback server asks the limiter once per request, with
// ccxt's cost, before the request.
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ccxt from "ccxt";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { ExchangeError } from "rxtrade";
import { ccxtExchange } from "rxtrade/ccxt";
import { RateLimitError, type RateLimitGrant, RedisConnectionError, redisRateLimiter, type RedisRateLimiter, type RedisRateLimiterOptions } from "rxtrade/redis";
import { describeRedis, type RedisServer, startRedis } from "./helpers/redisServer";

const root = fileURLToPath(new URL("../", import.meta.url));
let server: RedisServer;
let keys = 0;
let cleanups: Array<() => Promise<unknown> | void> = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Wall time in ms since the epoch with sub-ms precision: the clock Redis's TIME reads on this machine. */
const wallMs = () => performance.timeOrigin + performance.now();

function limiter(options: Omit<RedisRateLimiterOptions, "key"> & { key?: string }, url = server.url): RedisRateLimiter {
  const made = redisRateLimiter({ url }, { key: `acct${keys}`, prefix: "rl:", onError: () => undefined, ...options });
  cleanups.push(() => made.close());
  return made;
}

/**
 * The most cost admitted in a window [admittedAt[i], admittedAt[j]] beyond what a bucket of
 * `burst` refilled at `rate` allows (≤ 0 when the bucket was kept to), of the admissions in time
 * order: every prefix (windows from the first admission, when the bucket was full), and with
 * `windows` every window (which holds only while no cost is above the burst: such a request
 * alone is more than the burst).
 */
function worstExcess(grants: ReadonlyArray<{ at: number; cost: number }>, ratePerSecond: number, burst: number, windows = true): number {
  const sorted = [...grants].sort((a, b) => a.at - b.at);
  let worst = -Infinity;
  for (let i = 0; i < (windows ? sorted.length : 1); i++) {
    let admitted = 0;
    for (let j = i; j < sorted.length; j++) {
      admitted += (sorted[j] as { cost: number }).cost;
      const allowed = burst + (ratePerSecond * ((sorted[j] as { at: number }).at - (sorted[i] as { at: number }).at)) / 1000;
      worst = Math.max(worst, admitted - allowed);
    }
  }
  return worst;
}

/** Script calls Redis has run since the last CONFIG RESETSTAT: EVALSHA (NOSCRIPT misses apart) and EVAL. */
async function scriptCalls(): Promise<{ runs: number; misses: number }> {
  const info = await server.command("INFO", "commandstats");
  const stat = (name: string, field: string) => Number(new RegExp(`cmdstat_${name}:.*?\\b${field}=(\\d+)`).exec(info)?.[1] ?? 0);
  const misses = stat("evalsha", "failed_calls");
  return { runs: stat("evalsha", "calls") - misses + stat("eval", "calls"), misses };
}

describeRedis("redisRateLimiter", () => {
  beforeAll(async () => {
    server = await startRedis();
  });
  afterEach(async () => {
    keys++;
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("4 limiters on separate connections sharing a key at 50/s, burst 10: 200 acquires kept within burst + rate × elapsed in every window, in (200 − 10) / 50 s, one script call each", async () => {
    const RATE = 50;
    const BURST = 10;
    const limiters = Array.from({ length: 4 }, () => limiter({ ratePerSecond: RATE, burst: BURST }));
    // One connection each, before the clock starts, so that the first acquires are not held up by connecting.
    await Promise.all(limiters.map((one) => one.acquire(0.001)));
    await server.command("DEL", limiters[0]?.redisKey as string);
    await server.command("CONFIG", "RESETSTAT");

    // Each limiter serves two callers of 25 requests in a row: 8 waiting at a time.
    const grants: Array<RateLimitGrant & { resolvedAt: number }> = [];
    const started = wallMs();
    await Promise.all(
      limiters.flatMap((one) =>
        [0, 1].map(async () => {
          for (let n = 0; n < 25; n++) {
            const grant = await one.acquire();
            grants.push({ ...grant, resolvedAt: wallMs() });
          }
        }),
      ),
    );
    const took = wallMs() - started;

    expect(grants).toHaveLength(200);
    // Admitted on Redis's clock: never more than the bucket allows, in any window.
    expect(worstExcess(grants.map((g) => ({ at: g.admittedAt, cost: 1 })), RATE, BURST)).toBeLessThanOrEqual(1e-6);
    // No caller went before its admission (1 ms: this process's monotonic clock read against Redis's wall clock).
    for (const grant of grants) expect(grant.resolvedAt).toBeGreaterThanOrEqual(grant.admittedAt - 1);
    // ... so the requests as sent keep to the bucket too, counted from its first admission (within that ms).
    const first = Math.min(...grants.map((g) => g.admittedAt));
    const sent = [...grants].sort((a, b) => a.resolvedAt - b.resolvedAt);
    sent.forEach((grant, i) => expect(i + 1).toBeLessThanOrEqual(BURST + (RATE * (grant.resolvedAt + 1 - first)) / 1000));

    // No starvation, no slack: the bucket was never idle, so the last admission is (200 − burst) / rate after the first.
    const last = Math.max(...grants.map((g) => g.admittedAt));
    expect(last - first).toBeGreaterThanOrEqual(((200 - BURST) / RATE) * 1000 - 1);
    expect(last - first).toBeLessThan(((200 - BURST) / RATE) * 1000 + 150);
    expect(took).toBeLessThan(((200 - BURST) / RATE) * 1000 + 600);
    expect(grants.filter((g) => g.waitMs === 0).length).toBeGreaterThanOrEqual(BURST);
    // One script run per acquire, no polling; a NOSCRIPT miss costs one more call (at most once per connection).
    const calls = await scriptCalls();
    expect(calls.runs).toBe(200);
    expect(calls.misses).toBeLessThanOrEqual(4);
    const waits = grants.filter((g) => g.waitMs > 0).length;
    console.log(
      `rate limit, 4 limiters x 2 callers: 200 acquires at ${RATE}/s burst ${BURST}: admitted over ${(last - first).toFixed(1)} ms ` +
        `(${((200 - BURST) / ((last - first) / 1000)).toFixed(2)}/s after the burst), wall ${took.toFixed(0)} ms, ${waits} waited, ` +
        `${calls.runs + calls.misses} script calls (${calls.misses} NOSCRIPT), worst excess ${worstExcess(grants.map((g) => ({ at: g.admittedAt, cost: 1 })), RATE, BURST).toFixed(3)} tokens`,
    );
  });

  it("3 processes (4 callers each) sharing a key at 100/s, burst 5: 120 acquires kept within the bucket in every window, in (120 − 5) / 100 s", async () => {
    const { build } = await import("esbuild");
    // The child, bundled from the sources (ioredis external: resolved from this project's node_modules).
    // Each child connects, says "ready", and on "go" (its stdin) makes its acquires and prints their admissions.
    const child = `import { redisRateLimiter } from "rxtrade/redis";
const [url, key] = process.argv.slice(2);
const limiter = redisRateLimiter({ url }, { key, prefix: "rl:", ratePerSecond: 100, burst: 5, callTimeoutMs: 10_000 });
await limiter.acquire(0.001);
process.stdout.write("ready\\n");
await new Promise((resolve) => process.stdin.once("data", resolve));
const grants = [];
await Promise.all([0, 1, 2, 3].map(async () => {
  for (let n = 0; n < 10; n++) grants.push((await limiter.acquire()).admittedAt);
}));
process.stdout.write(JSON.stringify(grants) + "\\n");
await limiter.close();
process.exit(0);`;
    const outfile = join(root, "node_modules", ".cache", `rxtrade-ratelimit-child-${process.pid}.mjs`);
    await build({
      stdin: { contents: child, resolveDir: join(root, "test"), loader: "ts", sourcefile: "rateLimitChild.ts" },
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      outfile,
      logLevel: "silent",
      tsconfig: join(root, "tsconfig.json"),
      external: ["ioredis"],
    });
    cleanups.push(() => import("node:fs/promises").then(({ rm }) => rm(outfile, { force: true })));
    const key = `acct${keys}`;
    const children = Array.from({ length: 3 }, () => {
      const running = spawn(process.execPath, [outfile, server.url, key], { stdio: ["pipe", "pipe", "pipe"] });
      cleanups.push(() => void running.kill("SIGKILL"));
      let out = "";
      let err = "";
      const ready = new Promise<void>((resolve) => running.stdout.setEncoding("utf8").on("data", (text: string) => ((out += text), out.startsWith("ready\n") && resolve())));
      running.stderr.setEncoding("utf8").on("data", (text: string) => (err += text));
      const done = new Promise<number[]>((resolve, reject) =>
        running.once("exit", (code) => (code === 0 ? resolve(JSON.parse(out.slice("ready\n".length)) as number[]) : reject(new Error(`child exited ${code}: ${err}`)))),
      );
      return { running, ready: Promise.race([ready, done.then(() => undefined)]), done };
    });
    await Promise.all(children.map((one) => one.ready));
    for (const one of children) one.running.stdin.write("go\n");
    const runs = children.map((one) => one.done);
    const grants = (await Promise.all(runs)).flat();
    expect(grants).toHaveLength(120);
    expect(worstExcess(grants.map((at) => ({ at, cost: 1 })), 100, 5)).toBeLessThanOrEqual(1e-6);
    const span = Math.max(...grants) - Math.min(...grants);
    expect(span).toBeGreaterThanOrEqual(((120 - 5) / 100) * 1000 - 1);
    expect(span).toBeLessThan(((120 - 5) / 100) * 1000 + 150);
    console.log(`rate limit, 3 processes: 120 acquires at 100/s burst 5 admitted over ${span.toFixed(1)} ms (${(115 / (span / 1000)).toFixed(2)}/s after the burst)`);
  });

  it("a cost above 1 takes that many tokens, waiting for what is short; a cost above the burst is admitted once it has accrued", async () => {
    const one = limiter({ ratePerSecond: 50, burst: 10 });
    const grants = [await one.acquire(4), await one.acquire(4), await one.acquire(4), await one.acquire(12)];
    expect(grants.map((g) => g.cost)).toEqual([4, 4, 4, 12]);
    expect(grants[0]?.waitMs).toBe(0);
    expect(grants[1]?.waitMs).toBe(0);
    // 10 − 4 − 4 leaves 2, plus what refilled (50/s, 0.05 a ms) between the first ask and the
    // third, on Redis's clock (the ask is admittedAt − waitMs): 2 short at 50/s is 40 ms less
    // that lag — a few ms, more on a loaded machine.
    const askedAt = (g: { admittedAt: number; waitMs: number } | undefined) => (g?.admittedAt ?? 0) - (g?.waitMs ?? 0);
    const lag = askedAt(grants[2]) - askedAt(grants[0]);
    expect(lag).toBeLessThan(40);
    expect(grants[2]?.waitMs).toBeGreaterThan(0);
    expect(grants[2]?.waitMs).toBeCloseTo(40 - lag, 1);
    // From 0 at the third's admission: 12 tokens accrue in 240 ms (on Redis's clock, however late
    // this process asked on a loaded machine; its own wait is that less the delay).
    expect((grants[3]?.admittedAt ?? 0) - (grants[2]?.admittedAt ?? 0)).toBeGreaterThanOrEqual(239);
    expect((grants[3]?.admittedAt ?? 0) - (grants[2]?.admittedAt ?? 0)).toBeLessThanOrEqual(241);
    expect(grants[3]?.waitMs).toBeLessThanOrEqual(240);
    expect(worstExcess(grants.map((g) => ({ at: g.admittedAt, cost: g.cost })), 50, 10, false)).toBeLessThanOrEqual(1e-6);
    await expect(one.acquire(0)).rejects.toThrow("acquire(cost) needs a positive number of tokens, got 0");
  });

  it("a wait longer than timeoutMs is refused at once with RateLimitError naming the key and the wait, and takes nothing", async () => {
    const strict = limiter({ ratePerSecond: 10, burst: 1, timeoutMs: 150 });
    const first = await strict.acquire();
    expect(first.waitMs).toBe(0);
    // 1 token at 10/s: admitted 100 ms after the first (on Redis's clock).
    expect((await strict.acquire()).admittedAt - first.admittedAt).toBeGreaterThanOrEqual(99);
    const before = performance.now();
    await strict.acquire(); // ~100 ms wait again, within 150
    const asked = performance.now();
    const refused = (await strict.acquire(2).catch((e: unknown) => e)) as RateLimitError;
    const tookMs = performance.now() - asked;
    expect(refused).toBeInstanceOf(RateLimitError);
    expect(refused).toMatchObject({ name: "RateLimitError", key: strict.key, redisKey: `rl:ratelimit:${strict.key}`, cost: 2, timeoutMs: 150, ratePerSecond: 10, burst: 1 });
    expect(refused.waitMs).toBeGreaterThan(150);
    expect(refused.waitMs).toBeLessThanOrEqual(200);
    expect(refused.message).toMatch(
      new RegExp(`^rxtrade: rate limit ${strict.key} \\(10/s, burst 1, Redis key rl:ratelimit:${strict.key}\\): a request of cost 2 would wait \\d+ ms, more than timeoutMs \\(150 ms\\); .*raise timeoutMs`),
    );
    expect(tookMs).toBeLessThan(150); // refused at once, not after waiting timeoutMs
    expect(before).toBeLessThan(asked);
    // Nothing was taken: one token is still due about 100 ms after the last admission, not 300.
    const patient = limiter({ key: strict.key, ratePerSecond: 10, burst: 1, timeoutMs: 5_000 });
    const next = await patient.acquire();
    expect(next.waitMs).toBeLessThanOrEqual(100);
  });

  it("Redis stopped: acquire fails with RedisConnectionError within callTimeoutMs, the outage is reported once, and a waiting acquire ends on close()", async () => {
    const own = await startRedis();
    cleanups.push(() => own.stop());
    const reported: Error[] = [];
    const one = redisRateLimiter({ url: own.url }, { key: "acct", ratePerSecond: 5, burst: 1, callTimeoutMs: 400, onError: (e) => reported.push(e) });
    cleanups.push(() => one.close());
    await one.acquire();
    const waiting = one.acquire(); // 200 ms: taken, sleeping
    // Redis goes once it has answered that call (the bucket's level is then below zero).
    for (let n = 0; n < 200 && !(Number(await own.command("HGET", "rxtrade:ratelimit:acct", "level")) < 0); n++) await sleep(5);
    expect(Number(await own.command("HGET", "rxtrade:ratelimit:acct", "level"))).toBeLessThan(0);
    await own.stop();
    await waiting; // its tokens were taken before Redis went: it goes
    const asked = performance.now();
    const failed = (await one.acquire().catch((e: unknown) => e)) as RedisConnectionError;
    const tookMs = performance.now() - asked;
    expect(failed).toBeInstanceOf(RedisConnectionError);
    expect(failed.message).toMatch(new RegExp(`^rxtrade: rate limiter acct could not take tokens from rxtrade:ratelimit:acct: .*; the request was not admitted. Check that Redis at redis://127.0.0.1:${own.port} is running`));
    expect(tookMs).toBeLessThan(400 + 300);
    expect(reported.length).toBe(1);
    expect(reported[0]).toBeInstanceOf(RedisConnectionError);

    // Never connected at all (nothing listens): the same error, as quickly.
    const nowhere = redisRateLimiter({ url: own.url }, { key: "acct", ratePerSecond: 5, callTimeoutMs: 300, onError: () => undefined });
    cleanups.push(() => nowhere.close());
    const started = performance.now();
    await expect(nowhere.acquire()).rejects.toBeInstanceOf(RedisConnectionError);
    expect(performance.now() - started).toBeLessThan(300 + 300);

    // close() ends an acquire sleeping for its turn.
    const slow = limiter({ ratePerSecond: 2, burst: 1 });
    await slow.acquire();
    const sleeping = slow.acquire().catch((e: unknown) => e);
    await sleep(20);
    await slow.close();
    expect(await sleeping).toBeInstanceOf(RedisConnectionError);
    await expect(slow.acquire()).rejects.toThrow(`rate limiter ${slow.key} (rl:ratelimit:${slow.key}) was closed (limiter.close())`);
  });

  it("ccxtExchange with rateLimiter: each HTTP request ccxt makes (here to a loopback server) first takes its ccxt cost from the limiter; a refusal fails the call with ExchangeError and no request", async () => {
    const MINUTE = 60_000;
    const T0 = Date.parse("2023-03-01T00:00:00Z");
    // Every request the server got, with how many acquires had been made when it arrived.
    const arrived: Array<{ path: string; acquiresBefore: number }> = [];
    const acquired: number[] = [];
    const http: Server = createServer((request, response) => {
      const url = new URL(request.url ?? "/", "http://127.0.0.1");
      arrived.push({ path: `${url.pathname}${url.searchParams.has("limit") ? `?limit=${url.searchParams.get("limit")}` : ""}`, acquiresBefore: acquired.length });
      response.setHeader("content-type", "application/json");
      if (url.pathname === "/api/v3/exchangeInfo") {
        const pair = { symbol: "BTCUSDT", status: "TRADING", baseAsset: "BTC", quoteAsset: "USDT", baseAssetPrecision: 8, quotePrecision: 8, quoteAssetPrecision: 8 };
        response.end(JSON.stringify({ timezone: "UTC", serverTime: T0, symbols: [{ ...pair, orderTypes: ["LIMIT"], isSpotTradingAllowed: true, permissions: ["SPOT"], permissionSets: [["SPOT"]], filters: [] }] }));
      } else if (url.pathname === "/api/v3/klines") {
        const from = Number(url.searchParams.get("startTime"));
        const limit = Number(url.searchParams.get("limit"));
        const rows = Array.from({ length: limit }, (_, i) => from + i * MINUTE)
          .filter((at) => at < T0 + 150 * MINUTE)
          .map((at) => [at, "100", "101", "99", "100.5", "12", at + MINUTE - 1, "0", 1, "0", "0", "0"]);
        response.end(JSON.stringify(rows));
      } else {
        response.statusCode = 404;
        response.end(JSON.stringify({ code: -1, msg: `no such path ${url.pathname}` }));
      }
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((resolve) => http.close(resolve)));
    const origin = `http://127.0.0.1:${(http.address() as { port: number }).port}`;

    const binance = new ccxt.binance({ options: { fetchMarkets: { types: ["spot"] } } });
    const api = binance.urls.api as Record<string, unknown>;
    for (const [name, base] of Object.entries(api)) if (typeof base === "string") api[name] = base.replace(/^https:\/\/[^/]+/, origin);
    const ownThrottle: number[] = [];
    const { throttler } = binance as unknown as { throttler: { throttle(cost?: number): Promise<void> } };
    const ccxtOwn = throttler.throttle.bind(throttler);
    throttler.throttle = (cost) => (ownThrottle.push(cost ?? 1), ccxtOwn(cost));

    const shared = limiter({ ratePerSecond: 1_000, burst: 20 });
    const exchange = ccxtExchange(binance, {
      maxPerRequest: 100,
      clock: { now: () => T0 + 1_000 * MINUTE },
      rateLimiter: { acquire: (cost) => (acquired.push(cost), shared.acquire(cost)) },
    });
    const candles = await exchange.getCandles("BTCUSDT", "1m", new Date(T0), 150);
    expect(candles).toHaveLength(150);
    // Markets, then two pages of candles, each request after its acquire.
    expect(arrived).toEqual([
      { path: "/api/v3/exchangeInfo", acquiresBefore: 1 },
      { path: "/api/v3/klines?limit=100", acquiresBefore: 2 },
      { path: "/api/v3/klines?limit=50", acquiresBefore: 3 },
    ]);
    // ccxt's costs from binance's API definition: exchangeInfo weight 20 and klines weight 2, at 0.2 a weight unit.
    expect(acquired).toEqual([4, 0.4, 0.4]);
    expect(ownThrottle).toEqual([]); // ccxt's own limiter replaced, not stacked

    // A limiter that refuses: the call fails with ExchangeError (cause: the limiter's error) and nothing is sent.
    const strict = limiter({ ratePerSecond: 1, burst: 1, timeoutMs: 100 });
    await strict.acquire();
    const refusing = ccxtExchange(binance, { maxPerRequest: 100, clock: { now: () => T0 + 1_000 * MINUTE }, rateLimiter: strict });
    const before = arrived.length;
    const failed = (await refusing.getCandles("BTCUSDT", "1m", new Date(T0), 10).catch((e: unknown) => e)) as ExchangeError;
    expect(failed).toBeInstanceOf(ExchangeError);
    expect(failed.cause).toBeInstanceOf(RateLimitError);
    expect(failed.exchangeName).toBe("binance");
    expect(failed.message).toMatch(/^rxtrade: binance: the rate limiter did not admit a request \(ccxt cost 0.4\): rate limit acct\d+ \(1\/s, burst 1, .*\): a request of cost 0.4 would wait \d+ ms, more than timeoutMs \(100 ms\)/);
    expect(arrived.length).toBe(before);
    expect(() => ccxtExchange(binance, { rateLimiter: {} as never })).toThrow("rateLimiter must be an object with acquire(cost)");

    // Given an id, the instance ccxtExchange constructs goes through the limiter too.
    const costs: number[] = [];
    const byId = await ccxtExchange("binance", { rateLimiter: { acquire: async (cost) => void costs.push(cost) } }).instance();
    await byId.throttle(3);
    expect(costs).toEqual([3]);
  });
});
