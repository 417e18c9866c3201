// Measures how long each test file takes, one file at a time, and writes the table the test
// run's order comes from (test/helpers/durations.json, read by test/helpers/longestFirst.ts).
// Usage: npm run test:durations               (every file, about 4 minutes; on a quiet machine)
//        npm run test:durations -- <files...>  (those files; the others keep their times)
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const lines = join(tmpdir(), `rxtrade-durations-${process.pid}.jsonl`);
const files = process.argv.slice(2);
const vitest = spawnSync("npx", ["vitest", "run", "--reporter=dot", ...files], {
  stdio: "inherit",
  env: { ...process.env, RXTRADE_TEST_WORKERS: "1", RXTRADE_TEST_DURATIONS: lines },
});
let measured;
try {
  measured = readFileSync(lines, "utf8").trim().split("\n").map((line) => JSON.parse(line));
} catch (error) {
  console.error(`test-durations: no timings were written (${error.message})`);
  process.exit(1);
}
rmSync(lines, { force: true });
if (vitest.status !== 0) console.error("test-durations: some tests failed; their files' times are kept all the same");
const path = new URL("../test/helpers/durations.json", import.meta.url);
const kept = files.length > 0 && existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : {};
for (const { file, seconds } of measured) kept[file] = Math.round(seconds * 10) / 10;
const table = Object.fromEntries(Object.entries(kept).sort((a, b) => b[1] - a[1]));
writeFileSync(path, `${JSON.stringify(table, null, 1)}\n`);
const byCpu = measured.filter((one) => one.cpu !== undefined).sort((a, b) => b.cpu - a.cpu);
if (byCpu.length > 0) {
  console.log(`CPU seconds (the worker's and its reaped child processes'), the 15 highest of ${byCpu.reduce((sum, { cpu }) => sum + cpu, 0).toFixed(1)} s in all:`);
  for (const { file, cpu, seconds } of byCpu.slice(0, 15)) console.log(`  ${cpu.toFixed(1).padStart(5)} s CPU  ${seconds.toFixed(1).padStart(5)} s  ${file}`);
}
console.log(`test-durations: ${measured.length} files, ${measured.reduce((sum, { seconds }) => sum + seconds, 0).toFixed(1)} s in all, written to test/helpers/durations.json`);
