// Acceptance 2: the `rxtrade` bin, spawned as a real process (bundled from src/cli by
// test/fixtures/processHarness.ts): help, command-line errors (exit 2), a bounded demo run, a
// graceful stop on SIGTERM with a position open, and crash recovery after SIGKILL. The demo
// runs the bundled candles on an accelerated clock; nothing here touches the network.
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileStore } from "rxtrade/node";
import { main } from "../src/cli/main";
import { Terminal } from "../src/cli/terminal";
import { bundle, Child, type Exit, run } from "./fixtures/processHarness";

const root = fileURLToPath(new URL("../", import.meta.url));
const hold = fileURLToPath(new URL("./fixtures/cliHoldStrategy.mjs", import.meta.url));
const rising = fileURLToPath(new URL("./fixtures/cliRisingExchange.mjs", import.meta.url));
const ID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const MINUTE = 60_000;

let cli: string[];
let work: string;

beforeAll(async () => {
  [cli, work] = await Promise.all([bundle("src/cli/index.ts"), mkdtemp(join(tmpdir(), "rxtrade-cli-test-"))]);
}, 30_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
  if (cli !== undefined) await rm(dirname(cli[1] as string), { recursive: true, force: true });
});

const newDir = (name: string) => mkdtemp(join(work, `${name}-`));

/** The trade lines of the demo's output, in order. */
function trades(stdout: string): Array<{ time: number; action: string; position: string; rest: string; id: string }> {
  const pattern = new RegExp(`^(\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d)  (SCHEDULED|OPENED|CLOSED|CANCELLED) +(long|short) (.*?)  (${ID})$`, "gm");
  return [...stdout.matchAll(pattern)].map((m) => ({
    time: Date.parse(`${(m[1] as string).replace(" ", "T")}Z`),
    action: m[2] as string,
    position: m[3] as string,
    rest: m[4] as string,
    id: m[5] as string,
  }));
}

/**
 * `rxtrade <args>` run in this process through the bin's `main` (help and command-line errors
 * start nothing, so a process of their own would only cost a Node start each); the bin itself
 * is spawned by the tests that say so below.
 */
async function inProcess(args: string[]): Promise<Exit> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, new Terminal({ write: (text: string) => (stdout += text) }, { write: (text: string) => (stderr += text) }));
  return { code, signal: null, stdout, stderr };
}

describe("help", () => {
  it("the bin prints its help and exits 0 (a real process)", async () => {
    const exit = await run(cli, ["--help"], { cwd: work });
    expect(exit).toMatchObject({ code: 0, stderr: "" });
    expect(exit.stdout).toContain("rxtrade — run trading strategies live");
  });

  it.each([
    [["--help"], "rxtrade — run trading strategies live"],
    [["demo", "--help"], "rxtrade demo [--speed N] [--strategy name|path] [--store dir] [--from ISO] [--minutes N]"],
    [["demo", "-h"], "Ctrl-C twice         exit at once (code 130)"],
    [["live", "--help"], "rxtrade live --exchange <ccxt id> --symbol <symbol> --strategy <path> [--store dir] [--tick-ms N]"],
    [["help", "live"], "--tick-ms N        ms between ticks"],
    [["demo", "--help"], "--module-timeout S\n                     seconds a module given by path may take to load"],
    [["live", "--help"], "its factory to resolve, 0.1 to 3600 (default 30); past it, exit 2"],
  ])("rxtrade %j prints its help and exits 0", async (args, expected) => {
    const exit = await inProcess(args);
    expect(exit).toMatchObject({ code: 0, stderr: "" });
    expect(exit.stdout).toContain(expected);
  });
});

describe("command-line errors exit 2 with a message naming the flag, the value and the fix", () => {
  it("the bin exits 2 on a wrong command line (a real process)", async () => {
    const exit = await run(cli, ["dmeo"], { cwd: work });
    expect(exit).toMatchObject({ code: 2, stdout: "" });
    expect(exit.stderr).toBe('rxtrade: unknown command "dmeo"; did you mean demo? (commands: demo, live, run, fleet, backtest, report, replay, store)\nRun \'rxtrade --help\' for the flags.\n');
  });

  it.each([
    [[], "rxtrade: a command is required: demo, live, run, fleet, backtest, report, replay, store"],
    [["dmeo"], 'rxtrade: unknown command "dmeo"; did you mean demo? (commands: demo, live, run, fleet, backtest, report, replay, store)'],
    [["demo", "--sped", "10"], "rxtrade demo: unknown flag --sped; did you mean --speed?"],
    [["demo", "--speed", "fast"], 'rxtrade demo: --speed must be a number from 1 to 100000 (simulated minutes per second), got "fast"; e.g. --speed 240'],
    [["demo", "--speed"], "rxtrade demo: --speed needs a value, e.g. --speed 240"],
    [["demo", "--minutes", "1.5"], 'rxtrade demo: --minutes must be a whole number from 1 to 100000 (simulated minutes before the graceful stop), got "1.5"'],
    [["demo", "--from", "2024-01-01"], "rxtrade demo: --from 2024-01-01 is outside the bundled data; give a time from 2023-03-01T00:05Z to 2023-03-20T22:00Z"],
    [["demo", "--from", "yesterday"], 'rxtrade demo: --from "yesterday" is not a time; give ISO 8601 in UTC, e.g. --from 2023-03-08T12:00Z'],
    [["demo", "--strategy", "momentm"], 'rxtrade demo: --strategy "momentm" is neither an example strategy nor a file; did you mean momentum?'],
    [["demo", "--strategy", "./missing.mjs"], "rxtrade demo: --strategy ./missing.mjs: no such file"],
    [["demo", "--strategy", rising], "the module must export a StrategySchema as `strategy` or as its default export"],
    [["demo", "now"], 'rxtrade demo: unexpected argument "now"'],
    [["demo", "--help=yes"], "rxtrade demo: --help takes no value"],
    [["live"], "rxtrade live: --exchange is required, e.g. --exchange binance"],
    [["live", "--exchange", "binance", "--symbol", "BTCUSDT"], "rxtrade live: --strategy is required, e.g. --strategy ./my-strategy.js"],
    [["live", "--exchange", "Binance!", "--symbol", "BTCUSDT", "--strategy", "momentum"], 'rxtrade live: --exchange "Binance!" is not a ccxt exchange id'],
    [["live", "--exchange", "binance", "--symbol", "BTCUSDT", "--strategy", "momentum", "--tick-ms", "5"], 'rxtrade live: --tick-ms must be a whole number from 100 to 86400000 (ms between ticks), got "5"'],
    [["live", "--exchange", "binance", "--symbol", "BTCUSDT", "--strategy", "momentum", "--speed", "60"], "rxtrade live: unknown flag --speed"],
  ])("rxtrade %j", async (args, message) => {
    const exit = await inProcess(args);
    expect(exit.code).toBe(2);
    expect(exit.stdout).toBe("");
    expect(exit.stderr).toContain(message);
    expect(exit.stderr).toMatch(/Run 'rxtrade( demo| live)? --help' for the flags\.\n$/);
  });

  it("live: an unknown ccxt exchange id fails before the start, with close matches (ccxt is loaded, not the network)", async () => {
    const exit = await run(cli, ["live", "--exchange", "binanse", "--symbol", "BTCUSDT", "--strategy", "momentum"], { cwd: work });
    expect(exit.code).toBe(2);
    expect(exit.stderr).toContain('rxtrade live: ccxt has no exchange "binanse"; did you mean binance');
    expect(exit.stdout).not.toContain("rxtrade live ·"); // the loop never started
  });
});

describe("rxtrade demo", () => {
  it("--minutes: a bounded run opens and closes signals, prints the statistics and writes the report", async () => {
    const cwd = await newDir("bounded");
    const exit = await run(cli, ["demo", "--minutes", "1440", "--speed", "3000", "--store", "store"], { cwd });
    expect(exit.stderr).toBe("");
    expect(exit.code).toBe(0);
    const { stdout } = exit;
    expect(stdout).toContain("strategy momentum · store store · 3000 simulated min/s");
    expect(stdout).toContain("replaying from 2023-03-01 02:00; graceful stop at 2023-03-02 02:00 (1 d)");

    const lines = trades(stdout);
    const opened = lines.filter((line) => line.action === "OPENED");
    const closed = lines.filter((line) => line.action === "CLOSED");
    expect(opened.length).toBeGreaterThan(0);
    expect(closed.length).toBe(opened.length); // a graceful stop: the last one closed too
    for (const close of closed) expect(opened.find((open) => open.id === close.id)?.time).toBeLessThanOrEqual(close.time);
    expect(stdout).toContain("1440 simulated minutes done: stopping gracefully — no new signals");
    expect(stdout).toMatch(new RegExp(`Statistics of this run\\n  closed signals   ${closed.length}[ \\n]`));
    expect(stdout).not.toContain("\r"); // not a TTY: plain lines only

    expect(stdout).toContain("Report: dump/demo/BTCUSDT_momentum.md");
    const report = await readFile(join(cwd, "dump/demo/BTCUSDT_momentum.md"), "utf8");
    expect(report.startsWith("# Live Trading Report: momentum\n\n| Timestamp | Action |")).toBe(true);
    expect(report.match(/\| CLOSED \| BTCUSDT \|/g)).toHaveLength(closed.length);
    // Binance.US BTC/USDT: prices in USDT, never "USD".
    expect(report).toMatch(/\| CLOSED \| BTCUSDT \| [0-9a-f-]{36} \| (LONG|SHORT) \| \d+\.\d{8} USDT \| \d+\.\d{8} USDT \|/);
    expect(report).not.toMatch(/ USD\b/);
    expect(report).toContain(`**Closed signals:** ${closed.length}`);

    // Nothing is left open after a graceful stop, not even a signal whose write was in flight.
    expect(await fileStore(join(cwd, "store")).read("BTCUSDT:momentum")).toBeNull();
    // The next run continues where this one stopped.
    const clock = JSON.parse(await readFile(join(cwd, "store/demo-clock.json"), "utf8")) as { clocks: Record<string, number> };
    expect(clock.clocks["BTCUSDT:momentum"]).toBeGreaterThanOrEqual(Date.parse("2023-03-02T02:00Z"));
    expect(stdout).toMatch(/Store: store — run the demo again to continue from 2023-03-02 0[2-4]:\d\d\.\n$/);
  });

  it("a TypeScript strategy file with a limit entry: scheduled, then opened or cancelled", async () => {
    const cwd = await newDir("breakout");
    // 12 hours with four breakouts in them (08:14, 12:30, 14:37, 19:09 on the virtual clock).
    const strategy = join(root, "examples/strategies/breakout.ts");
    const exit = await run(cli, ["demo", "--strategy", strategy, "--from", "2023-03-01T08:00Z", "--minutes", "720", "--speed", "100000", "--store", "store"], { cwd });
    expect(exit.stderr).toBe("");
    expect(exit.code).toBe(0);
    expect(exit.stdout).toContain("replaying from 2023-03-01 08:00; graceful stop at 2023-03-01 20:00 (12 h)");
    const lines = trades(exit.stdout);
    const scheduled = lines.filter((line) => line.action === "SCHEDULED");
    expect(scheduled.length).toBeGreaterThan(0);
    // Every limit entry is followed by its activation or its cancellation, once.
    for (const entry of scheduled) {
      const outcomes = lines.filter((line) => line.id === entry.id && (line.action === "OPENED" || line.action === "CANCELLED"));
      expect(outcomes).toHaveLength(1);
    }
    expect(existsSync(join(cwd, "dump/demo/BTCUSDT_breakout.md"))).toBe(true);
  });

  it("SIGTERM with a position open: no new signal, the position closes in simulated time, exit 0", async () => {
    const cwd = await newDir("sigterm");
    const child = new Child(cli, ["demo", "--strategy", hold, "--speed", "300", "--store", "store"], { cwd });
    const [, id] = (await child.waitFor(new RegExp(`OPENED +long .*  (${ID})\\n`))) as [string, string];
    child.kill("SIGTERM");
    const exit = await child.exited;
    expect(exit.stderr).toBe("");
    expect(exit.code).toBe(0);

    const stopAt = exit.stdout.indexOf("SIGTERM: stopping gracefully — no new signals;");
    expect(stopAt).toBeGreaterThan(0);
    const after = exit.stdout.slice(stopAt);
    expect(after).toContain(`signal ${id} (long @`);
    expect(after).toContain("runs to its end in simulated time");
    const lines = trades(exit.stdout);
    expect(lines.map((line) => `${line.action} ${line.id}`)).toEqual([`OPENED ${id}`, `CLOSED ${id}`]);
    expect(trades(after).map((line) => line.action)).toEqual(["CLOSED"]);
    // Closed by time, 240 simulated minutes after it opened.
    const [open, close] = lines as [(typeof lines)[0], (typeof lines)[0]];
    expect(close.rest).toContain("time_expired");
    expect(close.time - open.time).toBeGreaterThanOrEqual(240 * MINUTE);
    expect(close.time - open.time).toBeLessThanOrEqual(245 * MINUTE);
    expect(exit.stdout).toContain("Stopped gracefully at");
    expect(existsSync(join(cwd, "dump/demo/BTCUSDT_hold.md"))).toBe(true);
    expect(await fileStore(join(cwd, "store")).read("BTCUSDT:hold")).toBeNull();
  });

  it("a second signal during the graceful stop exits at once with 130, leaving the position in the store", async () => {
    const cwd = await newDir("twice");
    const child = new Child(cli, ["demo", "--strategy", hold, "--speed", "100", "--store", "store"], { cwd });
    const [, id] = (await child.waitFor(new RegExp(`OPENED +long .*  (${ID})\\n`))) as [string, string];
    child.kill("SIGTERM");
    await child.waitFor(/SIGTERM: stopping gracefully/);
    child.kill("SIGINT");
    const exit = await child.exited;
    expect(exit.code).toBe(130);
    expect(exit.stderr).toContain(`SIGINT while stopping: exiting at once; signal ${id} (long @`);
    expect(exit.stderr).toContain("stays in the store and the next run resumes it.");
    expect(trades(exit.stdout).map((line) => line.action)).toEqual(["OPENED"]);
    expect(await fileStore(join(cwd, "store")).read("BTCUSDT:hold")).toMatchObject({ status: "opened", signal: { id } });
  });

  it("a second demo on the same store and strategy exits 1 at once, naming the process that holds it", async () => {
    const cwd = await newDir("locked");
    const args = ["demo", "--strategy", hold, "--speed", "100", "--store", "store"];
    const first = new Child(cli, args, { cwd });
    await first.waitFor(/OPENED/);
    const second = await run(cli, args, { cwd });
    first.kill("SIGINT");
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/^rxtrade demo: BTCUSDT:hold is locked by process \d+; stop that stream first/m);
    expect(second.stderr).toContain("Another rxtrade process runs this symbol and strategy on the store store.");
    expect(second.stdout).toBe(""); // refused before it printed or resumed anything
    expect((await first.exited).code).toBe(0);
  });

  it("SIGKILL with a position open, then a second run: resumed with the same id, closed exactly once", async () => {
    const cwd = await newDir("sigkill");
    const args = ["demo", "--strategy", hold, "--speed", "300", "--store", "store"];
    const first = new Child(cli, args, { cwd });
    const [, id] = (await first.waitFor(new RegExp(`OPENED +long .*  (${ID})\\n`))) as [string, string];
    first.kill("SIGKILL");
    const killed = await first.exited;
    expect(killed.signal).toBe("SIGKILL");
    expect(trades(killed.stdout).map((line) => line.action)).toEqual(["OPENED"]);
    expect(await fileStore(join(cwd, "store")).read("BTCUSDT:hold")).toMatchObject({ status: "opened", signal: { id } });

    // --minutes 1: a stop is requested a simulated minute in, while the resumed signal is open.
    const second = await run(cli, [...args, "--minutes", "1"], { cwd });
    expect(second.stderr).toBe("");
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(new RegExp(`^resumed signal ${id}: long @ [\\d.]+ opened `, "m"));
    const resumedTrades = trades(second.stdout);
    expect(resumedTrades.map((line) => `${line.action} ${line.id}`)).toEqual([`CLOSED ${id}`]);

    // Monitored in simulated time after its open (not from the start of the data): closed by
    // time 240 minutes after the open printed by the first run.
    const open = trades(killed.stdout)[0] as ReturnType<typeof trades>[0];
    const close = resumedTrades[0] as ReturnType<typeof trades>[0];
    expect(close.rest).toContain("time_expired");
    expect(close.time - open.time).toBeGreaterThanOrEqual(240 * MINUTE);
    expect(close.time - open.time).toBeLessThanOrEqual(245 * MINUTE);
    expect(trades(killed.stdout + second.stdout).filter((line) => line.action === "CLOSED")).toHaveLength(1);
    expect(await fileStore(join(cwd, "store")).read("BTCUSDT:hold")).toBeNull();
  });
});

describe("rxtrade live", () => {
  it("runs an exchange module and a strategy file, prints the trades, stops gracefully on SIGTERM with a report", async () => {
    const cwd = await newDir("live");
    const child = new Child(cli, ["live", "--exchange", rising, "--symbol", "TESTUSD", "--strategy", hold, "--tick-ms", "400", "--store", "store"], { cwd });
    const [, id] = (await child.waitFor(new RegExp(`CLOSED +long .* take_profit .*  (${ID})\\n`))) as [string, string];
    child.kill("SIGTERM");
    const exit = await child.exited;
    expect(exit.stderr).toBe("");
    expect(exit.code).toBe(0);
    expect(exit.stdout).toContain("rxtrade live · TESTUSD on rising · strategy hold · store store · a tick every 400 ms");
    expect(trades(exit.stdout).map((line) => `${line.action} ${line.id}`)).toEqual([`OPENED ${id}`, `CLOSED ${id}`]);
    // The strategy asks at most once a minute: nothing is open when the stop arrives.
    expect(exit.stdout).toContain("SIGTERM: stopping gracefully — no new signals; nothing is open, ending now.");
    expect(exit.stdout).toContain("Report: dump/live/TESTUSD_hold.md");
    expect(await readFile(join(cwd, "dump/live/TESTUSD_hold.md"), "utf8")).toContain("**Closed signals:** 1");
  });
});
