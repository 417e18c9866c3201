// Benchmark 9: a fleet on Redis (issue 12 item 6) — 1,000 pairs on 4 worker processes
// (`rxtrade fleet worker` of the built dist/cli.js, exchange `bundled`, the bench strategy: a
// long every third idle minute, TP +1 % / SL -1 %, 120 min — trade-heavy) against a
// redis-server started here on a free loopback port (AOF on, as the README asks; skipped with a
// message when redis-server is not installed), at an accelerated clock (--speed) the machine
// keeps up with on a shared 2-core box: the ticks done are checked against the clock's pace.
//
// What it prints, and how each figure is taken:
// - Redis round trips per tick: INFO commandstats deltas over a steady window — EVALSHA/EVAL
//   calls plus plain commands (a script is one round trip; the commands run inside it are
//   counted by Redis too, so total_commands_processed is printed apart) — divided by the ticks
//   done in the window. Ticks are counted from the store: each pair's lastTickAt (its clock's
//   time, which its holder writes every round) moved by k × tickMs (60,001 ms) is k ticks. Then
//   a short SLOWLOG window (slowlog-log-slower-than 0: every command, with its client; the
//   commands run by scripts show client "?:0") splits the round trips by what they are for.
// - Store write p50/p99: client-side, as the engine waits for it (the worker's opt-in
//   histogram: RXTRADE_FLEET_TIMINGS=<file>, cumulative counts the worker writes every second;
//   two reads give the window's), and Redis-side (SLOWLOG's duration of the write script).
// - Takeover after SIGKILL: the worker holding the most pairs is killed, 5 times (a fresh
//   worker joins after each); for each of its pairs, from the kill to the first `claimed`
//   event of a new owner (the stream entry's id is Redis's clock in ms; the `resumed` of a
//   held signal is the next note of the same claim). The lease dominates: takeover = lease + x.
// - CPU per worker: /proc/<pid>/stat utime + stime over the steady window, as % of one core,
//   and per pair-tick (its pairs' ticks, by owner). Redis's own CPU likewise.
//
// Run alone: node bench/fleet.mjs [--pairs 1000] [--workers 4] [--speed 3] [--lease-ms 5000] [--window 20] [--kills 5] [--json]
// (bench/index.mjs --only fleet runs it once: it is heavy, ~1.5 minutes of wall time).
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const TICK = 60_001;
const MINUTE = 60_000;
const PREFIX = "bench:";
const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values) => (values.length === 0 ? NaN : [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]);
const quantile = (values, q) => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
};
const fmt = (x, digits = 0) => x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** The redis-server binary: REDIS_SERVER when set, else Debian's /usr/bin/redis-server or one on PATH (as the tests find it). */
function redisServerPath() {
  const given = process.env.REDIS_SERVER;
  if (given !== undefined) return existsSync(given) ? given : undefined;
  return ["/usr/bin/redis-server", ...(process.env.PATH ?? "").split(delimiter).map((dir) => join(dir, "redis-server"))].find((path) => existsSync(path));
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** utime + stime of a process, ms (from /proc/<pid>/stat; clock ticks of 10 ms). */
function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

/** A child process with the tail of its output, for when it fails. */
function start(command, args, env = {}) {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  child.output = "";
  const keep = (text) => (child.output = (child.output + text).slice(-4000));
  child.stdout.setEncoding("utf8").on("data", keep);
  child.stderr.setEncoding("utf8").on("data", keep);
  child.exited = new Promise((resolve) => child.once("close", (code, signal) => resolve({ code, signal })));
  return child;
}

async function until(what, probe, ms) {
  const deadline = performance.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(100);
  }
}

/** INFO's "name:value" lines as an object; commandstats as { cmd: calls }. */
function parseInfo(text) {
  const stats = {};
  const calls = {};
  for (const line of text.split("\r\n")) {
    const cmd = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line);
    if (cmd) calls[cmd[1]] = { calls: Number(cmd[2]), usec: Number(cmd[3]) };
    else {
      const at = line.indexOf(":");
      if (at > 0) stats[line.slice(0, at)] = line.slice(at + 1);
    }
  }
  return { stats, calls };
}

/** The histogram file a worker writes (RXTRADE_FLEET_TIMINGS), or undefined. */
function readTimings(path) {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return undefined;
  }
}

/** p50/p99 (ms, bucket upper edges) of the writes between two sets of timing files (by worker). */
function windowTimings(before, after) {
  const counts = new Map();
  let writes = 0;
  for (const [worker, end] of after) {
    const begin = before.get(worker);
    const was = new Map(begin?.buckets ?? []);
    for (const [index, count] of end.buckets) {
      const n = count - (was.get(index) ?? 0);
      if (n > 0) {
        counts.set(index, (counts.get(index) ?? 0) + n);
        writes += n;
      }
    }
  }
  const at = (q) => {
    const rank = Math.ceil(q * writes);
    let seen = 0;
    for (const index of [...counts.keys()].sort((a, b) => a - b)) {
      seen += counts.get(index);
      if (seen >= rank) return 2 ** (index / 8) / 1000;
    }
    return NaN;
  };
  return { writes, p50: at(0.5), p99: at(0.99) };
}

/** What a SLOWLOG entry's top-level command is for, from its keys. */
function kindOf(args) {
  const [name, , numkeys, ...rest] = args;
  const lower = String(name).toLowerCase();
  if (lower !== "evalsha" && lower !== "eval") return `${lower} (plain)`;
  const keys = rest.slice(0, Number(numkeys));
  const first = String(keys[0] ?? "");
  if (keys.length === 0) return "fleet snapshot (script)";
  if (first.startsWith(`${PREFIX}data:`)) return "store write (script)";
  if (first.startsWith(`${PREFIX}fence:`)) return "status/event note (script)";
  if (first.startsWith(`${PREFIX}worker:`)) return "heartbeat (script)";
  if (first.startsWith(`${PREFIX}lease:`)) return keys.length === 1 ? (rest.length - keys.length === 2 ? "lease renewal (script)" : "lease release (script)") : "lease acquire (script)";
  return "other (script)";
}

/**
 * Runs the fleet bench; resolves its figures, or `{ skipped }` when redis-server is missing.
 * @param {{ pairs?: number, workers?: number, speed?: number, leaseMs?: number, windowS?: number, kills?: number, log?: (line: string) => void }} options
 */
export async function fleetBench(options = {}) {
  const { pairs = 1000, workers: workerCount = 4, speed = 3, leaseMs = 5000, windowS = 20, kills = 5, log = console.log } = options;
  const binary = redisServerPath();
  if (binary === undefined) {
    const skipped = "redis-server is not installed (apt-get install -y redis-server, or set REDIS_SERVER to its path)";
    log(`  SKIPPED: ${skipped}`);
    return { skipped };
  }
  if (!existsSync(CLI)) {
    const skipped = `${CLI} is missing: npm run build first`;
    log(`  SKIPPED: ${skipped}`);
    return { skipped };
  }
  const { default: Redis } = await import("ioredis");
  const { fleetAdmin } = await import("rxtrade/redis");
  const began = performance.now();
  const cpus = availableParallelism();
  const load0 = loadavg().map((x) => x.toFixed(1)).join(", ");
  const dir = await mkdtemp(join(tmpdir(), "rxtrade-bench-fleet-"));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const server = start(binary, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--dir", dir]);
  const redis = new Redis(port, "127.0.0.1", { lazyConnect: true, maxRetriesPerRequest: 1, connectionName: "bench" });
  redis.on("error", () => undefined); // refused while the server starts: the PING loop below retries
  const workers = new Map(); // name -> child
  let admin;
  const cleanup = async () => {
    for (const child of workers.values()) if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    const gone = Promise.all([...workers.values()].map((child) => child.exited));
    const timer = setTimeout(() => {
      for (const child of workers.values()) child.kill("SIGKILL");
    }, 5_000);
    await gone;
    clearTimeout(timer);
    await admin?.close().catch(() => undefined);
    redis.disconnect();
    server.kill("SIGTERM");
    await server.exited;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await until("redis-server answers PING", async () => {
      try {
        if (redis.status !== "ready") await redis.connect();
        return (await redis.ping()) === "PONG" ? true : undefined;
      } catch {
        return undefined;
      }
    }, 10_000);
    admin = fleetAdmin({ url }, { prefix: PREFIX });
    const strategyFile = join(dir, "benchStrategy.mjs");
    // A factory: each pair its own strategy object (the bench strategy counts its calls).
    await writeFile(strategyFile, `import { benchStrategy } from ${JSON.stringify(pathToFileURL(fileURLToPath(new URL("./strategy.mjs", import.meta.url))).href)};\nexport const strategy = () => benchStrategy("sync").schema;\n`);

    let serial = 0;
    const startWorker = () => {
      const name = `w${++serial}`;
      const child = start(
        process.execPath,
        [CLI, "fleet", "worker", "--name", name, "--speed", String(speed), "--lease-ms", String(leaseMs), "--log-level", "warn", "--redis", url, "--prefix", PREFIX],
        { RXTRADE_FLEET_TIMINGS: join(dir, `${name}.json`) },
      );
      child.name = name;
      workers.set(name, child);
      return child;
    };
    const live = async () => (await redis.smembers(`${PREFIX}workers`)).sort();
    for (let i = 0; i < workerCount; i++) startWorker();
    // All in the fleet before the pairs come: each takes its share at once (no rebalancing).
    await until(`${workerCount} workers in the fleet`, async () => ((await live()).length >= workerCount ? true : undefined), 30_000);
    for (let i = 0; i < pairs; i++) await admin.add({ symbol: `SYM${i}USDT`, strategy: strategyFile, exchange: "bundled" }, "bench-sync");
    const clock = JSON.parse(await redis.get(`${PREFIX}clock`));
    const fleetNow = () => clock.origin + (Date.now() - clock.wall) * clock.speed * (MINUTE / 1000);

    /** Every pair's owner and last tick (HMGET status, pipelined). */
    const statuses = async () => {
      const ids = Array.from({ length: pairs }, (_, i) => `SYM${i}USDT:bench-sync`);
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hmget(`${PREFIX}status:${id}`, "owner", "lastTickAt", "status", "token");
      const answers = await pipeline.exec();
      return new Map(ids.map((id, i) => [id, { owner: answers[i][1][0], lastTickAt: answers[i][1][1] ? Date.parse(answers[i][1][1]) : NaN, status: answers[i][1][2], token: answers[i][1][3] }]));
    };
    const held = async () => {
      const leased = await redis.pipeline(Array.from({ length: pairs }, (_, i) => ["exists", `${PREFIX}lease:SYM${i}USDT:bench-sync`])).exec();
      return leased.filter(([, value]) => value === 1).length;
    };
    const rampStart = performance.now();
    await until(`all ${pairs} pairs claimed and ticking`, async () => {
      if ((await held()) < pairs) return undefined;
      const now = await statuses();
      return [...now.values()].every((s) => Number.isFinite(s.lastTickAt)) ? true : undefined;
    }, 60_000);
    const ramp = (performance.now() - rampStart) / 1000;
    const expectedTickRate = (pairs * speed * MINUTE) / TICK; // ticks per wall second at the clock's pace
    log(
      `  ${pairs} pairs on ${workerCount} workers (rxtrade fleet worker, dist/cli.js), --speed ${speed} (${speed} simulated minutes a second: ${fmt(expectedTickRate)} ticks/s in all at that pace), ` +
        `--lease-ms ${leaseMs} (poll ${Math.max(20, Math.floor(leaseMs / 5))} ms; renewed every ${Math.round(leaseMs / 3)} ms), redis-server ${parseInfo(await redis.info("server")).stats.redis_version} AOF on; all claimed and ticking ${ramp.toFixed(1)} s after the adds`,
    );
    await sleep(3_000); // past the claims' burst

    // The steady window.
    const pids = () => new Map([...workers.entries()].filter(([, child]) => child.exitCode === null).map(([name, child]) => [name, child.pid]));
    const timingFiles = () => new Map([...workers.keys()].map((name) => [name, readTimings(join(dir, `${name}.json`))]).filter(([, file]) => file !== undefined));
    const tS0 = performance.now();
    const s0 = await statuses();
    const startNow = fleetNow();
    const timing0 = timingFiles();
    const info0 = parseInfo(await redis.info("all"));
    const t0 = performance.now();
    const cpu0 = new Map([...pids()].map(([name, pid]) => [name, cpuMs(pid)]));
    const redisCpu0 = cpuMs(server.pid);
    await sleep(windowS * 1000);
    const cpu1 = new Map([...pids()].map(([name, pid]) => [name, cpuMs(pid)]));
    const redisCpu1 = cpuMs(server.pid);
    const t1 = performance.now();
    const info1 = parseInfo(await redis.info("all"));
    const tS1 = performance.now();
    const s1 = await statuses();
    await sleep(1_100); // the timing files' next write covers the window's end
    const timing1 = timingFiles();
    const wall = (t1 - t0) / 1000;

    const ticksBy = new Map();
    let ticks = 0;
    const lags = [];
    const lags0 = [...s0.values()].map((s) => (startNow - s.lastTickAt) / MINUTE);
    const endNow = fleetNow();
    for (const [id, end] of s1) {
      const begin = s0.get(id);
      // Claimed again meanwhile (a lease lost under load, a hand-over): its clock started over, not counted.
      if (begin === undefined || begin.owner !== end.owner || begin.token !== end.token) continue;
      const k = Math.round((end.lastTickAt - begin.lastTickAt) / TICK);
      if (!(k >= 0)) continue;
      ticks += k;
      ticksBy.set(end.owner, (ticksBy.get(end.owner) ?? 0) + k);
      lags.push((endNow - end.lastTickAt) / MINUTE);
    }
    // The ticks between the two reads of the statuses, as a rate; the window's ticks at that rate
    // (the INFO and /proc reads sit just inside the two status reads).
    const tickRate = ticks / ((tS1 - tS0) / 1000);
    const counted = ticks;
    ticks = tickRate * wall;
    const delta = (name) => (info1.calls[name]?.calls ?? 0) - (info0.calls[name]?.calls ?? 0);
    const scripts = delta("evalsha") + delta("eval");
    // Plain commands the workers send that no script runs (commandstats counts a script's own
    // commands too: GET, SET, HSET… are left out; in a steady fleet the workers send them only
    // when they claim a pair — the SLOWLOG split below shows none).
    const plain = ["hget", "xrange", "xrevrange", "xread", "multi", "exec", "ping"].reduce((sum, name) => sum + delta(name), 0);
    const roundTrips = (scripts + plain) / ticks;
    const executed = (Number(info1.stats.total_commands_processed) - Number(info0.stats.total_commands_processed) - 1) / ticks;
    const keepUp = tickRate / ((lags.length * speed * MINUTE) / TICK);
    log(
      `  steady window ${wall.toFixed(1)} s: ${fmt(counted)} ticks in ${((tS1 - tS0) / 1000).toFixed(1)} s between two reads of every pair's lastTickAt (moved by k × 60,001 ms: k ticks; ${fmt(s1.size - [...s1.keys()].filter((id) => s0.get(id)?.token === s1.get(id).token && s0.get(id)?.owner === s1.get(id).owner).length)} pairs claimed again meanwhile left out), ${fmt(tickRate)} ticks/s = ${(keepUp * 100).toFixed(1)} % of the clock's pace; ` +
        `the median pair's last tick ${median(lags0).toFixed(1)} then ${median(lags).toFixed(1)} simulated min behind the fleet's clock at the window's start and end ` +
        `(lastTickAt is written once a round, ${((Math.floor(leaseMs / 5) / 1000) * speed).toFixed(1)} min at this speed; a pair's paced clock held up resumes its pace from where it is, it does not catch up: ` +
        `a lag that grows by more than that is a machine that did not keep up)`,
    );
    log(
      `  Redis round trips per tick: ${roundTrips.toFixed(3)} (INFO commandstats: ${fmt(scripts)} EVALSHA/EVAL + ${fmt(plain)} plain commands in the window, / ${fmt(ticks)} ticks); ` +
        `${executed.toFixed(2)} commands executed per tick counting those the scripts run (total_commands_processed)`,
    );

    const perWorker = [];
    for (const [name, before] of cpu0) {
      const after = cpu1.get(name);
      if (after === undefined || !Number.isFinite(before) || !Number.isFinite(after)) continue;
      const used = after - before;
      const workerTicks = ((ticksBy.get(name) ?? 0) * wall) / ((tS1 - tS0) / 1000);
      perWorker.push({ name, pct: (used / (wall * 1000)) * 100, msPerTick: workerTicks > 0 ? used / workerTicks : NaN, ticks: workerTicks });
    }
    const redisPct = ((redisCpu1 - redisCpu0) / (wall * 1000)) * 100;
    log(
      `  CPU per worker (/proc/<pid>/stat utime+stime over the window): ${perWorker.map((w) => `${w.name} ${w.pct.toFixed(1)} % (${(w.msPerTick * 1000).toFixed(1)} µs/pair-tick, ${fmt(w.ticks)} ticks)`).join(", ")}; ` +
        `redis-server ${redisPct.toFixed(1)} % (${(((redisCpu1 - redisCpu0) / ticks) * 1000).toFixed(1)} µs/tick)`,
    );
    const client = windowTimings(timing0, timing1);
    log(
      `  store write, client-side (the workers' RXTRADE_FLEET_TIMINGS histograms, ±9 % buckets, over the window): p50 ${client.p50.toFixed(2)} ms, p99 ${client.p99.toFixed(2)} ms of ${fmt(client.writes)} writes`,
    );

    // SLOWLOG: every command for a few seconds, with its client ("?:0": run by a script).
    const slowS = 4;
    await redis.config("SET", "slowlog-max-len", "1000000");
    await redis.config("SET", "slowlog-log-slower-than", "0");
    await redis.slowlog("RESET");
    const sl0 = performance.now();
    await sleep(slowS * 1000);
    await redis.config("SET", "slowlog-log-slower-than", "-1");
    const slWall = (performance.now() - sl0) / 1000;
    const entries = await redis.slowlog("GET", "-1");
    await redis.slowlog("RESET");
    const top = entries.filter((entry) => entry[4] !== "?:0" && entry[5] !== "bench");
    const kinds = new Map();
    const writeMicros = [];
    for (const entry of top) {
      const kind = kindOf(entry[3]);
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      if (kind === "store write (script)") writeMicros.push(entry[2]);
    }
    const slTicks = tickRate * slWall;
    const breakdown = [...kinds.entries()].sort((a, b) => b[1] - a[1]);
    log(
      `  SLOWLOG ${slWall.toFixed(1)} s (every command; at the window's ${fmt(tickRate)} ticks/s): ${(top.length / slTicks).toFixed(3)} round trips per tick, ${fmt(top.length / slWall)}/s — ` +
        breakdown.map(([kind, n]) => `${kind} ${(n / slTicks).toFixed(3)} (${fmt(n / slWall)}/s)`).join(", "),
    );
    const redisWrite = { p50: quantile(writeMicros, 0.5), p99: quantile(writeMicros, 0.99), writes: writeMicros.length };
    log(`  store write, Redis-side (SLOWLOG duration of the write script): p50 ${redisWrite.p50} µs, p99 ${redisWrite.p99} µs of ${redisWrite.writes} writes`);

    // Takeover after SIGKILL.
    const takeovers = [];
    const perKill = [];
    for (let kill = 1; kill <= kills; kill++) {
      // Who holds what: the lease's owner (its process), not the status (a pair just handed over still names its last owner there).
      const ids = Array.from({ length: pairs }, (_, i) => `SYM${i}USDT:bench-sync`);
      const leases = await redis.pipeline(ids.map((id) => ["get", `${PREFIX}lease:${id}`])).exec();
      const byPid = new Map();
      ids.forEach((id, i) => {
        const pid = leases[i][1] === null ? undefined : JSON.parse(leases[i][1]).owner?.pid;
        if (pid !== undefined) byPid.set(pid, [...(byPid.get(pid) ?? []), id]);
      });
      const candidates = [...workers.values()].filter((child) => child.exitCode === null && child.signalCode === null && byPid.has(child.pid));
      const chosen = candidates.sort((a, b) => byPid.get(b.pid).length - byPid.get(a.pid).length)[0];
      if (chosen === undefined) break;
      const victim = chosen.name;
      const victimPairs = byPid.get(chosen.pid);
      const [[lastId] = ["0-0"]] = await redis.xrevrange(`${PREFIX}events`, "+", "-", "COUNT", 1);
      const killedAt = Date.now();
      workers.get(victim).kill("SIGKILL");
      const waiting = new Set(victimPairs);
      const times = [];
      let after = lastId;
      const deadline = leaseMs + 20_000;
      await until(`${victim}'s ${victimPairs.length} pairs claimed by others`, async () => {
        const entries = await redis.xrange(`${PREFIX}events`, `(${after}`, "+", "COUNT", 10_000);
        for (const [entryId, fields] of entries) {
          after = entryId;
          const event = {};
          for (let i = 0; i + 1 < fields.length; i += 2) event[fields[i]] = fields[i + 1];
          if (event.action === "claimed" && event.worker !== victim && waiting.delete(event.pair)) times.push(Number(entryId.split("-")[0]) - killedAt);
        }
        return waiting.size === 0 || Date.now() - killedAt > deadline ? true : undefined;
      }, deadline + 5_000);
      takeovers.push(...times);
      perKill.push({ victim, pairs: victimPairs.length, missing: waiting.size, p50: median(times), max: Math.max(...times) });
      log(
        `  kill ${kill}/${kills}: SIGKILL ${victim} (${victimPairs.length} pairs): ${waiting.size === 0 ? "all" : `${victimPairs.length - waiting.size}`} taken over, ` +
          `${fmt(median(times))} ms median, ${fmt(Math.max(...times))} ms the last${waiting.size === 0 ? "" : `; ${waiting.size} NOT within ${fmt(deadline)} ms`}`,
      );
      startWorker(); // back to the fleet's size; the next victim is whoever holds the most
      await until("the new worker in the fleet", async () => ((await live()).length >= workerCount ? true : undefined), 30_000);
    }
    const missing = perKill.reduce((sum, k) => sum + k.missing, 0);
    const takeover = { p50: quantile(takeovers, 0.5), p99: quantile(takeovers, 0.99), n: takeovers.length, missing, leaseMs };
    log(
      `  takeover after SIGKILL (kill -> first claimed event of a new owner, ${takeovers.length} pairs over ${perKill.length} kills${missing > 0 ? `, ${missing} not taken over in time` : ""}): p50 ${fmt(takeover.p50)} ms, p99 ${fmt(takeover.p99)} ms ` +
        `= lease ${leaseMs} ms + ${fmt(takeover.p50 - leaseMs)} / ${fmt(takeover.p99 - leaseMs)} ms`,
    );
    const final = await statuses();
    const running = [...final.values()].filter((s) => s.status === "running").length;
    log(`  at the end ${running} of ${pairs} pairs running; load average ${loadavg().map((x) => x.toFixed(1)).join(", ")} (${cpus} cores) at the end, ${load0} at the start; the whole part: ${((performance.now() - began) / 1000).toFixed(0)} s of wall time`);
    return {
      pairs,
      workers: workerCount,
      speed,
      leaseMs,
      ramp,
      window: { seconds: wall, ticks, tickRate, keepUp, lagMinutes: [median(lags0), median(lags)] },
      roundTrips,
      executedPerTick: executed,
      slowlog: { seconds: slWall, perTick: top.length / slTicks, breakdown: Object.fromEntries(breakdown.map(([kind, n]) => [kind, n / slTicks])) },
      cpu: perWorker,
      cpuMedianPct: median(perWorker.map((w) => w.pct)),
      cpuMedianUsPerTick: median(perWorker.map((w) => w.msPerTick * 1000)),
      redisCpuPct: redisPct,
      storeWrite: { client, redis: redisWrite },
      takeover,
      perKill,
      running,
      load: [load0, loadavg().map((x) => x.toFixed(1)).join(", ")],
    };
  } catch (error) {
    log(`  FAILED: ${error instanceof Error ? error.message : String(error)}`);
    for (const child of workers.values()) if (child.output) log(`  ${child.name}: ${child.output.trim().split("\n").slice(-3).join(" | ")}`);
    return undefined;
  } finally {
    await cleanup();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(`--${name}`);
    return i < 0 ? fallback : Number(process.argv[i + 1]);
  };
  const result = await fleetBench({ pairs: arg("pairs", 1000), workers: arg("workers", 4), speed: arg("speed", 3), leaseMs: arg("lease-ms", 5000), windowS: arg("window", 20), kills: arg("kills", 5) });
  if (process.argv.includes("--json")) console.log(`RESULT ${JSON.stringify(result)}`);
  process.exit(0);
}
