// Issue 11, the last holes of its review (item 1 ii): the entries a failing journal keeps in
// memory died with a process killed meanwhile, and nothing said so — `rxtrade report` showed a
// ledger silently missing trades. Now `fileJournal` writes a marker (`<journal>/<file>.failing`,
// else in the OS temp folder) at the first change of position it cannot append, removed once
// the run's stop entry is appended; a later start that finds it appends a `gap` entry (reason
// `unrecorded`, from the first failed append to that start) before its start entry, and
// `rxtrade report` says "ledger incomplete between X and Y" (its notes, the Markdown report, and
// `ledgerIncomplete` in --json). And the entries a run's end saved in the OS temp folder (its
// journal folder not writable) are found and appended by the next start.
//
// The journal fails here the way a full disk's would, for its next segment: `maxBytes` is small
// and a folder stands where that segment would be created (refused, not opened).
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, rmdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type JournalEntry, type JournalRun, type JournalTrade, memoryJournal } from "../src";
import { momentumStrategy } from "../examples/strategies/momentum";
import { appendSaved, saveUnappended } from "../src/cli/session";
import { minute } from "../src/cli/format";
import { main } from "../src/cli/main";
import { Terminal } from "../src/cli/terminal";
import { BUNDLED_BTCUSDT_1M, csvCandles, fileJournal, runBacktest } from "../src/node";

const KEY = "BTCUSDT:momentum";
let work: string;
let trades: JournalTrade[];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "rxtrade-holes11-journal-"));
  // Real trade results of the demo's strategy (opened, closed, opened, closed, …).
  const candles = await csvCandles(BUNDLED_BTCUSDT_1M);
  const result = await runBacktest("BTCUSDT", momentumStrategy(), { candles, from: Date.parse("2023-03-08T12:00Z"), to: Date.parse("2023-03-09T00:00Z") });
  trades = result.trades.map((r) => ({ kind: "trade", key: KEY, at: r.timestamp, result: r }));
  expect(trades.length).toBeGreaterThanOrEqual(4);
}, 30_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const run = (event: "start" | "stop", at: number): JournalRun => ({
  kind: "run",
  key: KEY,
  at,
  event,
  symbol: "BTCUSDT",
  strategyName: "momentum",
  exchangeName: "replay",
  level: "trades",
  tickMs: 60_001,
  ...(event === "stop" ? { reason: "stopped" as const } : {}),
});

/** A store folder whose journal's second segment cannot be created (a folder in its place): appends fail once the first is full. */
async function failingStore(name: string) {
  const store = join(work, name);
  const journal = fileJournal(store, { maxBytes: 1024 });
  // An earlier run, then this one's start: the first segment is nearly full (a trade entry does not fit).
  const at = (trades[0] as JournalTrade).at;
  for (const entry of [run("start", at - 180_000), run("stop", at - 120_000), run("start", at - 60_000)]) await journal.append(entry);
  const [first] = await journal.segmentsOf(KEY);
  const second = (first as string).replace(/\.000001\.jsonl$/, ".000002.jsonl");
  await mkdir(second);
  const marker = (first as string).replace(/\.000001\.jsonl$/, ".failing");
  return { store, journal, second, marker, unblock: () => rmdir(second) };
}

async function entriesOf(store: string): Promise<JournalEntry[]> {
  const out: JournalEntry[] = [];
  for await (const entry of fileJournal(store).read(KEY)) out.push(entry);
  return out;
}

async function rxtrade(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(args, new Terminal({ write: (text: string) => (out += text) }, { write: (text: string) => (err += text) }));
  return { code, out, err };
}

describe("a process killed while its journal fails", () => {
  it("leaves a marker; the next start appends a gap entry (unrecorded) before its start; rxtrade report says the ledger is incomplete there", async () => {
    const { store, journal, marker, unblock } = await failingStore("killed");
    const [opened, closed, reopened, reclosed] = trades as [JournalTrade, JournalTrade, JournalTrade, JournalTrade];
    // The first change of position cannot be appended (nor the next): the marker says since when.
    await expect(journal.append(opened)).rejects.toThrow();
    await expect(journal.append(opened)).rejects.toThrow(); // a retry: still failing
    expect(JSON.parse(await readFile(marker, "utf8"))).toMatchObject({ key: KEY, since: opened.at, first: `trade opened ${opened.result.signal.id}` });
    // The process dies here (kill -9): its kept entries (opened, closed) with it. The disk is freed.
    await unblock();
    const restart = closed.at + 3_600_000;
    const next = fileJournal(store, { maxBytes: 1024 });
    await next.append(run("start", restart));
    await next.append(reopened);
    await next.append(reclosed);
    await next.append(run("stop", reclosed.at + 60_000));
    expect(existsSync(marker)).toBe(false); // used up

    const kinds = (await entriesOf(store)).map((entry) => (entry.kind === "run" ? `run ${entry.event}` : entry.kind === "trade" ? `trade ${entry.result.action}` : entry.kind));
    expect(kinds).toEqual(["run start", "run stop", "run start", "gap", "run start", "trade opened", "trade closed", "run stop"]);
    const gap = (await entriesOf(store)).find((entry) => entry.kind === "gap");
    expect(gap).toEqual({ kind: "gap", key: KEY, at: restart, from: opened.at, to: restart, ticks: 0, reason: "unrecorded" });

    const reports = join(work, "reports-killed");
    const shown = await rxtrade(["report", "--store", store, "--report-dir", reports]);
    expect(shown.code, shown.err).toBe(0);
    expect(shown.out).toContain(`  note: ledger incomplete between ${minute(opened.at)} and ${minute(restart)} UTC: the journal was failing when its run ended without a stop entry (killed?)`);
    const markdown = await readFile(join(reports, "BTCUSDT_momentum.md"), "utf8");
    expect(markdown).toContain(`> **Ledger incomplete between ${minute(opened.at)} and ${minute(restart)} UTC:**`);
    const json = await rxtrade(["report", "--store", store, "--symbol", "BTCUSDT", "--strategy", "momentum", "--json"]);
    expect(JSON.parse(json.out).ledgerIncomplete).toEqual([{ from: opened.at, to: restart }]);
  });

  it("leaves no marker and no gap when the journal recovers and the run's stop entry is appended", async () => {
    const { store, journal, marker, unblock } = await failingStore("recovered");
    const [opened, closed] = trades as [JournalTrade, JournalTrade];
    await expect(journal.append(opened)).rejects.toThrow();
    expect(existsSync(marker)).toBe(true);
    await unblock();
    await journal.append(opened); // the retry lands, then the rest, in order
    await journal.append(closed);
    await journal.append(run("stop", closed.at + 60_000));
    expect(existsSync(marker)).toBe(false);
    const next = fileJournal(store, { maxBytes: 1024 });
    await next.append(run("start", closed.at + 3_600_000));
    expect((await entriesOf(store)).filter((entry) => entry.kind === "gap")).toEqual([]);
    const shown = await rxtrade(["report", "--store", store, "--report-dir", join(work, "reports-recovered")]);
    expect(shown.out).not.toContain("ledger incomplete");
  });
});

describe("entries a run's end saved in the OS temp folder (its journal folder not writable)", () => {
  it("are found there and appended by the next start, once", async () => {
    // A journal "folder" that is a file: nothing can be written in it (as a full or read-only disk).
    const journalDir = join(work, "not-a-folder");
    await writeFile(journalDir, "");
    const entries: JournalEntry[] = [trades[0]!, trades[1]!, run("stop", trades[1]!.at + 60_000)];
    const saved = saveUnappended(journalDir, KEY, entries);
    expect(saved?.startsWith(tmpdir())).toBe(true);
    const journal = memoryJournal();
    let said = "";
    const terminal = new Terminal({ write: () => undefined }, { write: (text: string) => (said += text) });
    await appendSaved(journal, journalDir, KEY, terminal);
    const appended: JournalEntry[] = [];
    for await (const entry of journal.read(KEY)) appended.push(entry);
    expect(appended).toEqual(entries);
    expect(said).toContain(`the 3 journal entries an earlier run could not append (`);
    expect(existsSync(saved as string)).toBe(false);
    expect(existsSync(`${saved}.done`)).toBe(true);
    // Once: the next start finds nothing more to append.
    await appendSaved(journal, journalDir, KEY, terminal);
    let count = 0;
    for await (const _ of journal.read(KEY)) count++;
    expect(count).toBe(3);
    await rm(`${saved}.done`, { force: true });
  });
});
