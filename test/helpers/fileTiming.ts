// With RXTRADE_TEST_DURATIONS set to a file, appends one line per test file: its path and the
// seconds from its first hook to its last (its hooks included, not its import). Used by
// scripts/test-durations.mjs, which folds the lines into test/helpers/durations.json. On Linux
// each line also has the CPU seconds the file took: its worker's and its reaped child processes'
// (/proc/self/stat), what the suite's length on two cores is made of.
import { appendFileSync, readFileSync } from "node:fs";
import { relative } from "node:path";
import { afterAll, beforeAll, expect } from "vitest";

const out = process.env.RXTRADE_TEST_DURATIONS;
if (out !== undefined && out !== "") {
  let start = 0;
  let startCpu: number | undefined;
  beforeAll(() => {
    start = performance.now();
    startCpu = cpuSeconds();
  });
  afterAll(() => {
    const file = relative(process.cwd(), expect.getState().testPath ?? "");
    const cpu = cpuSeconds();
    const line = { file, seconds: (performance.now() - start) / 1000, ...(cpu !== undefined && startCpu !== undefined ? { cpu: cpu - startCpu } : {}) };
    appendFileSync(out, `${JSON.stringify(line)}\n`);
  });
}

/** This process's CPU seconds and its reaped children's (utime, stime, cutime, cstime), or undefined off Linux. */
function cpuSeconds(): number | undefined {
  try {
    const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1]?.split(" ") ?? [];
    // After "pid (comm) ", field 3 is the state; utime..cstime are fields 14–17 (indexes 11–14 here).
    return fields.slice(11, 15).reduce((sum, ticks) => sum + Number(ticks), 0) / 100;
  } catch {
    return undefined;
  }
}
