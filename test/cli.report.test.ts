// rxtrade report (issue 11, item 2): the statistics and Markdown report of every run from a
// store's journal alone — no loop, no lock. The journal here is written by real Live runs on a
// VirtualClock with fileStore + fileJournal (the CLI's own files); `report` runs in this
// process through `main` (it starts nothing, so no child process is needed).
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addExchange,
  addStrategy,
  journalStatistics,
  Live,
  type LiveStatistics,
  liveReport,
  replayExchange,
  setLogger,
  type SignalDto,
  type TickResult,
  listenSignalLive,
} from "rxtrade";
import { fileJournal, fileStore } from "rxtrade/node";
import { candlesFromPrices, VirtualClock } from "rxtrade/testing";
import { main } from "../src/cli/main";
import { Terminal } from "../src/cli/terminal";

const TICK = 60_001;
const SYMBOL = "BTCUSDT";
const PRICES = Array.from({ length: 600 }, (_, m) => Math.round((100 + 3 * Math.sin(m / 6.5) + (m % 7) * 0.1) * 100) / 100);

let work: string;
let store: string;
const results: Record<string, TickResult[]> = {};

/** `rxtrade <args>` in this process, with its working directory's relative paths under `work`. */
async function report(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const cwd = process.cwd();
  process.chdir(work);
  try {
    const code = await main(["report", ...args], new Terminal({ write: (text: string) => (stdout += text) }, { write: (text: string) => (stderr += text) }));
    return { code, stdout, stderr };
  } finally {
    process.chdir(cwd);
    setLogger({ warn: () => {}, error: () => {} });
  }
}

/** One Live run of `name` from `fromMinute` for `minutes` on `store` with its file journal, to its graceful stop. */
async function liveRun(name: string, fromMinute: number, minutes: number): Promise<void> {
  const clock = new VirtualClock(fromMinute * TICK);
  const exchangeName = `${name}-ex-${fromMinute}`;
  addExchange(replayExchange(candlesFromPrices(PRICES, { start: -60_000 }), clock, { exchangeName }));
  const off = listenSignalLive((r) => r.strategyName === name && (results[name] ??= []).push(r));
  const done = new Promise<void>((resolve, reject) => {
    Live.run(SYMBOL, { strategyName: name, exchangeName, scheduler: clock, store: fileStore(store), journal: fileJournal(store), config: { CC_AVG_PRICE_CANDLES_COUNT: 1 } }).subscribe({
      error: reject,
      complete: resolve,
    });
  });
  clock.schedule(() => void Live.stop(SYMBOL, name), minutes * TICK);
  await clock.flushAsync();
  await done;
  off();
}

function strategy(name: string, limitEvery: number): void {
  let n = 0;
  addStrategy({
    strategyName: name,
    interval: "5m",
    getSignal: (_symbol, _when, { currentPrice }): SignalDto => {
      n++;
      const limit = n % limitEvery === 0;
      const entry = limit ? Math.round(currentPrice * 0.99 * 100) / 100 : currentPrice;
      return { position: "long", ...(limit ? { priceOpen: entry } : {}), priceTakeProfit: Math.round(entry * 1.02 * 100) / 100, priceStopLoss: Math.round(entry * 0.98 * 100) / 100, minuteEstimatedTime: 30 };
    },
  });
}

beforeAll(async () => {
  setLogger({ warn: () => {}, error: () => {} });
  work = await mkdtemp(join(tmpdir(), "rxtrade-report-"));
  store = join(work, "store");
  strategy("rep-a", 3);
  strategy("rep-b", 2);
  // rep-a: two runs (the second resumes nothing: the first stopped gracefully); rep-b: one.
  await liveRun("rep-a", 10, 150);
  await liveRun("rep-a", 200, 150);
  await liveRun("rep-b", 10, 200);
}, 30_000);

afterAll(() => rm(work, { recursive: true, force: true }));

const closedOf = (name: string) => (results[name] ?? []).filter((r) => r.action === "closed");

describe("rxtrade report", () => {
  it("--json for one key: the LiveStatistics Live.getData gives for the same journal, every run's trades", async () => {
    const exit = await report(["--store", "store", "--symbol", SYMBOL, "--strategy", "rep-a", "--json"]);
    expect(exit).toMatchObject({ code: 0, stderr: "" });
    const printed = JSON.parse(exit.stdout) as LiveStatistics;
    const data = await Live.getData(SYMBOL, "rep-a"); // the pair's journal: the same files
    expect(printed).toEqual(JSON.parse(JSON.stringify(data)));
    expect(printed.totalClosed).toBe(closedOf("rep-a").length);
    expect(closedOf("rep-a").some((r) => r.timestamp < 200 * TICK) && closedOf("rep-a").some((r) => r.timestamp > 200 * TICK)).toBe(true); // both runs closed some
    expect(printed.totalPnl).toBeCloseTo(closedOf("rep-a").reduce((sum, r) => sum + (r.action === "closed" ? r.pnl.pnlPercentage : 0), 0), 10);
    // No report file with --json.
    await expect(readdir(join(work, "dump/live"))).rejects.toThrow(/ENOENT/);
  });

  it("--json without a selection: an object by key", async () => {
    const exit = await report(["--store", "store", "--json"]);
    expect(exit.code).toBe(0);
    const printed = JSON.parse(exit.stdout) as Record<string, LiveStatistics>;
    expect(Object.keys(printed)).toEqual([`${SYMBOL}:rep-a`, `${SYMBOL}:rep-b`]);
    expect(printed[`${SYMBOL}:rep-b`]).toEqual(JSON.parse(JSON.stringify(await Live.getData(SYMBOL, "rep-b"))));
    // --strategy alone still selects by key: the shape follows the flags, not the data.
    expect(Object.keys(JSON.parse((await report(["--store", "store", "--strategy", "rep-b", "--json"])).stdout))).toEqual([`${SYMBOL}:rep-b`]);
  });

  it("--since: only trades of ticks from then on", async () => {
    const since = 200 * TICK; // the second run of rep-a
    const iso = new Date(since).toISOString();
    const exit = await report(["--store", "store", "--symbol", SYMBOL, "--strategy", "rep-a", "--since", iso, "--json"]);
    const printed = JSON.parse(exit.stdout) as LiveStatistics;
    expect(printed.totalClosed).toBe(closedOf("rep-a").filter((r) => r.timestamp >= since).length);
    expect(printed.totalClosed).toBeLessThan(closedOf("rep-a").length);
    expect(printed.totalClosed).toBeGreaterThan(0);
    expect(printed).toEqual(JSON.parse(JSON.stringify(await journalStatistics(fileJournal(store), `${SYMBOL}:rep-a`, { since }))));
    expect(printed.eventList.every((row) => row.timestamp >= since)).toBe(true);
    // Epoch ms (12 digits or more) works too: 2001-09-09, after every trade here (1970).
    expect(JSON.parse((await report(["--store", "store", "--strategy", "rep-a", "--since", "1000000000000", "--json"])).stdout)[`${SYMBOL}:rep-a`]).toMatchObject({ totalClosed: 0, totalEvents: 0 });
  });

  it("prints each key's statistics since its first journaled trade and writes the live run's Markdown report", async () => {
    const exit = await report(["--store", "store", "--report-dir", "reports"]);
    expect(exit).toMatchObject({ code: 0, stderr: "" });
    const first = (results["rep-a"] ?? []).find((r) => r.action !== "idle" && r.action !== "active") as TickResult;
    const minute = new Date(first.timestamp).toISOString().slice(0, 16).replace("T", " ");
    expect(exit.stdout).toContain(`Statistics of ${SYMBOL}:rep-a since ${minute} UTC (the first journaled trade; 2 runs)\n  closed signals   ${closedOf("rep-a").length} (`);
    expect(exit.stdout).toContain(`Statistics of ${SYMBOL}:rep-b since `);
    expect(exit.stdout).toContain("(the first journaled trade; 1 run)");
    expect(exit.stdout).toContain(`Report: reports/${SYMBOL}_rep-a.md`);
    expect(await readFile(join(work, "reports", `${SYMBOL}_rep-a.md`), "utf8")).toBe(liveReport("rep-a", await Live.getData(SYMBOL, "rep-a")));
    expect(await readFile(join(work, "reports", `${SYMBOL}_rep-b.md`), "utf8")).toContain(`**Closed signals:** ${closedOf("rep-b").length}`);
  });

  it("reads beside a running process: takes no lock", async () => {
    const release = await fileStore(store).lock(`${SYMBOL}:rep-a`);
    try {
      const exit = await report(["--store", "store", "--strategy", "rep-a", "--json"]);
      expect(exit.code).toBe(0);
    } finally {
      release();
    }
  });

  it("a torn last line (a kill mid-write) is skipped with a warning; the numbers stand", async () => {
    const before = (await report(["--store", "store", "--symbol", SYMBOL, "--strategy", "rep-b", "--json"])).stdout;
    const copy = join(work, "torn");
    await mkdir(join(copy, "journal"), { recursive: true });
    const journalDir = join(store, "journal");
    for (const name of await readdir(journalDir)) await writeFile(join(copy, "journal", name), await readFile(join(journalDir, name)));
    const segment = (await fileJournal(copy).segmentsOf(`${SYMBOL}:rep-b`)).at(-1) as string;
    await appendFile(segment, '{"kind":"trade","key":"BTCUSDT:rep-b","at":1,"result":{"action":"clo');
    const exit = await report(["--store", "torn", "--symbol", SYMBOL, "--strategy", "rep-b", "--json"]);
    expect(exit.code).toBe(0);
    expect(exit.stdout).toBe(before);
    expect(exit.stderr).toMatch(/torn/i);
  });
});

describe("rxtrade report: wrong command lines and stores", () => {
  it.each([
    [["--sped", "1"], "rxtrade report: unknown flag --sped"],
    [["--store", "nowhere"], "rxtrade report: --store nowhere: no such folder, so no journal to report"],
    [[], "rxtrade report: --store ./.rxtrade: no such folder, so no journal to report (the demo keeps its own store: rxtrade report --store ./.rxtrade-demo)"],
    [["--store", "store", "--since", "yesterday"], 'rxtrade report: --since "yesterday" is not a time; give ISO 8601 in UTC, e.g. --since 2023-03-08T12:00Z'],
    [["--store", "store", "--strategy", "rep-c"], `rxtrade report: the journal of store has nothing for --strategy rep-c: it holds ${SYMBOL}:rep-a, ${SYMBOL}:rep-b; did you mean ${SYMBOL}:rep-a?`],
    [["--store", "store", "--symbol", "ETHUSDT"], `rxtrade report: the journal of store has nothing for --symbol ETHUSDT: it holds ${SYMBOL}:rep-a, ${SYMBOL}:rep-b\n`],
    [["--store", "store", "--symbol", "btc/usdt", "--strategy", "rep-b"], `did you mean ${SYMBOL}:rep-b?`],
    [["--store", "store", "--symbol", ""], "rxtrade report: --symbol needs a value, got an empty one; e.g. --symbol BTCUSDT"],
    [["--store", "store", "--report-dir", "store/journal/x/y"], "is not a folder rxtrade can write to"],
  ])("rxtrade report %j: exit 2, %s", async (args, message) => {
    if (args.includes("store/journal/x/y")) await writeFile(join(work, "store", "journal", "x"), "a file");
    const exit = await report(args);
    expect(exit.code).toBe(2);
    expect(exit.stdout).toBe("");
    expect(exit.stderr).toContain(message);
    expect(exit.stderr).toContain("Run 'rxtrade report --help' for the flags.");
  });

  it("a store without a journal: exit 1, saying why there is no history", async () => {
    await mkdir(join(work, "bare"), { recursive: true });
    const exit = await report(["--store", "bare"]);
    expect(exit).toMatchObject({ code: 1, stdout: "" });
    expect(exit.stderr).toBe(
      "rxtrade report: the store bare has no journal (bare/journal): its runs journaled nothing (they ran with --journal off, or before rxtrade journaled), so there is no history to report. rxtrade live and rxtrade demo journal there by default (--journal trades).\n",
    );
  });

  it("--help: the usage and every flag, exit 0", async () => {
    const exit = await report(["--help"]);
    expect(exit).toMatchObject({ code: 0, stderr: "" });
    expect(exit.stdout).toContain("rxtrade report [--store dir] [--symbol S] [--strategy name] [--since ISO] [--json] [--report-dir dir]");
    for (const flag of ["--store DIR", "--symbol SYMBOL", "--strategy NAME", "--since ISO", "--json", "--report-dir DIR"]) expect(exit.stdout).toContain(flag);
  });
});
