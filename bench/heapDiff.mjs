// Where the heap of an idle liveTrade$ stream goes: two fresh processes run 1 and 1 + N idle
// streams (tickMs 1000, real time, a shared replayExchange and memoryStore, as
// bench/manyStreams.mjs), each writes a V8 heap snapshot after three rounds, and the difference
// is shown per stream, grouped by what V8 calls each object: a class's instances by its name; a
// closure by its function's name and place (file:line, of the built chunk for rxtrade's own); a
// closure's Context by the closures that share it, or by who holds it (an outer scope kept as
// `previous`); an array's backing store, and a plain object, by who holds it
// (`OperatorSubscriber._finalizers[]`: rxjs's finalizer list).
//
//   npm run build && node bench/heapDiff.mjs [--batched] [--streams 2000] [--top 40]
//
// A diagnostic, not a benchmark: the snapshot's sizes are V8's shallow sizes, close to (not
// the same as) manyStreams' heapUsed per stream. Not run by bench/index.mjs.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";

const MINUTE = 60_000;
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? fallback : process.argv[i + 1];
};

async function child(streams, batched, file) {
  const { Subject } = await import("rxjs");
  const { batchedScheduler, liveTrade$, memoryStore, replayExchange } = await import("rxtrade");
  const { loadBundledCandles } = await import("./loadCandles.mjs");
  const { idleStrategy } = await import("./strategy.mjs");
  const candles = loadBundledCandles();
  const shift = Math.floor(Date.now() / MINUTE) * MINUTE + 10 * MINUTE - candles[candles.length - 1].timestamp;
  const exchange = replayExchange(candles.map((c) => ({ ...c, timestamp: c.timestamp + shift })));
  const store = memoryStore();
  const stop$ = new Subject();
  const scheduler = batched ? batchedScheduler() : undefined;
  for (let i = 0; i < streams; i++) {
    liveTrade$(`SYM${i}USDT`, idleStrategy, { exchange, store, stop$, tickMs: 1000, ...(scheduler ? { scheduler } : {}) }).subscribe({});
  }
  await new Promise((resolve) => setTimeout(resolve, 3500));
  globalThis.gc();
  globalThis.gc();
  v8.writeHeapSnapshot(file);
  process.exit(0);
}

/** Count and shallow size per group of one snapshot file. */
function groups(file) {
  const snap = JSON.parse(readFileSync(file, "utf8"));
  const { node_fields: nf, edge_fields: ef, node_types: nt, edge_types: et } = snap.snapshot.meta;
  const nodeTypes = nt[0];
  const edgeTypes = et[0];
  const { nodes, edges, strings } = snap;
  const NF = nf.length;
  const EF = ef.length;
  const TYPE = nf.indexOf("type");
  const NAME = nf.indexOf("name");
  const SIZE = nf.indexOf("self_size");
  const EDGES = nf.indexOf("edge_count");
  const E_TYPE = ef.indexOf("type");
  const E_NAME = ef.indexOf("name_or_index");
  const E_TO = ef.indexOf("to_node");
  const count = nodes.length / NF;
  const retainer = new Int32Array(count).fill(-1);
  const retainerEdge = new Array(count);
  const contextOf = new Map(); // Context node -> the closures that share it
  // A closure's place in the source: its script (through its SharedFunctionInfo) and line.
  const line = new Map();
  const LF = snap.snapshot.meta.location_fields;
  for (let i = 0; i < snap.locations.length; i += LF.length) line.set(snap.locations[i] / NF, snap.locations[i + 2] + 1);
  const scriptOf = new Map(); // SharedFunctionInfo node -> script name
  for (let n = 0, e = 0; n < count; n++) {
    const edgeCount = nodes[n * NF + EDGES];
    const type = nodeTypes[nodes[n * NF + TYPE]];
    for (let k = 0; k < edgeCount; k++, e += EF) {
      const edgeType = edgeTypes[edges[e + E_TYPE]];
      if (edgeType === "weak") continue;
      const to = edges[e + E_TO] / NF;
      const name = edgeType === "element" || edgeType === "hidden" ? `[${edges[e + E_NAME]}]` : strings[edges[e + E_NAME]];
      if (retainer[to] === -1) {
        retainer[to] = n;
        retainerEdge[to] = name;
      }
      if (type === "closure" && name === "context") {
        const closures = contextOf.get(to) ?? [];
        closures.push(n);
        contextOf.set(to, closures);
      }
      if (name === "script_or_debug_info" || name === "script") {
        const script = strings[nodes[to * NF + NAME]];
        scriptOf.set(n, script.slice(script.lastIndexOf("/") + 1));
      }
    }
  }
  // `shared` edges, looked up per closure (a second pass: the script edges are known now).
  const sharedOf = new Map();
  for (let n = 0, e = 0; n < count; n++) {
    const edgeCount = nodes[n * NF + EDGES];
    const isClosure = nodeTypes[nodes[n * NF + TYPE]] === "closure";
    for (let k = 0; k < edgeCount; k++, e += EF) {
      if (isClosure && strings[edges[e + E_NAME]] === "shared" && edgeTypes[edges[e + E_TYPE]] === "internal") sharedOf.set(n, edges[e + E_TO] / NF);
    }
  }
  const closureName = (n) => `${strings[nodes[n * NF + NAME]] || "(anonymous)"} @${scriptOf.get(sharedOf.get(n)) ?? "?"}:${line.get(n) ?? "?"}`;
  const nameOf = (n) => strings[nodes[n * NF + NAME]];
  // Who holds a node: `Holder.edge`, looking through a JS array to whoever holds the array.
  const holderOf = (n) => {
    const r = retainer[n];
    if (r < 0) return "?";
    if (nodeTypes[nodes[r * NF + TYPE]] === "object" && nameOf(r) === "Array" && retainer[r] >= 0) return `${nameOf(retainer[r])}.${retainerEdge[r]}[]`;
    const holder =
      nodeTypes[nodes[r * NF + TYPE]] === "closure"
        ? closureName(r)
        : nameOf(r) === "system / Context"
          ? `(context of ${[...new Set((contextOf.get(r) ?? []).map(closureName))].sort().join(", ") || "?"})`
          : nameOf(r);
    return `${holder}.${retainerEdge[n]}`;
  };
  const out = new Map();
  for (let n = 0; n < count; n++) {
    const type = nodeTypes[nodes[n * NF + TYPE]];
    const name = nameOf(n);
    let key;
    if (type === "object" && name === "system / Context") {
      const closures = [...new Set((contextOf.get(n) ?? []).map(closureName))].sort().join(", ");
      key = closures === "" ? `context held by ${holderOf(n)}` : `context of ${closures}`;
    } else if (type === "closure") key = `closure ${closureName(n)}`;
    else if (type === "object" && (name === "Object" || name === "Array")) key = `object ${name} held by ${holderOf(n)}`;
    else if (type === "object") key = `object ${name || "(anonymous)"}`;
    else if (type === "array") key = `array ${name} of ${holderOf(n)}`;
    else if (type === "number" || type === "code") key = `${type} ${name.slice(0, 40)} held by ${holderOf(n)}`;
    else key = type;
    const row = out.get(key) ?? [0, 0];
    row[0]++;
    row[1] += nodes[n * NF + SIZE];
    out.set(key, row);
  }
  return out;
}

if (process.argv.includes("--child")) {
  await child(Number(arg("--child")), process.argv.includes("--batched"), arg("--file"));
} else {
  const streams = Number(arg("--streams", "2000"));
  const top = Number(arg("--top", "40"));
  const batched = process.argv.includes("--batched");
  const dir = mkdtempSync(join(tmpdir(), "rxtrade-heap-"));
  const self = fileURLToPath(import.meta.url);
  const snapshot = (n) => {
    const file = join(dir, `${n}.heapsnapshot`);
    execFileSync(process.execPath, ["--expose-gc", self, "--child", String(n), "--file", file, ...(batched ? ["--batched"] : [])], { stdio: "inherit" });
    const result = groups(file);
    rmSync(file);
    return result;
  };
  const one = snapshot(1);
  const many = snapshot(1 + streams);
  rmSync(dir, { recursive: true, force: true });
  const rows = [];
  for (const key of new Set([...one.keys(), ...many.keys()])) {
    const [c1, s1] = one.get(key) ?? [0, 0];
    const [c2, s2] = many.get(key) ?? [0, 0];
    rows.push({ key, count: (c2 - c1) / streams, bytes: (s2 - s1) / streams });
  }
  rows.sort((a, b) => b.bytes - a.bytes);
  const total = rows.reduce((sum, r) => sum + r.bytes, 0);
  console.log(`heap per idle stream (${batched ? "batchedScheduler" : "asyncScheduler"}, ${streams} streams): ${(total / 1024).toFixed(2)} KB (snapshot shallow sizes)`);
  console.log("   bytes  count  what");
  for (const r of rows.slice(0, top)) {
    if (Math.abs(r.bytes) < 1) continue;
    console.log(`${r.bytes.toFixed(0).padStart(8)} ${r.count.toFixed(2).padStart(6)}  ${r.key}`);
  }
}
