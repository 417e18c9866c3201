// The order files start in: the longest first (durations.json: seconds per file, measured one
// file at a time), so that the run does not end on one slow file started late while the other
// workers idle. Each project's files stay together, the own-process ones first (as vitest's own
// order has them): a shared worker is reused only while the next file in the queue is a shared
// one. A file not in the table counts as a second. `npm run test:durations` measures the table
// anew (test/helpers/fileTiming.ts).
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

const UNKNOWN_SECONDS = 1;
const table = JSON.parse(readFileSync(new URL("./durations.json", import.meta.url), "utf8")) as Record<string, number>;

export class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const seconds = (spec: TestSpecification) => table[relative(spec.project.config.root, spec.moduleId)] ?? UNKNOWN_SECONDS;
    const isolatedFirst = (spec: TestSpecification) => (spec.project.config.isolate ? 0 : 1);
    return [...files].sort((a, b) => isolatedFirst(a) - isolatedFirst(b) || seconds(b) - seconds(a));
  }
}
