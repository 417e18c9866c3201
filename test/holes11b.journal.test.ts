// Issue 11, re-review 11c of the journal's durability: a torn saved file blocked the complete
// copy (entries never appended), a graceful run's saved entries appended later still left a
// zero-length "unrecorded" gap, and the temp folder's names hung on the store's path as given
// (a symbolic link lost the marker). Each test failed on db28dfb.
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, rmdir, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type JournalEntry, type JournalRun, type JournalTrade, memoryJournal } from "../src";
import { appendSaved, saveUnappended } from "../src/cli/session";
import { Terminal } from "../src/cli/terminal";
import { markerPaths, tempName } from "../src/node/journalFailing";
import { fileJournal } from "../src/node";

const KEY = "BTCUSDT:holes11b";
const T0 = Date.parse("2023-03-08T12:00Z");
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "rxtrade-holes11b-journal-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const run = (event: "start" | "stop", at: number): JournalRun => ({
  kind: "run",
  key: KEY,
  at,
  event,
  symbol: "BTCUSDT",
  strategyName: "holes11b",
  exchangeName: "replay",
  level: "trades",
  tickMs: 60_001,
  ...(event === "stop" ? { reason: "stopped" as const } : {}),
});

/** A trade entry (its result as the journal keeps it; only its shape matters here). */
const trade = (action: "opened" | "closed", id: string, at: number): JournalTrade =>
  ({ kind: "trade", key: KEY, at, result: { action, timestamp: at, symbol: "BTCUSDT", strategyName: "holes11b", signal: { id, position: "long", priceOpen: 100, priceTakeProfit: 110, priceStopLoss: 90, minuteEstimatedTime: 60, timestamp: at, symbol: "BTCUSDT", strategyName: "holes11b", exchangeName: "replay" }, currentPrice: 100 } }) as unknown as JournalTrade;

const saidTo = () => {
  const said = { text: "" };
  return { said, terminal: new Terminal({ write: () => undefined }, { write: (text: string) => (said.text += text) }) };
};

async function appended(journal: ReturnType<typeof memoryJournal>): Promise<JournalEntry[]> {
  const out: JournalEntry[] = [];
  for await (const entry of journal.read(KEY)) out.push(entry);
  return out;
}

const entries: JournalEntry[] = [run("start", T0), trade("opened", "a1", T0 + 60_000), trade("closed", "a1", T0 + 120_000), run("stop", T0 + 180_000)];
const content = entries.map((entry) => JSON.stringify(entry)).join("\n") + "\n";
const name = (time: string) => `BTCUSDT_holes11b.unappended-${time}.jsonl`;

describe("saved unappended entries", () => {

  it("a torn copy in the journal's folder (a full disk cut it mid-line) does not block the complete copy in the OS temp folder", async () => {
    const journalDir = join(work, "torn-and-whole");
    await mkdir(journalDir);
    const torn = join(journalDir, name("2026-12-02T161033248Z"));
    const whole = join(tmpdir(), tempName(journalDir, name("2026-12-02T161033248Z")));
    await writeFile(torn, content.slice(0, content.indexOf("\n", content.indexOf("\n") + 1) + 30)); // two lines and a torn third
    await writeFile(whole, content);
    const journal = memoryJournal();
    const { said, terminal } = saidTo();
    await appendSaved(journal, journalDir, KEY, terminal);
    expect(await appended(journal)).toEqual(entries);
    expect(said.text).not.toContain("could not be appended");
    expect(said.text).toContain("the 4 journal entries an earlier run could not append");
    // Both copies set aside: the next start appends nothing again.
    expect(existsSync(torn) || existsSync(whole)).toBe(false);
    await appendSaved(journal, journalDir, KEY, terminal);
    expect((await appended(journal)).length).toBe(4);
    await rm(`${whole}.done`, { force: true });
  });

  it("a single torn file: its whole lines are appended, the torn last line skipped and counted; the next file is appended too", async () => {
    const journalDir = join(work, "torn-only");
    await mkdir(journalDir);
    await writeFile(join(journalDir, name("2026-12-02T100000000Z")), content.slice(0, content.lastIndexOf("\n", content.length - 2) + 20));
    const later = [run("start", T0 + 3_600_000), run("stop", T0 + 3_660_000)];
    await writeFile(join(journalDir, name("2026-12-02T110000000Z")), later.map((entry) => JSON.stringify(entry)).join("\n") + "\n");
    const journal = memoryJournal();
    const { said, terminal } = saidTo();
    await appendSaved(journal, journalDir, KEY, terminal);
    expect(await appended(journal)).toEqual([...entries.slice(0, 3), ...later]);
    expect(said.text).toContain("the 3 journal entries an earlier run could not append");
    expect(said.text).toContain("1 torn line of that file");
    expect(said.text).toContain("the 2 journal entries an earlier run could not append");
  });

  it("an empty saved file is removed quietly (not '0 journal entries … are now in the journal')", async () => {
    const journalDir = join(work, "empty");
    await mkdir(journalDir);
    const empty = join(journalDir, name("2026-12-02T120000000Z"));
    await writeFile(empty, "");
    const { said, terminal } = saidTo();
    await appendSaved(memoryJournal(), journalDir, KEY, terminal);
    expect(said.text).toBe("");
    expect(await readdir(journalDir)).toEqual([]);
  });

  it("saveUnappended leaves no partial file and writes the whole content", async () => {
    const journalDir = join(work, "save");
    await mkdir(journalDir);
    const saved = saveUnappended(journalDir, KEY, entries) as string;
    expect(saved.startsWith(journalDir)).toBe(true);
    expect(await readFile(saved, "utf8")).toBe(content);
    expect((await readdir(journalDir)).filter((file) => file.endsWith(".partial"))).toEqual([]);
    expect((await stat(saved)).mode & 0o777).toBe(0o600);
  });
});

describe("a graceful run whose entries were all saved and appended by the next start", () => {
  it("leaves no gap (no zero-length 'unrecorded' gap from the recovered start entry)", async () => {
    const store = join(work, "graceful");
    const journal = fileJournal(store, { maxBytes: 1024 });
    // Earlier runs fill the first segment nearly full: this run's start does not fit.
    let at = T0 - 10 * 3_600_000;
    const startLine = JSON.stringify(run("start", T0)).length + 1;
    let size = 0;
    let first = "";
    for (let i = 0; size + startLine <= 1024; i++) {
      await journal.append(run(i % 2 === 0 ? "start" : "stop", (at += 60_000)));
      first = (await journal.segmentsOf(KEY))[0] as string;
      size = (await stat(first)).size;
    }
    const second = first.replace(/\.000001\.jsonl$/, ".000002.jsonl");
    await mkdir(second); // the next segment cannot be created: appends fail as on a full disk
    // This run: its start fails first (the marker's since is the start's at), so do its trades and stop.
    for (const entry of entries) await expect(journal.append(entry)).rejects.toThrow();
    const marker = first.replace(/\.000001\.jsonl$/, ".failing");
    expect(JSON.parse(await readFile(marker, "utf8"))).toMatchObject({ since: T0, first: "run start" });
    await rmdir(second);
    // The next start: the saved entries (start to stop) appended, then its own start.
    const next = fileJournal(store, { maxBytes: 1024 });
    const journalDir = next.dir;
    await writeFile(join(journalDir, name("2026-12-02T161033248Z")), content);
    const { terminal } = saidTo();
    await appendSaved(next, journalDir, KEY, terminal);
    await next.append(run("start", T0 + 3_600_000));
    const all: JournalEntry[] = [];
    for await (const entry of fileJournal(store).read(KEY)) all.push(entry);
    expect(all.filter((entry) => entry.kind === "gap")).toEqual([]);
    expect(all.filter((entry) => entry.kind === "trade").length).toBe(2);
    expect(existsSync(marker)).toBe(false);
    for (const path of markerPaths(journalDir, "x")) expect(existsSync(path)).toBe(false);
  });
});

describe("a marker torn by a kill mid-write (its since lost)", () => {
  it("gives a gap from the last entry recorded to the start, not one of no length", async () => {
    const store = join(work, "torn-marker");
    const journal = fileJournal(store);
    await journal.append(run("start", T0));
    await journal.append(trade("opened", "b1", T0 + 60_000));
    const [first] = await journal.segmentsOf(KEY);
    await writeFile((first as string).replace(/\.000001\.jsonl$/, ".failing"), '{"key":"BTCUSDT:hol'); // torn
    const next = fileJournal(store);
    const restart = T0 + 3_600_000;
    await next.append(run("start", restart));
    const gaps: JournalEntry[] = [];
    for await (const entry of fileJournal(store).read(KEY)) if (entry.kind === "gap") gaps.push(entry);
    expect(gaps).toEqual([{ kind: "gap", key: KEY, at: restart, from: T0 + 60_000, to: restart, ticks: 0, reason: "unrecorded" }]);
  });
});

describe("the OS temp folder's names of a store", () => {
  it("are the same through a symbolic link to the store as through its real path", async () => {
    const real = join(work, "real-store", "journal");
    await mkdir(real, { recursive: true });
    const link = join(work, "linked-store");
    await symlink(join(work, "real-store"), link);
    expect(tempName(join(link, "journal"), "BTCUSDT_x.failing")).toBe(tempName(real, "BTCUSDT_x.failing"));
    expect(markerPaths(join(link, "journal"), "BTCUSDT_x")[1]).toBe(markerPaths(real, "BTCUSDT_x")[1]);
  });
});
