// Issue 11, the last holes of its review (items 8 and 9), on `rxtrade backtest` as a real process
// (bundled from src/cli by test/fixtures/processHarness.ts):
// - a strategy stuck in a synchronous loop (`for (;;) {}` at its 3rd call) used to hang the
//   command for good: its thread's event loop never came back, so neither --call-timeout nor
//   Ctrl-C could act. Now the run is on a worker thread that the main thread terminates when it
//   does not report within --call-timeout (the error names the strategy, the tick and the fix;
//   the partial statistics follow; exit 1), and Ctrl-C stops it within about a second (exit 130).
// - Ctrl-C during the check pass over a CSV (before the run) waited for the whole pass. Now the
//   pass stops where it is: "stopped during the check of <file> at line N", exit 130. The file is
//   modest; a preloaded module (test/fixtures/holes11-slowread.mjs) makes its reads slow, as a
//   stalled network mount would, so that the pass takes seconds.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUNDLED_BTCUSDT_1M, csvCandles } from "rxtrade/node";
import { bundle, Child, run } from "./fixtures/processHarness";

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

let cli: string[];
let cwd: string;

beforeAll(async () => {
  [cli, cwd] = await Promise.all([bundle("src/cli/index.ts"), mkdtemp(join(tmpdir(), "rxtrade-holes11-"))]);
}, 60_000);

afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
  if (cli !== undefined) await rm(dirname(cli[1] as string), { recursive: true, force: true });
});

/** Resolves with the child's exit, or with `null` once `ms` have passed (the child is then killed). */
async function exitWithin(child: Child, ms: number) {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  const exit = await Promise.race([child.exited, late]);
  clearTimeout(timer);
  if (exit === null) {
    child.kill("SIGKILL");
    await child.exited;
  }
  return exit;
}

const busy = ["backtest", "--strategy", fixture("holes11-busyloop.mjs"), "--from", "2023-03-08T12:00Z", "--to", "2023-03-09T12:00Z", "--report-dir", "reports"];

describe("rxtrade backtest: a strategy stuck in a synchronous loop", () => {
  it("is stopped after --call-timeout: the error names the strategy, the tick and the fix; the partial statistics and report follow; exit 1", async () => {
    const started = performance.now();
    const exit = await run(cli, [...busy, "--call-timeout", "1000"], { cwd, timeoutMs: 20_000 });
    const seconds = (performance.now() - started) / 1000;
    expect({ code: exit.code, signal: exit.signal }, exit.stderr).toEqual({ code: 1, signal: null });
    // The worker's start (~0.1-0.5 s), 3 ticks, then the 1 s limit (checked every 100 ms).
    expect(seconds).toBeLessThan(8);
    // Ticks 12:00 (opened), 12:01, 12:02 (closed: its 2 minutes), 12:03 (2nd call: null), 12:04 (3rd call: the loop).
    expect(exit.stderr).toContain(
      "rxtrade backtest: the strategy spinner did not return within 1 s at the tick of 2023-03-08T12:04:00.004Z (a synchronous loop in its getSignal or a callback?); " +
        "the run was stopped there. Raise --call-timeout or fix the strategy",
    );
    expect(exit.stdout).toMatch(/^2023-03-08 12:00 {2}OPENED {5}long /m);
    expect(exit.stdout).toMatch(/^2023-03-08 12:02 {2}CLOSED {5}long .* time_expired /m);
    expect(exit.stdout).toContain("Stopped (the strategy hung) at 2023-03-08 12:03, 0 % of the window to --to 2023-03-09 12:00: the statistics below are partial.");
    expect(exit.stdout).toContain("Statistics of the backtest (partial: the strategy hung, 2023-03-08 12:00 to 2023-03-08 12:03)");
    expect(exit.stdout).toMatch(/^ {2}closed signals {3}1 \(0 won, 1 lost/m);
    expect(exit.stdout).toContain("Report: reports/BTCUSDT_spinner.md (partial)");
    const report = await readFile(join(cwd, "reports", "BTCUSDT_spinner.md"), "utf8");
    expect(report).toContain("> **Partial:** the backtest was stopped: the strategy did not return within --call-timeout at 2023-03-08 12:03 UTC");
  }, 30_000);

  it("gives way to Ctrl-C within about a second (the worker is terminated): partial statistics, exit 130", async () => {
    const child = new Child(cli, busy, { cwd });
    await child.waitFor(/^2023-03-08 12:02 {2}CLOSED /m, 15_000);
    // In the loop: the strategy says so as it starts it (the default --call-timeout is 5 s: the watchdog is not what stops it).
    await child.waitFor(/^\[spinner\] looping$/m, 15_000);
    const sent = performance.now();
    child.kill("SIGINT");
    const exit = await exitWithin(child, 4_000);
    expect(exit, `${child.stdout}\n${child.stderr}`).not.toBeNull();
    expect((performance.now() - sent) / 1000).toBeLessThan(2.5);
    expect({ code: exit?.code, signal: exit?.signal }).toEqual({ code: 130, signal: null });
    expect(exit?.stdout).toContain("Interrupted (Ctrl-C) at 2023-03-08 12:03");
    expect(exit?.stdout).toContain("Statistics of the backtest (partial: interrupted, 2023-03-08 12:00 to 2023-03-08 12:03)");
  }, 30_000);
});

describe("rxtrade backtest --data <folder>: a strategy stuck in a synchronous loop on the worker threads", () => {
  it("fails each stuck file after --call-timeout (its worker terminated, the message naming the strategy and the fix), exit 1", async () => {
    const folder = join(cwd, "folder");
    await mkdir(folder);
    const candles = (await csvCandles(BUNDLED_BTCUSDT_1M)).slice(0, 600);
    const text = `timestamp,open,high,low,close,volume\n${candles.map((c) => `${c.timestamp},${c.open},${c.high},${c.low},${c.close},${c.volume}`).join("\n")}\n`;
    await writeFile(join(folder, "BTCUSDT.csv"), text);
    await writeFile(join(folder, "ETHUSDT.csv"), text);
    const started = performance.now();
    const exit = await run(cli, ["backtest", "--strategy", fixture("holes11-busyloop.mjs"), "--data", folder, "--threads", "2", "--call-timeout", "1000", "--report-dir", "reports-folder"], {
      cwd,
      timeoutMs: 20_000,
    });
    expect({ code: exit.code, signal: exit.signal }, exit.stderr).toEqual({ code: 1, signal: null });
    expect((performance.now() - started) / 1000).toBeLessThan(10);
    for (const name of ["BTCUSDT.csv", "ETHUSDT.csv"]) {
      expect(exit.stderr).toMatch(
        new RegExp(`rxtrade backtest: ${folder.replaceAll("/", "\\/")}\\/${name.replace(".", "\\.")} failed: the strategy spinner did not return within 1 s .*\\(a synchronous loop in its getSignal or a callback\\?\\); its worker was terminated\\. Raise --call-timeout or fix the strategy`),
      );
      expect(exit.stdout).toMatch(new RegExp(`FAILED +${name.replace(".", "\\.")}`));
    }
  }, 30_000);
});

describe("rxtrade backtest: Ctrl-C during the check of a CSV", () => {
  it("stops the check where it is, within about a second, naming the file and the line; exit 130", async () => {
    // 40,000 one-minute candles (~2.3 MB, ~36 reads of 64 KiB): ~3.6 s of check at 100 ms a read.
    const rows = ["timestamp,open,high,low,close,volume"];
    const start = Date.parse("2023-01-01T00:00Z");
    for (let i = 0; i < 40_000; i++) {
      const price = 20_000 + (i % 500);
      rows.push(`${start + i * 60_000},${price},${price + 5},${price - 5},${price + 1},${(i % 7) + 1}`);
    }
    const file = join(cwd, "SLOWUSDT.csv");
    await writeFile(file, `${rows.join("\n")}\n`);
    const child = new Child(cli, ["backtest", "--strategy", "momentum", "--data", file, "--report-dir", "reports-slow"], {
      cwd,
      env: { NODE_OPTIONS: `--import ${pathToFileURL(fixture("holes11-slowread.mjs")).href}` },
    });
    await child.waitFor(/^\[slowread\] reading /m, 15_000);
    await new Promise((resolve) => setTimeout(resolve, 700));
    const sent = performance.now();
    child.kill("SIGINT");
    const exit = await exitWithin(child, 6_000);
    const waited = (performance.now() - sent) / 1000;
    expect(exit, `${child.stdout}\n${child.stderr}`).not.toBeNull();
    expect({ code: exit?.code, signal: exit?.signal }).toEqual({ code: 130, signal: null });
    expect(waited).toBeLessThan(1.5);
    expect(exit?.stderr).toContain(`rxtrade backtest: Ctrl-C: stopping the check of ${file}; nothing has run (Ctrl-C again exits at once)`);
    const stopped = /rxtrade backtest: interrupted \(Ctrl-C\): stopped during the check of (.+) at line ([\d,]+); nothing ran/.exec(exit?.stderr ?? "");
    expect(stopped, exit?.stderr).not.toBeNull();
    expect(stopped?.[1]).toBe(file);
    const line = Number(stopped?.[2]?.replaceAll(",", ""));
    expect(line).toBeGreaterThan(1);
    expect(line).toBeLessThan(40_001);
    // Nothing ran: no header, no statistics.
    expect(exit?.stdout).not.toContain("rxtrade backtest ·");
  }, 30_000);
});
