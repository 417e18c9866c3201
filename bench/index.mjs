// rxtrade benchmarks — run with `npm run bench` (builds first, then runs the BUILT package:
// "rxtrade" and "rxtrade/testing" resolve through package.json "exports" to dist/, as users get
// it). Plain node, no tsx: tsx's keepNames transform wraps every function in __name() and
// would roughly halve the engine's speed. Reports only; always exits 0.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { loadBundledCandles } from "./loadCandles.mjs";
import { replayBench } from "./replay.mjs";

const resolved = [import.meta.resolve("rxtrade"), import.meta.resolve("rxtrade/testing")].map((u) => fileURLToPath(u));
if (!resolved.every((p) => p.includes("/dist/"))) {
  console.error(`bench: rxtrade resolves to ${resolved.join(", ")}, not dist/ — the figures would not be the built package's`);
  process.exit(0);
}
if (typeof globalThis.gc !== "function") console.warn("bench: run node with --expose-gc for steadier figures");

const began = performance.now();
console.log(`rxtrade benchmarks — node ${process.version}, built package (${resolved.map((p) => p.slice(p.indexOf("dist/"))).join(", ")})`);
const candles = loadBundledCandles();
console.log(`data: ${candles.length.toLocaleString("en-US")} one-minute BTCUSDT candles, replayed in virtual time (VirtualClock), default tickMs 60,001`);
console.log(`strategy: every 3rd idle minute a long with TP +1% / SL -1%, lifetime 120 min; memoryStore persistence\n`);

console.log("1. synchronous getSignal, VirtualClock.flush");
const sync = await replayBench(candles, "sync");
console.log("\n2. async getSignal (Promise), VirtualClock.flushAsync");
const async = await replayBench(candles, "async");

console.log("\n3. 10,000 idle streams, real asyncScheduler, tickMs 1000 (child process)");
const many = await runChild(fileURLToPath(new URL("./manyStreams.mjs", import.meta.url)));

const fmt = (x) => Math.round(x).toLocaleString("en-US");
const rows = [
  ["sync replay ticks/s (median)", sync.median, fmt(sync.median), ">= 500,000", sync.median >= 500_000],
  ["async replay ticks/s (median)", async.median, fmt(async.median), ">= 50,000", async.median >= 50_000],
];
if (many !== undefined) {
  const allTicked = many.allTicked && many.completed === many.streams && many.failed === 0 && many.errors === 0 && many.timersLeft === 0;
  rows.push(
    ["10k streams: CPU per tick round", many.cpuMsPerRound, `${many.cpuMsPerRound.toFixed(1)} ms`, "<= 50 ms", many.cpuMsPerRound <= 50],
    ["10k streams: heap per stream", many.heapPerStream, `${(many.heapPerStream / 1024).toFixed(2)} KB`, "<= 5 KB", many.heapPerStream <= 5 * 1024],
    ["10k streams: every round ticked all, all stopped", 0, allTicked ? "yes" : "NO", "yes", allTicked],
  );
} else {
  rows.push(["10k streams", 0, "did not finish", "", false]);
}
const width = [Math.max(...rows.map((r) => r[0].length)), Math.max(...rows.map((r) => r[2].length)), 10];
const line = (a, b, c, d) => `${a.padEnd(width[0])}  ${b.padStart(width[1])}  ${c.padEnd(width[2])}  ${d}`;
console.log(`\nSummary (${((performance.now() - began) / 1000).toFixed(0)} s)`);
console.log(line("figure", "value", "target", "result"));
console.log(line("-".repeat(width[0]), "-".repeat(width[1]), "-".repeat(width[2]), "------"));
for (const [name, , value, target, pass] of rows) console.log(line(name, value, target, pass ? "PASS" : "FAIL"));
process.exit(0);

/** Runs bench/manyStreams.mjs in a fresh process (clean heap), echoing its lines. */
function runChild(script) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--expose-gc", script, "--json"], { stdio: ["ignore", "pipe", "inherit"] });
    let result;
    let buffered = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk) => {
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const text = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (text.startsWith("RESULT ")) result = JSON.parse(text.slice(7));
        else console.log(text);
      }
    });
    const timer = setTimeout(() => child.kill(), 60_000);
    child.on("close", () => {
      clearTimeout(timer);
      resolve(result);
    });
  });
}
