// Follow-ups to issue 11's fixes, in this process (each failed before them):
// 1. a FIFO (or anything not a regular file) in place of a fileJournal segment: append, read,
//    tail and keys reject at once with a JournalError naming it (a read used to block a thread
//    in open() for good, which kept even process.exit from ending the process); a demo whose
//    journal is a FIFO ends (its end's retries of the journal are bounded in real time too);
//    fileJournal's default warnings are one per file, with the count and the first line;
// 2. the statistics a live/demo run ends with list the signals that ended unrecorded, so its
//    Markdown report has them under "Ended unrecorded";
// 3. rxtrade backtest without --to does not say "(--to)": its stop is the end of the data;
// 4. rxtrade demo --from and rxtrade run --from refuse an impossible date (2023-02-30), as the
//    backtest does, instead of rolling it over to March 2.
import { execFileSync } from "node:child_process";
import { closeSync, constants, existsSync, openSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type EndedUnrecorded, type JournalEntry, JournalError, setConfig, setLogger, type TickResult } from "rxtrade";
import { fileJournal, type JournalWarning } from "rxtrade/node";
import { main } from "../src/cli/main";
import { finish } from "../src/cli/session";
import { Terminal } from "../src/cli/terminal";

const SYMBOL = "BTCUSDT";
const KEY = `${SYMBOL}:momentum`;
const T0 = Date.parse("2023-03-01T00:00Z");
let work: string;
let made = 0;
const fifos: string[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "rxtrade-followups11-"));
});
afterEach(() => {
  setConfig({ CC_STORE_TIMEOUT_SECONDS: 30 });
  setLogger({ warn: () => {}, error: () => {} });
  // A reader still blocked opening a FIFO (the code before the fix) is let go: it reads its end.
  for (const fifo of fifos.splice(0)) {
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // no reader waiting
    }
  }
});
afterAll(() => rm(work, { recursive: true, force: true }));

const freshDir = (): string => join(work, `store-${++made}`);

function mkfifo(path: string): string {
  execFileSync("mkfifo", [path]);
  fifos.push(path);
  return path;
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

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return settles(promise.then(
    () => new Error("it resolved"),
    (error: unknown) => error,
  ));
}

async function all<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const value of iterable) out.push(value);
  return out;
}

/** Runs `rxtrade <args>` in this process, in `cwd`; the exit code and what went to stdout and stderr. */
async function rxtrade(args: string[], cwd = work): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const before = process.cwd();
  process.chdir(cwd);
  try {
    const code = await main(args, new Terminal({ write: (text: string) => (stdout += text) }, { write: (text: string) => (stderr += text) }));
    return { code, stdout, stderr };
  } finally {
    process.chdir(before);
  }
}

const run = (at: number) =>
  ({ kind: "run", key: KEY, at, event: "start", symbol: SYMBOL, strategyName: "momentum", exchangeName: "x", level: "trades", tickMs: 60_001 }) as const;
const signal = (id: string, at: number) => ({
  id, position: "long" as const, priceOpen: 100, priceTakeProfit: 102, priceStopLoss: 98, minuteEstimatedTime: 60, note: "",
  symbol: SYMBOL, strategyName: "momentum", exchangeName: "x", scheduledAt: at, pendingAt: at,
});
const base = { symbol: SYMBOL, strategyName: "momentum", exchangeName: "x", backtest: false as const };
const trade = (result: TickResult) => ({ kind: "trade", key: KEY, at: result.timestamp, result }) as JournalEntry;

describe("fileJournal: a segment that is not a regular file (item 1)", () => {
  it("a FIFO in place of the segment: append, read, tail and keys reject at once with a JournalError naming it and the fix", async () => {
    const dir = freshDir();
    const journal = fileJournal(dir);
    await journal.append(run(T0)); // makes the folder and the key's first segment
    await journal.close();
    const [segment] = await journal.segmentsOf(KEY);
    await rm(segment as string);
    mkfifo(segment as string);

    const appended = await rejection(Promise.resolve(journal.append(run(T0 + 60_000))));
    expect(appended).toBeInstanceOf(JournalError);
    expect(appended).toMatchObject({ key: KEY, operation: "append" });
    expect((appended as Error).message).toBe(
      `rxtrade: journal ${segment} is a FIFO, not a regular file: nothing is appended to it (opening it could block the process for good); ` +
        `move it out of ${join(dir, "journal")} (the next append then writes to a file of its own)`,
    );

    const read = await rejection(all(fileJournal(dir).read(KEY)));
    expect(read).toBeInstanceOf(JournalError);
    expect(read).toMatchObject({ key: KEY, operation: "read" });
    expect((read as Error).message).toBe(
      `rxtrade: journal ${segment} is a FIFO, not a regular file: it is not read (opening it could block the process for good); move it out of ${join(dir, "journal")}`,
    );
    expect(await rejection(fileJournal(dir).tail(KEY))).toMatchObject({ name: "JournalError", operation: "read", key: KEY });
    expect(await rejection(fileJournal(dir).keys())).toMatchObject({ name: "JournalError", operation: "read" });
  });

  it("a FIFO as a later segment: the earlier ones are read, then the read rejects; a folder is refused as such", async () => {
    const dir = freshDir();
    const journal = fileJournal(dir);
    await journal.append(run(T0));
    await journal.close();
    const [first] = await journal.segmentsOf(KEY);
    const second = mkfifo((first as string).replace(".000001.", ".000002."));
    const seen: JournalEntry[] = [];
    const error = await rejection(
      (async () => {
        for await (const entry of fileJournal(dir).read(KEY)) seen.push(entry);
      })(),
    );
    expect(seen).toEqual([run(T0)]);
    expect((error as Error).message).toContain(`journal ${second} is a FIFO, not a regular file: it is not read`);

    const other = freshDir();
    const folder = fileJournal(other);
    await folder.append(run(T0));
    await folder.close();
    const [segment] = await folder.segmentsOf(KEY);
    await rm(segment as string);
    await mkdir(segment as string);
    expect(await rejection(all(folder.read(KEY)))).toMatchObject({ name: "JournalError", message: expect.stringContaining(`journal ${segment} is a folder, not a regular file`) });
  });

  it("a demo whose journal file is a FIFO ends, in seconds (the journal refused at its start and its end's retries bounded in real time)", async () => {
    setConfig({ CC_STORE_TIMEOUT_SECONDS: 1 });
    const cwd = freshDir();
    await mkdir(join(cwd, ".rxtrade-demo", "journal"), { recursive: true });
    const fifo = mkfifo(join(cwd, ".rxtrade-demo", "journal", "BTCUSDT_momentum-4106cc36fad9a2b2.000001.jsonl"));
    const started = performance.now();
    const exit = await settles(rxtrade(["demo", "--minutes", "5", "--speed", "20000"], cwd), 8000);
    expect(performance.now() - started).toBeLessThan(8000);
    expect(exit.code).toBe(0);
    expect(exit.stdout).toContain("Store: .rxtrade-demo — run the demo again to continue from 2023-03-01 02:05.");
    expect(exit.stderr).toContain(`journal ${fifo} is a FIFO, not a regular file: it is not read`);
    // The run's stop entry could not be appended either: handed over at the end.
    expect(exit.stderr).toMatch(/JournalError: rxtrade: the run of BTCUSDT:momentum ended with 1 journal entry not appended \(run stop\)/);
  }, 15_000);
});

describe("fileJournal's default warnings (item 1)", () => {
  it("one per file and read, with the count and the first line, not one per line", async () => {
    const dir = freshDir();
    const journal = fileJournal(dir, { maxBytes: 1024 });
    await journal.append(run(T0));
    const [segment] = await journal.segmentsOf(KEY);
    await writeFile(segment as string, `${JSON.stringify(run(T0))}\nbroken 1\nbroken 2\nbroken 3\n${JSON.stringify(run(T0 + 60_000))}\n`);
    await journal.close();
    const logged: string[] = [];
    setLogger({ warn: (...args: unknown[]) => void logged.push(args.join(" ")), error: () => {} });
    const reader = fileJournal(dir);
    expect(await all(reader.read(KEY))).toEqual([run(T0), run(T0 + 60_000)]);
    expect(logged).toEqual([`rxtrade: journal ${segment}: 3 lines skipped; the first: ${segment}:2: not JSON (a line torn by a kill, then appended after): skipped (1 skipped in this read): "broken 1"`]);

    logged.length = 0;
    expect(await reader.tail(KEY)).toEqual({ lastRun: run(T0 + 60_000) });
    expect(logged).toHaveLength(1);
    logged.length = 0;
    expect(await reader.keys()).toEqual([KEY]);
    expect(logged).toEqual([]); // its first line is an entry of the key: keys() reads no further

    // onWarning, when given, is still told of every line.
    const told: JournalWarning[] = [];
    await all(fileJournal(dir, { onWarning: (warning) => told.push(warning) }).read(KEY));
    expect(told.map((warning) => [warning.line, warning.skipped])).toEqual([
      [2, 1],
      [3, 2],
      [4, 3],
    ]);
    expect(logged).toEqual([]);
  });
});

describe("the statistics a live/demo run ends with (item 2)", () => {
  it("list the signals that ended unrecorded, so the Markdown report has them under 'Ended unrecorded'", async () => {
    const storeDir = freshDir();
    const journal = fileJournal(storeDir);
    const ended: EndedUnrecorded[] = [{ signalId: "sig-B", status: "opened", since: T0 + 1_200_000 }];
    const entries: JournalEntry[] = [
      run(T0),
      trade({ ...base, action: "opened", currentPrice: 100, timestamp: T0 + 60_000, signal: signal("sig-A", T0 + 60_000) }),
      trade({
        ...base, action: "closed", currentPrice: 102, timestamp: T0 + 600_000, signal: signal("sig-A", T0 + 60_000),
        closeReason: "take_profit", closeTimestamp: T0 + 600_000, pnl: { pnlPercentage: 1.8, priceOpen: 100, priceClose: 102 },
      }),
      trade({ ...base, action: "opened", currentPrice: 100, timestamp: T0 + 1_200_000, signal: signal("sig-B", T0 + 1_200_000) }),
      { ...run(T0 + 3_600_000), recovery: { unfinishedRun: true, endedSignal: ended[0] } } as JournalEntry,
    ];
    for (const entry of entries) await journal.append(entry);
    await journal.close();

    let stdout = "";
    const terminal = new Terminal({ write: (text: string) => (stdout += text) }, { write: () => true });
    const reportDir = join(storeDir, "reports");
    const none = { totalClosed: 0 } as never; // this run traded nothing: the history is what is reported
    const file = await finish(terminal, { stats: none, trades: [] }, SYMBOL, "momentum", reportDir, storeDir);
    expect(file).toBe(join(reportDir, "BTCUSDT_momentum.md"));
    const report = await readFile(file, "utf8");
    expect(report).toContain("**Closed signals:** 1");
    expect(report).toContain("## Ended unrecorded");
    expect(report).toContain("| sig-B | OPENED | 2023-03-01T00:20:00.000Z |");
    expect(stdout).toContain("note: signal sig-B (opened since 2023-03-01 00:20) ended unrecorded");
  });
});

describe("rxtrade backtest without --to (item 3)", () => {
  it("says it stopped at the end of the data, not '(--to)'; with --to, '(--to)' as before", async () => {
    const without = await rxtrade(["backtest", "--strategy", "momentum", "--from", "2023-03-21T20:00Z", "--report-dir", join(work, "bt")]);
    expect(without.code).toBe(0);
    expect(without.stdout).toContain("\nStopped gracefully at 2023-03-22 00:00 (the end of the data).\n");
    expect(without.stdout).not.toContain("--to");

    const given = await rxtrade(["backtest", "--strategy", "momentum", "--from", "2023-03-21T20:00Z", "--to", "2023-03-21T22:00Z", "--report-dir", join(work, "bt")]);
    expect(given.code).toBe(0);
    expect(given.stdout).toContain("\nStopped gracefully at 2023-03-21 22:00 (--to).\n");
  });

  it("a signal open at the end of the data: 'the end of the data reached', and the data end while it is open", async () => {
    const strategy = join(work, "always-long.mjs");
    await writeFile(
      strategy,
      `export default { strategyName: "always-long", interval: "1m", getSignal: (_s, _w, { currentPrice }) => ({ position: "long", priceTakeProfit: currentPrice * 1.05, priceStopLoss: currentPrice * 0.95, minuteEstimatedTime: 600 }) };\n`,
    );
    const exit = await rxtrade(["backtest", "--strategy", strategy, "--from", "2023-03-21T23:00Z", "--report-dir", join(work, "bt")]);
    expect(exit.code).toBe(0);
    expect(exit.stdout).toMatch(/^2023-03-22 00:00 {2}the end of the data reached: graceful stop, no new signals; signal \S+ \(long @ [\d.]+\) runs to its close$/m);
    expect(exit.stdout).toMatch(/\nThe data end at 2023-03-21 23:59 \(their last candle\) while signal \S+ \(long @ [\d.]+\) is still open: .*\. Give an earlier --to, or data that go further, for it to close\.\n/);
    expect(exit.stdout).not.toContain("--to reached");
  });
});

describe("impossible dates in the other commands' time flags (item 4)", () => {
  it.each([
    [["demo", "--from", "2023-02-30"], 'rxtrade demo: --from "2023-02-30" is not a time: February 2023 has 28 days, not 30; give ISO 8601 in UTC (YYYY-MM-DDTHH:MMZ), e.g. --from 2023-03-08T12:00Z'],
    [["demo", "--from", "2023-03-08T24:00Z"], 'rxtrade demo: --from "2023-03-08T24:00Z" is not a time: there is no hour 24 (00 to 23); give ISO 8601 in UTC (YYYY-MM-DDTHH:MMZ), e.g. --from 2023-03-08T12:00Z'],
    [["demo", "--from", "yesterday"], 'rxtrade demo: --from "yesterday" is not a time; give ISO 8601 in UTC, e.g. --from 2023-03-08T12:00Z'],
    [["run", "rxtrade.json", "--speed", "600", "--from", "2023-04-31T00:00Z"], 'rxtrade run: --from "2023-04-31T00:00Z" is not a time: April 2023 has 30 days, not 31; give ISO 8601 in UTC (YYYY-MM-DDTHH:MMZ), e.g. --from 2023-03-08T12:00Z'],
  ])("rxtrade %j exits 2: %s", async (args, message) => {
    const cwd = freshDir();
    await mkdir(cwd, { recursive: true });
    const exit = await rxtrade(args, cwd);
    expect(exit.code).toBe(2);
    expect(exit.stdout).toBe("");
    expect(exit.stderr.split("\n")[0]).toBe(message);
    // Refused before anything ran: no store, no report.
    expect(existsSync(join(cwd, ".rxtrade-demo"))).toBe(false);
  });

  it("the dates that exist still work: a leap day, a date alone, an offset", async () => {
    const { parseTimeFlag } = await import("../src/cli/timeFlag");
    expect(parseTimeFlag("demo", "from", "2024-02-29T00:00Z")).toBe(Date.parse("2024-02-29T00:00:00Z"));
    expect(parseTimeFlag("demo", "from", "2023-03-08")).toBe(Date.parse("2023-03-08T00:00:00Z"));
    expect(parseTimeFlag("run", "from", "2023-03-08 12:00")).toBe(Date.parse("2023-03-08T12:00:00Z"));
    expect(parseTimeFlag("run", "from", "2023-03-08T14:00+02:00")).toBe(Date.parse("2023-03-08T12:00:00Z"));
    expect(parseTimeFlag("demo", "from", "1678276800000")).toBe(1_678_276_800_000);
  });
});
