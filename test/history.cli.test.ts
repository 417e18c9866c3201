// History across restarts for the command line (issue 11, item 2): a run, a kill -9, a second
// run — the second run's final statistics and report hold the trades of both runs, each once,
// read from the store's journal (<store>/journal/); `rxtrade report` gives the same numbers
// afterwards. The bin is spawned as a real process (bundled from src/cli by processHarness);
// the demo runs the bundled candles on its paced clock, live a stub exchange: no network.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundle, Child, run } from "./fixtures/processHarness";

const hold = fileURLToPath(new URL("./fixtures/cliHoldStrategy.mjs", import.meta.url));
const rising = fileURLToPath(new URL("./fixtures/cliRisingExchange.mjs", import.meta.url));
const ID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

let cli: string[];
let work: string;

beforeAll(async () => {
  [cli, work] = await Promise.all([bundle("src/cli/index.ts"), mkdtemp(join(tmpdir(), "rxtrade-history-cli-"))]);
}, 30_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
  if (cli !== undefined) await rm(dirname(cli[1] as string), { recursive: true, force: true });
});

/** The trade lines of an output: `OPENED <id>`, `CLOSED <id>` … in order. */
function trades(stdout: string): string[] {
  return [...stdout.matchAll(new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d  (SCHEDULED|OPENED|CLOSED|CANCELLED) .*  (${ID})$`, "gm"))].map((m) => `${m[1]} ${m[2]}`);
}

/** The `closed signals` count of the statistics block under `title`. */
function closedCount(stdout: string, title: RegExp): number {
  const match = new RegExp(`${title.source}\\n  closed signals   (\\d+)`).exec(stdout);
  if (match === null) throw new Error(`no statistics titled ${title} in:\n${stdout}`);
  return Number(match[1]);
}

/** How many report rows show `action` for signal `id`. */
function rows(report: string, action: string, id: string): number {
  return report.split("\n").filter((line) => line.includes(`| ${action} |`) && line.includes(`| ${id} |`)).length;
}

describe("rxtrade demo: run, kill -9, run again", () => {
  it("the second run's statistics and report hold both runs' trades, each once; rxtrade report agrees", async () => {
    const cwd = await mkdtemp(join(work, "demo-"));
    const args = ["demo", "--strategy", hold, "--speed", "600", "--store", "store"];
    // hold: long at once, closed by time 240 simulated minutes later, and again: killed with a
    // position open after at least one close.
    const first = new Child(cli, args, { cwd });
    const [, openId] = (await first.waitFor(new RegExp(`CLOSED .*\\n(?:.*\\n)*?.*OPENED +long .*  (${ID})\\n`), 15_000)) as [string, string];
    first.kill("SIGKILL");
    const killed = await first.exited;
    expect(killed.signal).toBe("SIGKILL");
    const firstTrades = trades(killed.stdout);
    expect(firstTrades.filter((t) => t.startsWith("CLOSED")).length).toBeGreaterThanOrEqual(1);
    expect(firstTrades.at(-1)).toBe(`OPENED ${openId}`);
    expect(killed.stdout).not.toContain("Statistics of");

    const second = await run(cli, [...args, "--minutes", "300"], { cwd, timeoutMs: 30_000 });
    expect(second.stderr).toBe("");
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`resumed signal ${openId}`);
    const secondTrades = trades(second.stdout);
    expect(secondTrades[0]).toBe(`CLOSED ${openId}`); // the resumed signal, closed once, by the second run

    const all = [...firstTrades, ...secondTrades];
    const closed = all.filter((t) => t.startsWith("CLOSED "));
    expect(new Set(closed).size).toBe(closed.length);
    const firstOpen = /^(\d{4}-\d\d-\d\d \d\d:\d\d)  OPENED/m.exec(killed.stdout)?.[1] as string;
    const title = new RegExp(`Statistics of BTCUSDT:hold since ${firstOpen} UTC \\(the first journaled trade; 2 runs\\)`);
    expect(closedCount(second.stdout, title)).toBe(closed.length);

    // The report: every trade of both runs, once.
    const report = await readFile(join(cwd, "dump/demo/BTCUSDT_hold.md"), "utf8");
    for (const trade of all) {
      const [action, id] = trade.split(" ") as [string, string];
      expect(rows(report, action, id), trade).toBe(1);
    }
    expect(report).toContain(`**Closed signals:** ${closed.length}`);

    // rxtrade report, from the journal alone: the same numbers.
    const json = await run(cli, ["report", "--store", "store", "--symbol", "BTCUSDT", "--strategy", "hold", "--json"], { cwd });
    expect(json.code).toBe(0);
    const stats = JSON.parse(json.stdout) as { totalClosed: number; totalPnl: number; eventList: unknown[] };
    expect(stats.totalClosed).toBe(closed.length);
    const text = await run(cli, ["report", "--store", "store", "--report-dir", "again"], { cwd });
    expect(text.stdout).toMatch(title);
    expect(await readFile(join(cwd, "again/BTCUSDT_hold.md"), "utf8")).toBe(report);

    // A third run of the same key that trades nothing (a strategy that never signals) keeps the
    // history in its statistics and report: never "No events recorded yet".
    const quiet = join(cwd, "quiet.mjs");
    await writeFile(quiet, 'export const strategy = { strategyName: "hold", interval: "1m", getSignal: () => null };\n');
    const third = await run(cli, ["demo", "--strategy", quiet, "--speed", "600", "--store", "store", "--minutes", "60"], { cwd, timeoutMs: 30_000 });
    expect(third.code).toBe(0);
    expect(trades(third.stdout)).toEqual([]);
    expect(closedCount(third.stdout, new RegExp(`Statistics of BTCUSDT:hold since ${firstOpen} UTC \\(the first journaled trade; 3 runs\\)`))).toBe(closed.length);
    expect(await readFile(join(cwd, "dump/demo/BTCUSDT_hold.md"), "utf8")).toBe(report);
  }, 60_000);
});

describe("rxtrade live: run, kill -9, run again", () => {
  it("the second run's statistics hold the close of the killed run and its own, each once", async () => {
    const cwd = await mkdtemp(join(work, "live-"));
    const args = ["live", "--exchange", rising, "--symbol", "TESTUSD", "--strategy", hold, "--tick-ms", "400", "--store", "store"];
    const first = new Child(cli, args, { cwd });
    const [, firstId] = (await first.waitFor(new RegExp(`CLOSED +long .* take_profit .*  (${ID})\\n`))) as [string, string];
    first.kill("SIGKILL");
    expect((await first.exited).signal).toBe("SIGKILL");

    const second = new Child(cli, args, { cwd });
    const [, secondId] = (await second.waitFor(new RegExp(`CLOSED +long .* take_profit .*  (${ID})\\n`))) as [string, string];
    second.kill("SIGTERM");
    const exit = await second.exited;
    expect(exit.stderr).toBe("");
    expect(exit.code).toBe(0);
    expect(secondId).not.toBe(firstId);
    expect(closedCount(exit.stdout, /Statistics of TESTUSD:hold since \d{4}-\d\d-\d\d \d\d:\d\d UTC \(the first journaled trade; 2 runs\)/)).toBe(2);
    const report = await readFile(join(cwd, "dump/live/TESTUSD_hold.md"), "utf8");
    for (const id of [firstId, secondId]) {
      expect(rows(report, "OPENED", id)).toBe(1);
      expect(rows(report, "CLOSED", id)).toBe(1);
    }
    expect(report).toContain("**Closed signals:** 2");
  }, 30_000);
});
