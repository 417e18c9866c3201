// Holes a hostile review found in `rxtrade report` (issue 11, item 2), each a regression test
// that failed before the fix. The command runs in this process through `main`, as the bin calls
// it (it starts no loop); the journals are written with fileJournal, as live runs write them.
// 1. a journal file that hangs (a FIFO in its place) hung the command: now exit 1 once
//    CC_STORE_TIMEOUT_SECONDS has passed, saying what did not answer;
// 2. the Markdown report went to ./dump/live by default, replacing the live run's report:
//    now ./dump/report, and the command says where it wrote;
// 3. signals that ended unrecorded were only in the terminal's text: now in --json
//    (`endedUnrecorded`) and in the Markdown report;
// 5. --since 2023-02-30 was taken (as March 2); a folder of files that are not journals reported
//    "no runs yet" and exit 0; a warning per skipped line.
import { execFileSync } from "node:child_process";
import { closeSync, constants, openSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type JournalEntry, setConfig, setLogger, type TickResult } from "rxtrade";
import { fileJournal } from "rxtrade/node";
import { main } from "../src/cli/main";
import { Terminal } from "../src/cli/terminal";

const SYMBOL = "BTCUSDT";
const TICK = 60_001;
let work: string;
const fifos: string[] = [];

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

/** `promise`, or a failure once it is still pending after `ms` (a hang fails fast). */
async function settles<T>(promise: Promise<T>, ms = 3000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms: it hangs`)), ms)));
  try {
    return await Promise.race([promise, hung]);
  } finally {
    clearTimeout(timer);
  }
}

const signal = (id: string, at: number) => ({
  id, position: "long" as const, priceOpen: 100, priceTakeProfit: 102, priceStopLoss: 98, minuteEstimatedTime: 60, note: "",
  symbol: SYMBOL, strategyName: "momentum", exchangeName: "x", scheduledAt: at, pendingAt: at,
});
const KEY = `${SYMBOL}:momentum`;
const base = { symbol: SYMBOL, strategyName: "momentum", exchangeName: "x", backtest: false as const };
const run = (at: number) => ({ kind: "run" as const, key: KEY, at, event: "start" as const, symbol: SYMBOL, strategyName: "momentum", exchangeName: "x", level: "trades" as const, tickMs: TICK });
const trade = (result: TickResult) => ({ kind: "trade", key: KEY, at: result.timestamp, result }) as JournalEntry;
const T0 = Date.parse("2023-03-01T00:00Z");
// A closed signal A, B opened, then a restart that found B gone from the store (its end died with its process).
const ENTRIES: JournalEntry[] = [
  run(T0),
  trade({ ...base, action: "opened", currentPrice: 100, timestamp: T0 + 60_000, signal: signal("sig-A", T0 + 60_000) }),
  trade({
    ...base, action: "closed", currentPrice: 102, timestamp: T0 + 600_000, signal: signal("sig-A", T0 + 60_000),
    closeReason: "take_profit", closeTimestamp: T0 + 600_000, pnl: { pnlPercentage: 1.8, priceOpen: 100, priceClose: 102 },
  }),
  trade({ ...base, action: "opened", currentPrice: 100, timestamp: T0 + 1_200_000, signal: signal("sig-B", T0 + 1_200_000) }),
  { ...run(T0 + 3_600_000), recovery: { unfinishedRun: true, endedSignal: { signalId: "sig-B", status: "opened", since: T0 + 1_200_000 } } } as JournalEntry,
];

async function storeWith(name: string, entries: readonly JournalEntry[]): Promise<string> {
  const dir = join(work, name);
  const journal = fileJournal(dir);
  for (const entry of entries) await journal.append(entry);
  await journal.close();
  return dir;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "rxtrade-report-review-"));
  await storeWith("store", ENTRIES);
});
afterEach(() => {
  setConfig({ CC_STORE_TIMEOUT_SECONDS: 30 });
  for (const fifo of fifos.splice(0)) {
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // no reader waiting
    }
  }
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe("rxtrade report: where the report goes (hole 2)", () => {
  it("by default to ./dump/report, leaving the live run's ./dump/live report as it was, and says so", async () => {
    const live = join(work, "dump", "live", `${SYMBOL}_momentum.md`);
    await mkdir(join(work, "dump", "live"), { recursive: true });
    await writeFile(live, "# the live run's report\n");
    const exit = await report(["--store", "store"]);
    expect(exit).toMatchObject({ code: 0, stderr: "" });
    expect(exit.stdout.trimEnd().split("\n").at(-1)).toBe(`Report: dump/report/${SYMBOL}_momentum.md`);
    expect(await readFile(live, "utf8")).toBe("# the live run's report\n");
    expect(await readFile(join(work, "dump", "report", `${SYMBOL}_momentum.md`), "utf8")).toContain("# Live Trading Report: momentum");
  });
});

describe("rxtrade report: signals that ended unrecorded (hole 3)", () => {
  it("--json lists them in endedUnrecorded; the Markdown report in its own section; the text in a note", async () => {
    const json = await report(["--store", "store", "--symbol", SYMBOL, "--strategy", "momentum", "--json"]);
    expect(json.code).toBe(0);
    const stats = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(stats).toMatchObject({ totalClosed: 1, totalPnl: 1.8 });
    expect(stats.endedUnrecorded).toEqual([{ signalId: "sig-B", status: "opened", since: T0 + 1_200_000 }]);

    const text = await report(["--store", "store", "--report-dir", "ended"]);
    expect(text.stdout).toContain("note: signal sig-B (opened since 2023-03-01 00:20) ended unrecorded");
    const markdown = await readFile(join(work, "ended", `${SYMBOL}_momentum.md`), "utf8");
    expect(markdown).toContain("## Ended unrecorded");
    expect(markdown).toContain("| sig-B | OPENED | 2023-03-01T00:20:00.000Z |");
  });
});

describe("rxtrade report: a journal that hangs (hole 1)", () => {
  it("a FIFO in place of a journal file: exit 2 at once, naming it, without opening it (a thread blocked in open() would keep the process from exiting)", async () => {
    const store = await storeWith("fifo", ENTRIES.slice(0, 1));
    const [file] = (await fileJournal(store).segmentsOf(KEY)) as [string];
    await unlink(file);
    execFileSync("mkfifo", [file]);
    fifos.push(file);
    const exit = await settles(report(["--store", "fifo"]), 1000);
    expect(exit).toMatchObject({ code: 2, stdout: "" });
    expect(exit.stderr.split("\n")[0]).toBe(
      `rxtrade report: fifo/journal/${file.split("/").at(-1)} is a FIFO, not a journal file; rxtrade does not open it (a FIFO would block the read for good): move it out of fifo/journal`,
    );
  });

  it("boundedKeys, which rxtrade report lists a journal's keys with: a keys() that hangs is a JournalError once CC_STORE_TIMEOUT_SECONDS has passed (exit 1 in the command)", async () => {
    // A stalled mount cannot be made here: the bound is shown on a journal whose keys() never answers.
    const { boundedKeys } = await import("../src/live/journalRead");
    setConfig({ CC_STORE_TIMEOUT_SECONDS: 0.2 });
    const hanging = { append: () => undefined, read: async function* () {}, keys: () => new Promise<string[]>(() => {}) };
    await expect(settles(boundedKeys(hanging))).rejects.toThrow(
      "rxtrade: journal.keys() did not answer within CC_STORE_TIMEOUT_SECONDS (0.2 s): the journal hangs (a read that never settles, a FIFO or a stalled mount in place of a file)",
    );
  });
});

describe("rxtrade report: cosmetics (hole 5)", () => {
  it.each([
    ["2023-02-30", "2023-02 has 28 days"],
    ["2023-02-29T12:00Z", "2023-02 has 28 days"],
    ["2023-04-31", "2023-04 has 30 days"],
    ["2023-13-01", "there is no month 13"],
    ["2023-03-08T24:00Z", "24:00:00 is not a time of day"],
  ])("--since %s: exit 2, an impossible date with the value and the format", async (since, why) => {
    const exit = await report(["--store", "store", "--since", since]);
    expect(exit.code).toBe(2);
    expect(exit.stderr).toContain(`rxtrade report: --since "${since}" is not a date: ${why}; give ISO 8601 in UTC, e.g. --since 2023-03-08T12:00Z (YYYY-MM-DD[THH:MM[:SS]][Z|±HH:MM])`);
  });

  it("--since 2024-02-29 (a leap day) and an offset are dates", async () => {
    expect((await report(["--store", "store", "--since", "2024-02-29", "--json"])).code).toBe(0);
    const exit = await report(["--store", "store", "--since", "2023-03-01T01:10+01:00", "--json", "--symbol", SYMBOL, "--strategy", "momentum"]);
    expect(JSON.parse(exit.stdout)).toMatchObject({ totalClosed: 1 }); // 00:10 UTC: the close at 00:10 counts, its open at 00:01 not
  });

  it("a journal folder of files that are not journals: exit 2, the file and what was wrong", async () => {
    const dir = join(work, "garbage", "journal");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "BTCUSDT_momentum-0123456789abcdef.000001.jsonl"), "hello\nworld\n");
    const exit = await report(["--store", "garbage"]);
    expect(exit).toMatchObject({ code: 2, stdout: "" });
    expect(exit.stderr.split("\n")[0]).toBe(
      "rxtrade report: garbage/journal/BTCUSDT_momentum-0123456789abcdef.000001.jsonl is not a journal file: " +
        'line 1: not JSON (a line torn by a kill, then appended after): "hello" (and 1 more lines skipped). ' +
        "The journal folder holds what rxtrade live and rxtrade demo write (<symbol>_<strategy>-<hash>.000001.jsonl); move other files out of it",
    );
  });

  it("skipped lines: one warning per file with the count and the first line, not one per line", async () => {
    const store = await storeWith("damaged", ENTRIES);
    const [file] = (await fileJournal(store).segmentsOf(KEY)) as [string];
    const lines = (await readFile(file, "utf8")).split("\n");
    lines.splice(2, 0, "garbage one", "garbage two", "garbage three");
    await writeFile(file, lines.join("\n"));
    const exit = await report(["--store", "damaged", "--json"]);
    expect(exit.code).toBe(0);
    expect(exit.stderr.trimEnd().split("\n")).toEqual([
      `warning: journal damaged/journal/${file.split("/").at(-1)}: 3 lines skipped, the first at line 3: not JSON (a line torn by a kill, then appended after): "garbage one"`,
    ]);
  });
});
