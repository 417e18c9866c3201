// Issue 11, re-review 11c of `rxtrade backtest` as a real process (bundled from src/cli by
// test/fixtures/processHarness.ts): what held the command or stopped it wrongly.
// - --threads 1 on a folder ran in the command's own thread: a strategy stuck in a synchronous
//   loop hung it for good (Ctrl-C, twice, did nothing). Now one worker thread, watched.
// - Ctrl-C on a folder whose strategy is stuck: "FAILED … (a synchronous loop?)", exit 1. Now
//   INTERRUPTED, exit 130.
// - A strategy module looping at import was loaded on the main thread first: the command hung
//   silently. Now it is loaded on a throwaway worker first, under --module-timeout: exit 2.
// - The heartbeat was stamped once a tick: 600 ms in getSignal and 600 ms in onTick (each under
//   --call-timeout 1000) was taken for a synchronous loop. Now each call's start and end stamp it.
// Each test failed on db28dfb (the first three: the command hung, killed by the test).
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUNDLED_BTCUSDT_1M, csvCandles } from "rxtrade/node";
import { bundle, Child, run } from "./fixtures/processHarness";

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

let cli: string[];
let cwd: string;
let folder: string;

beforeAll(async () => {
  [cli, cwd] = await Promise.all([bundle("src/cli/index.ts"), mkdtemp(join(tmpdir(), "rxtrade-holes11b-"))]);
  folder = join(cwd, "folder");
  await mkdir(folder);
  const candles = (await csvCandles(BUNDLED_BTCUSDT_1M)).slice(0, 600);
  await writeFile(join(folder, "BTCUSDT.csv"), `timestamp,open,high,low,close,volume\n${candles.map((c) => `${c.timestamp},${c.open},${c.high},${c.low},${c.close},${c.volume}`).join("\n")}\n`);
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

describe("rxtrade backtest --data <folder> --threads 1: a strategy stuck in a synchronous loop", () => {
  it("runs on one worker thread: the stuck file fails after --call-timeout, exit 1", async () => {
    const child = new Child(cli, ["backtest", "--strategy", fixture("holes11-busyloop.mjs"), "--data", folder, "--threads", "1", "--call-timeout", "1000", "--report-dir", "r1"], { cwd });
    const exit = await exitWithin(child, 15_000);
    expect(exit, `${child.stdout}\n${child.stderr}`).not.toBeNull();
    expect({ code: exit?.code, signal: exit?.signal }, exit?.stderr).toEqual({ code: 1, signal: null });
    expect(exit?.stdout).toContain("one after another on a worker thread");
    expect(exit?.stderr).toMatch(/BTCUSDT\.csv failed: the strategy spinner did not return within 1 s .*its worker was terminated/);
  }, 30_000);

  it("gives way to Ctrl-C: the file INTERRUPTED (not FAILED), exit 130", async () => {
    const child = new Child(cli, ["backtest", "--strategy", fixture("holes11-busyloop.mjs"), "--data", folder, "--threads", "1", "--call-timeout", "60000", "--report-dir", "r2"], { cwd });
    await child.waitFor(/^rxtrade backtest · 1 file in /m, 15_000);
    // In the loop (its 3rd call): the strategy says so as it starts it (its line is the worker's: "BTCUSDT.csv: " before it).
    await child.waitFor(/^BTCUSDT\.csv: \[spinner\] looping$/m, 15_000);
    child.kill("SIGINT");
    const exit = await exitWithin(child, 6_000);
    expect(exit, `${child.stdout}\n${child.stderr}`).not.toBeNull();
    expect({ code: exit?.code, signal: exit?.signal }, exit?.stderr).toEqual({ code: 130, signal: null });
    expect(exit?.stdout).toMatch(/INTERRUPTED +BTCUSDT\.csv/);
    expect(exit?.stdout).not.toContain("FAILED");
  }, 30_000);
});

describe("rxtrade backtest: a strategy module that loops at import", () => {
  it("is reported after --module-timeout (loaded on a throwaway worker first), exit 2", async () => {
    const child = new Child(cli, ["backtest", "--strategy", fixture("holes11b-importloop.mjs"), "--module-timeout", "0.2", "--report-dir", "r3"], { cwd });
    const exit = await exitWithin(child, 12_000);
    expect(exit, `${child.stdout}\n${child.stderr}`).not.toBeNull();
    expect({ code: exit?.code, signal: exit?.signal }).toEqual({ code: 2, signal: null });
    expect(exit?.stderr).toContain(`--strategy ${fixture("holes11b-importloop.mjs")}: the module did not finish loading within 0.2 s (a synchronous loop at import, or in its factory?)`);
  }, 30_000);
});

describe("rxtrade backtest: calls each under --call-timeout, their sum per tick over it", () => {
  it("is not taken for a synchronous loop (each call stamps the heartbeat): exit 0", async () => {
    const exit = await run(cli, ["backtest", "--strategy", fixture("holes11b-slowcalls.mjs"), "--from", "2023-03-08T12:00Z", "--to", "2023-03-08T12:01Z", "--call-timeout", "1000", "--report-dir", "r4"], {
      cwd,
      timeoutMs: 25_000,
    });
    expect({ code: exit.code, signal: exit.signal }, exit.stderr).toEqual({ code: 0, signal: null });
    expect(exit.stderr).not.toContain("did not return within");
    // One tick (12:00, its getSignal and its onTick: 1.2 s in all) is enough to show it.
    expect(exit.stdout).toContain("Done: 1 ticks over 1 one-minute candles");
  }, 30_000);
});

describe("rxtrade backtest --data <folder>: Ctrl-C while a file is in its check pass", () => {
  it("stops the check on the worker: the file INTERRUPTED (not FAILED), exit 130", async () => {
    const slow = join(cwd, "slow");
    await mkdir(slow);
    // 40,000 one-minute candles: ~3.6 s of check at 100 ms a read (holes11-slowread.mjs).
    const rows = ["timestamp,open,high,low,close,volume"];
    const start = Date.parse("2023-01-01T00:00Z");
    for (let i = 0; i < 40_000; i++) {
      const price = 20_000 + (i % 500);
      rows.push(`${start + i * 60_000},${price},${price + 5},${price - 5},${price + 1},${(i % 7) + 1}`);
    }
    await writeFile(join(slow, "SLOWUSDT.csv"), `${rows.join("\n")}\n`);
    const child = new Child(cli, ["backtest", "--strategy", "momentum", "--data", slow, "--threads", "1", "--report-dir", "r5"], {
      cwd,
      env: { NODE_OPTIONS: `--import ${pathToFileURL(fixture("holes11-slowread.mjs")).href}` },
    });
    await child.waitFor(/\[slowread\] reading /m, 15_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    child.kill("SIGINT");
    const exit = await exitWithin(child, 6_000);
    expect(exit, `${child.stdout}\n${child.stderr}`).not.toBeNull();
    expect({ code: exit?.code, signal: exit?.signal }, exit?.stderr).toEqual({ code: 130, signal: null });
    expect(exit?.stdout).toMatch(/INTERRUPTED +SLOWUSDT\.csv/);
    expect(exit?.stderr).toMatch(/SLOWUSDT\.csv interrupted \(Ctrl-C\): stopped during the check of .*SLOWUSDT\.csv at line/);
  }, 30_000);
});
