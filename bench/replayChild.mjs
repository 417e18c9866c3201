// One replay benchmark in a fresh process: node bench/replayChild.mjs sync|async --json
// (bench/index.mjs runs several, since V8's tiering makes a process's speed vary from run to run).
import { loadBundledCandles } from "./loadCandles.mjs";
import { replayBench } from "./replay.mjs";

const kind = process.argv[2] === "async" ? "async" : "sync";
const summary = await replayBench(loadBundledCandles(), kind);
if (process.argv.includes("--json")) console.log(`RESULT ${JSON.stringify(summary)}`);
