// Turns vitest's JSON report into the one closing line CI reads:
//   N passed, N failed[, N skipped]
// Usage: node scripts/test-summary.mjs <report.json> [vitest exit code]
// Exits non-zero when a test failed, a file failed to run, no test ran, or vitest itself
// exited non-zero. The report is moved to `<name>.last.json` once read, so a later run that
// dies before writing one is not summarised from stale numbers.
import { readFileSync, renameSync } from "node:fs";

const [reportPath, exitCodeArg] = process.argv.slice(2);
if (!reportPath) {
  console.error("usage: node scripts/test-summary.mjs <report.json> [vitest exit code]");
  process.exit(2);
}
const vitestExitCode = exitCodeArg === undefined ? 0 : Number(exitCodeArg);

let report;
try {
  report = JSON.parse(readFileSync(reportPath, "utf8"));
  renameSync(reportPath, reportPath.replace(/(\.json)?$/, ".last.json"));
} catch (error) {
  console.error(`test-summary: no vitest report: ${error.message}`);
  console.log("0 passed, 0 failed");
  process.exit(1);
}

const passed = report.numPassedTests ?? 0;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
// A file that failed without a failed test did not load or run (import error, hook error):
// it counts as one failure, so the line never reads "0 failed" for a broken run.
const brokenFiles = (report.testResults ?? []).filter(
  (file) =>
    file.status === "failed" &&
    !(file.assertionResults ?? []).some((test) => test.status === "failed"),
);
const failed = (report.numFailedTests ?? 0) + brokenFiles.length;

const problems = brokenFiles.map((file) => `${file.name} failed: ${file.message ?? "see above"}`);
if (report.success === false && failed === 0) problems.push("vitest reported the run as unsuccessful");
if (passed + failed === 0) problems.push("no test ran");
if (vitestExitCode !== 0) problems.push(`vitest exited with code ${vitestExitCode}`);
for (const problem of problems) console.error(`test-summary: ${problem}`);

console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 || problems.length > 0 ? 1 : 0);
