// Issue 11 review, hole 5: Ctrl-C during `rxtrade backtest` killed it without a word. Now the
// first SIGINT stops the run at its current tick: the statistics of what ran (marked partial,
// with the time reached), the report (marked partial too), exit 130. A real SIGINT to the
// command as a process (bundled from src/cli by test/fixtures/processHarness.ts), backtesting
// the bundled data at full speed from its start to its end, a tick every 6 s of virtual time (ten
// times the default: some 15 s of work, so that the signal surely comes in the middle), interrupted
// after its first closed trade. (A second Ctrl-C exiting at once is in test/backtest.review.cli.test.ts.)
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundle, Child } from "./fixtures/processHarness";

let cli: string[];
let cwd: string;

beforeAll(async () => {
  [cli, cwd] = await Promise.all([bundle("src/cli/index.ts"), mkdtemp(join(tmpdir(), "rxtrade-backtest-sigint-"))]);
}, 30_000);

afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
  if (cli !== undefined) await rm(dirname(cli[1] as string), { recursive: true, force: true });
});

describe("rxtrade backtest and Ctrl-C", () => {
  it("stops at the current tick: partial statistics with the time reached, the report written and marked partial, exit 130", async () => {
    const child = new Child(cli, ["backtest", "--strategy", "momentum", "--tick-ms", "6000", "--report-dir", "reports"], { cwd });
    await child.waitFor(/^\d{4}-\d\d-\d\d \d\d:\d\d {2}CLOSED /m, 20_000);
    child.kill("SIGINT");
    const exit = await child.exited;
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 130, signal: null });
    expect(exit.stderr).toContain("rxtrade backtest: Ctrl-C: stopping at the current tick; the statistics so far follow (Ctrl-C again exits at once)");
    // Where it stopped, and how much of the window (2023-03-01 02:00 to the data's end) that was.
    const stopped = /^Interrupted \(Ctrl-C\) at (2023-03-\d\d \d\d:\d\d), (\d+) % of the window to --to 2023-03-22 00:00: the statistics below are partial/m.exec(exit.stdout);
    expect(stopped, exit.stdout).not.toBeNull();
    expect(Number(stopped?.[2])).toBeLessThan(100);
    expect(exit.stdout).toContain(`Statistics of the backtest (partial: interrupted, 2023-03-01 02:00 to ${stopped?.[1]})`);
    expect(Number(/^ {2}closed signals {3}(\d+)/m.exec(exit.stdout)?.[1])).toBeGreaterThanOrEqual(1);
    expect(exit.stdout).toContain("Report: reports/BTCUSDT_momentum.md (partial)");
    const report = await readFile(join(cwd, "reports", "BTCUSDT_momentum.md"), "utf8");
    expect(report).toContain(`> **Partial:** the backtest was interrupted (Ctrl-C) at ${stopped?.[1]} UTC; these are the trades from 2023-03-01 02:00 UTC up to then.`);
  }, 30_000);
});
