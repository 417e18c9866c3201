// With RXTRADE_TEST_DURATIONS set to a file, appends one line per test file: its path and the
// seconds from its first hook to its last (its hooks included, not its import). Used by
// scripts/test-durations.mjs, which folds the lines into test/helpers/durations.json.
import { appendFileSync } from "node:fs";
import { relative } from "node:path";
import { afterAll, beforeAll, expect } from "vitest";

const out = process.env.RXTRADE_TEST_DURATIONS;
if (out !== undefined && out !== "") {
  let start = 0;
  beforeAll(() => {
    start = performance.now();
  });
  afterAll(() => {
    const file = relative(process.cwd(), expect.getState().testPath ?? "");
    appendFileSync(out, `${JSON.stringify({ file, seconds: (performance.now() - start) / 1000 })}\n`);
  });
}
