// Benchmark 8: the CPU cost of rxtrade/service's metrics and logs on 1,000 pairs, against the
// same service with neither (`metrics: false`, `logger: false`). Each pair trades: the bench
// strategy (a long every third idle minute, TP +1 % / SL -1 %, 120 min — a trade-heavy load,
// some 45 log lines per 1,000 ticks) on the `bundled` exchange (each symbol its own offset in the
// data), answering synchronously or with a Promise (as a network exchange does), memoryStore,
// default tickMs 60,001, on a VirtualClock: the figure is CPU per tick round with no timers or
// I/O waits in it, the same work in both variants — the overhead's upper bound (a real-time
// tick on a real exchange costs more, the metrics and logs the same).
// Logs go to /dev/null through a synchronous write per line, as they go to stdout. A scrape of
// /metrics (the text of every pair's series) is measured apart: it costs per scrape, not per tick.
//
// Both services run in one process, measured in alternating windows (see servicePaired): on a
// shared machine two runs minutes apart differ by more than what is measured here.
//
// Run alone: node --expose-gc bench/service.mjs [--exchange async|sync] [--compare full|metrics|logs] [--pairs 1000] [--json]
// (bench/index.mjs --only service runs it three times for each exchange).
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
async function benchService({ variant, exchange: answers, pairs }) {
  const candles = loadBundledCandles();
  const clock = new VirtualClock(Date.parse("2024-01-01T00:00:00Z"));
  const bundled = bundledExchange(candles, clock);
  // "async": every answer a Promise, the shape of a network exchange (ccxt) — and of its costs.
  const exchange =
    answers === "async" ? { exchangeName: "bundled", getCandles: (symbol, interval, since, limit) => Promise.resolve(bundled.getCandles(symbol, interval, since, limit)) } : bundled;
  const withMetrics = variant === "full" || variant === "metrics";
  const withLogs = variant === "full" || variant === "logs";
  const fd = withLogs ? openSync("/dev/null", "w") : undefined;
  const counts = { logLines: 0 };
  const service = await startService({
    pairs: Array.from({ length: pairs }, (_, i) => ({ symbol: `SYM${i}USDT`, strategy: benchStrategy("sync").schema, exchange })),
    store: memoryStore(),
    scheduler: clock,
    metrics: withMetrics,
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
  const start = clock.now();
  let rounds = 0;
  return {
    service,
    counts,
    withMetrics,
    /** Runs `n` more tick rounds; resolves the CPU ms they took. */
    async run(n) {
      const until = start + (rounds + n) * TICK;
      rounds += n;
      const cpu0 = process.cpuUsage();
      if (answers === "async") await clock.flushAsync(until);
      else clock.flush(until);
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
      return end.code === 0;
    },
  };
}

/**
 * Both variants in this process, measured in alternating windows of `window` rounds (none, full,
 * none, full, …, each after a gc): adjacent windows see the same machine, so the ratio of each
 * pair of windows is compared, not two runs minutes apart on a shared, noisy machine.
 */
export async function servicePaired({ exchange = "async", pairs = 1000, windows = 12, window = 10, warmup = 20, compare = "full" } = {}) {
  const none = await benchService({ variant: "none", exchange, pairs });
  const full = await benchService({ variant: compare, exchange, pairs });
  await none.run(warmup);
  await full.run(warmup);
  const ratios = [];
  const perRound = { none: [], full: [] };
  const linesBefore = full.counts.logLines;
  for (let i = 0; i < windows; i++) {
    // Alternate which goes first, so neither always follows the other's garbage.
    const order = i % 2 === 0 ? [none, full] : [full, none];
    const ms = new Map();
    for (const service of order) {
      gc();
      ms.set(service, (await service.run(window)) / window);
    }
    perRound.none.push(ms.get(none));
    perRound.full.push(ms.get(full));
    ratios.push(ms.get(full) / ms.get(none));
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
  const trades = full.service.list().reduce((sum, pair) => sum + pair.statistics.totalClosed, 0);
  const ended = (await none.end()) && (await full.end());
  return {
    exchange,
    pairs,
    rounds: windows * window,
    none: median(perRound.none),
    full: median(perRound.full),
    overhead: median(ratios) - 1,
    trades,
    logLines: full.counts.logLines - linesBefore,
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
      rounds: results[0].rounds,
      ended: results.every((r) => r.ended),
    };
    const { overhead, none, full, scrapeMs, scrapeBytes, logLines, rounds } = summary[exchange];
    log(
      `    median of 3 processes: ${none.toFixed(2)} ms CPU per round of 1,000 ticks without, ${full.toFixed(2)} ms with metrics + logs; ` +
        `+${(overhead * 100).toFixed(1)} % (median of paired windows; processes ${results.map((r) => `+${(r.overhead * 100).toFixed(1)} %`).join(", ")})`,
    );
    log(`    ${logLines.toLocaleString("en-US")} log lines in ${rounds} rounds; a /metrics scrape: ${scrapeMs.toFixed(1)} ms CPU, ${(scrapeBytes / 1024).toFixed(0)} KB`);
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
