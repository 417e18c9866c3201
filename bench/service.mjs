// Benchmark 8: the CPU cost of rxtrade/service's metrics, logs and live events on 1,000 pairs,
// against the same service with none of them (`metrics: false`, `logger: false`, no HTTP). The
// full variant serves HTTP with one client of GET /api/events (Server-Sent Events, as the
// dashboard) connected through the measurement, from another process (its reading is the
// browser's work, not the service's; the service's writes to it are counted). Each pair trades: the bench
// strategy (a long every third idle minute, TP +1 % / SL -1 %, 120 min — a trade-heavy load,
// some 45 log lines per 1,000 ticks) on the `bundled` exchange (each symbol its own offset in the
// data), answering synchronously or with a Promise (as a network exchange does), memoryStore,
// default tickMs 60,001, on a VirtualClock: the figure is CPU per tick round with no timers or
// I/O waits in it, the same work in both variants — the overhead's upper bound (a real-time
// tick on a real exchange costs more, the metrics and logs the same).
// Logs go to /dev/null through a synchronous write per line, as they go to stdout. A scrape of
// /metrics (the text of every pair's series) is measured apart: it costs per scrape, not per tick.
// Each window ends with 0.15 s idle (both variants), past the event stream's flush delay, so the
// events a window made are written to the client inside it.
//
// Both variants run in one process, two services each, measured in alternating windows (see
// servicePaired): on a shared machine two runs minutes apart differ by more than what is
// measured here.
//
// Run alone: node --expose-gc bench/service.mjs [--exchange async|sync] [--compare full|metrics|logs|events] [--pairs 1000] [--json]
// (bench/index.mjs --only service runs it three times for each exchange).
import { spawn } from "node:child_process";
import { closeSync, openSync, writeSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { memoryStore } from "rxtrade";
import { bundledExchange, serviceLogger, startService } from "rxtrade/service";
import { VirtualClock } from "rxtrade/testing";
import { loadBundledCandles } from "./loadCandles.mjs";
import { benchStrategy } from "./strategy.mjs";

const TICK = 60_001;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function gc() {
  if (typeof globalThis.gc === "function") {
    globalThis.gc();
    globalThis.gc();
  }
}

/** A service of `pairs` trading pairs on its own VirtualClock, with or without metrics and logs. */
export async function benchService({ variant, exchange: answers, pairs }) {
  const candles = loadBundledCandles();
  const clock = new VirtualClock(Date.parse("2024-01-01T00:00:00Z"));
  const bundled = bundledExchange(candles, clock);
  // "async": every answer a Promise, the shape of a network exchange (ccxt) — and of its costs.
  const exchange =
    answers === "async" ? { exchangeName: "bundled", getCandles: (symbol, interval, since, limit) => Promise.resolve(bundled.getCandles(symbol, interval, since, limit)) } : bundled;
  const withMetrics = variant === "full" || variant === "metrics";
  const withLogs = variant === "full" || variant === "logs";
  const withEvents = variant === "full" || variant === "events";
  const fd = withLogs ? openSync("/dev/null", "w") : undefined;
  const counts = { logLines: 0 };
  const service = await startService({
    pairs: Array.from({ length: pairs }, (_, i) => ({ symbol: `SYM${i}USDT`, strategy: benchStrategy("sync").schema, exchange })),
    store: memoryStore(),
    scheduler: clock,
    metrics: withMetrics,
    ...(withEvents ? { http: { host: "127.0.0.1", port: 0 } } : {}),
    logger: withLogs
      ? serviceLogger({
          level: "info",
          destination: {
            write(line) {
              counts.logLines++;
              writeSync(fd, line);
            },
          },
        })
      : false,
  });
  const client = withEvents ? await eventClient(`${service.url}/api/events`) : undefined;
  const start = clock.now();
  let rounds = 0;
  return {
    service,
    counts,
    withMetrics,
    client,
    /** Runs `n` more tick rounds; resolves the CPU ms they took. */
    async run(n) {
      const until = start + (rounds + n) * TICK;
      rounds += n;
      const cpu0 = process.cpuUsage();
      if (answers === "async") await clock.flushAsync(until);
      else clock.flush(until);
      // Idle (no CPU) past the event stream's flush delay (0.1 s), in both variants: the events this
      // window made are written to the client inside it.
      await new Promise((resolve) => setTimeout(resolve, 150));
      const cpu = process.cpuUsage(cpu0);
      return (cpu.user + cpu.system) / 1000;
    },
    async end() {
      service.drainAll("bench over");
      const until = start + (rounds + 200) * TICK;
      if (answers === "async") await clock.flushAsync(until);
      else clock.flush(until);
      const end = await service.done;
      if (fd !== undefined) closeSync(fd);
      const received = await client?.stop();
      return { ok: end.code === 0, received };
    },
  };
}

/**
 * A client of GET /api/events in a child process (as a browser is another process): resolves
 * once connected; `stop()`, once the service is done, resolves the events it received.
 */
function eventClient(url) {
  const script = `
    const http = require("node:http");
    let events = 0, tail = "";
    http.get(${JSON.stringify(url)}, (response) => {
      console.log("connected " + response.statusCode);
      response.setEncoding("utf8");
      response.on("data", (text) => { const lines = (tail + text).split("\\n"); tail = lines.pop(); for (const line of lines) if (line.startsWith("data: ")) events++; });
      response.on("end", () => { console.log("events " + events); process.exit(0); });
    });
    process.on("SIGTERM", () => { console.log("events " + events); process.exit(0); });
  `;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  return new Promise((resolve, reject) => {
    child.stdout.setEncoding("utf8").on("data", (text) => {
      out += text;
      if (out.includes("connected 200")) resolve({ stop });
      else if (out.includes("connected")) reject(new Error(`bench: the events client got ${out.trim()}`));
    });
    child.once("error", reject);
    const exited = new Promise((done) => child.once("exit", done));
    // Once the service is done its stream ends and the client says how many events it read;
    // it is stopped after 5 s if not.
    async function stop() {
      const timer = setTimeout(() => child.kill("SIGTERM"), 5000);
      await exited;
      clearTimeout(timer);
      return Number(/events (\d+)/.exec(out)?.[1] ?? Number.NaN);
    }
  });
}

/**
 * Both variants in this process, two services of each, made in the order none, full, full,
 * none (the service made first runs a few % slower or faster than the next: each variant gets
 * one of each place), and measured in windows of `window` rounds, each service in turn after a
 * gc, the order reversed every other window: the services of a window see the same machine, so
 * the ratio of each window's full CPU to its none CPU is compared, not runs minutes apart on a
 * shared, noisy machine.
 */
export async function servicePaired({ exchange = "async", pairs = 1000, windows = 12, window = 5, warmup = 20, compare = "full" } = {}) {
  const none = await benchService({ variant: "none", exchange, pairs });
  const full = await benchService({ variant: compare, exchange, pairs });
  const full2 = await benchService({ variant: compare, exchange, pairs });
  const none2 = await benchService({ variant: "none", exchange, pairs });
  const services = [none, full, full2, none2];
  for (const service of services) await service.run(warmup);
  const ratios = [];
  const perRound = { none: [], full: [] };
  const linesBefore = full.counts.logLines;
  for (let i = 0; i < windows; i++) {
    const order = i % 2 === 0 ? services : [...services].reverse();
    const ms = new Map();
    for (const service of order) {
      gc();
      ms.set(service, (await service.run(window)) / window);
    }
    const noneMs = (ms.get(none) + ms.get(none2)) / 2;
    const fullMs = (ms.get(full) + ms.get(full2)) / 2;
    perRound.none.push(noneMs);
    perRound.full.push(fullMs);
    ratios.push(fullMs / noneMs);
  }
  let scrape;
  if (full.withMetrics) {
    const times = [];
    let bytes = 0;
    for (let i = 0; i < 9; i++) {
      const c0 = process.cpuUsage();
      bytes = (await full.service.metrics()).length;
      const c = process.cpuUsage(c0);
      times.push((c.user + c.system) / 1000);
    }
    scrape = { cpuMs: median(times), bytes };
  }
  const trades = full.service.list({ equity: false }).reduce((sum, pair) => sum + pair.statistics.totalClosed, 0);
  // The SSE client kept up (a client that does not is dropped, and would make the figure too kind).
  const dropped = full.withMetrics ? Number(/^rxtrade_event_clients_dropped_total (\d+)$/m.exec(await full.service.metrics())?.[1] ?? Number.NaN) : undefined;
  const ends = [];
  for (const service of services) ends.push(await service.end());
  const endFull = ends[1];
  const ended = ends.every((end) => end.ok);
  return {
    exchange,
    pairs,
    rounds: windows * window,
    none: median(perRound.none),
    full: median(perRound.full),
    overhead: median(ratios) - 1,
    trades,
    logLines: full.counts.logLines - linesBefore,
    eventsReceived: endFull.received,
    eventClientsDropped: dropped,
    scrape,
    ended,
  };
}

/**
 * Both variants in fresh processes, alternating (none, full, none, full, …), three trials each,
 * for an exchange that answers synchronously (`bundled`) and one that answers with a Promise (as
 * a network exchange does); `runChild(script, timeoutMs, args)` resolves a child's RESULT line
 * (bench/index.mjs's).
 */
export async function serviceTrials(runChild, log = console.log) {
  const script = fileURLToPath(import.meta.url);
  const summary = {};
  for (const exchange of ["async", "sync"]) {
    log(`  ${exchange === "async" ? "exchange answers with a Promise (as ccxt does)" : "exchange answers synchronously (bundled)"}:`);
    const results = [];
    for (let trial = 1; trial <= 3; trial++) {
      const result = await runChild(script, 300_000, ["--exchange", exchange]);
      if (result !== undefined) results.push(result);
    }
    if (results.length === 0) return undefined;
    summary[exchange] = {
      overhead: median(results.map((r) => r.overhead)),
      none: median(results.map((r) => r.none)),
      full: median(results.map((r) => r.full)),
      scrapeMs: median(results.map((r) => r.scrape.cpuMs)),
      scrapeBytes: results[0].scrape.bytes,
      logLines: results[0].logLines,
      eventsReceived: results[0].eventsReceived,
      eventClientsDropped: results.reduce((sum, r) => sum + (r.eventClientsDropped ?? 0), 0),
      rounds: results[0].rounds,
      ended: results.every((r) => r.ended),
    };
    const { overhead, none, full, scrapeMs, scrapeBytes, logLines, eventsReceived, eventClientsDropped, rounds } = summary[exchange];
    log(
      `    median of 3 processes: ${none.toFixed(2)} ms CPU per round of 1,000 ticks without, ${full.toFixed(2)} ms with metrics + logs + an SSE client; ` +
        `+${(overhead * 100).toFixed(1)} % (median of paired windows; processes ${results.map((r) => `+${(r.overhead * 100).toFixed(1)} %`).join(", ")})`,
    );
    log(
      `    ${logLines.toLocaleString("en-US")} log lines in ${rounds} rounds, ${eventsReceived.toLocaleString("en-US")} events received by the SSE client (the whole run's; ${eventClientsDropped} dropped); ` +
        `a /metrics scrape: ${scrapeMs.toFixed(1)} ms CPU, ${(scrapeBytes / 1024).toFixed(0)} KB`,
    );
  }
  return summary;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(`--${name}`);
    return i < 0 ? fallback : process.argv[i + 1];
  };
  const result = await servicePaired({ exchange: arg("exchange", "async"), pairs: Number(arg("pairs", 1000)), compare: arg("compare", "full") });
  if (process.argv.includes("--json")) console.log(`RESULT ${JSON.stringify(result)}`);
  else console.log(result);
  process.exit(0);
}
