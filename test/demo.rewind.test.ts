// Review of issue 11 ("demo rewind duplicates the period in the journal"): `rxtrade demo
// --journal full`, killed with ticks journaled past its last store write, restarts at the tick
// after that write (the ticks in between run again, so a strategy's state and a write that did
// not land are rebuilt), and journaled those ticks a second time: two tick entries of one time
// for the key, a replay that went through the period twice. The restarted run's `start` entry
// now says `rewoundTo`: the earlier entries of ticks at or after it are superseded.
//
// The real command line runs a strategy that opens a long at each ten minutes (closed by time
// three minutes later) and, on its first run, hangs on its ask at 02:08: the ticks of 02:04 to
// 02:07 are journaled after the close's store write at 02:03 when the test kills it (SIGKILL).
import { existsSync } from "node:fs";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type JournalEntry, type JournalRun, type JournalTrade, memoryJournal } from "rxtrade";
import { fileJournal, runReplay } from "rxtrade/node";
import { rewindsJournal, rewoundJournal } from "../src/cli/demoRewind";
import { bundle, Child, run } from "./fixtures/processHarness";

const KEY = "BTCUSDT:rewind";
const ORIGIN = Date.UTC(2023, 2, 1, 2, 0); // --from 2023-03-01T02:00Z
const TICK_MS = 60_001;
const tick = (k: number) => ORIGIN + k * TICK_MS;

const strategySource = `import { existsSync, writeFileSync } from "node:fs";
const marker = process.env.RXTRADE_TEST_MARKER;
export const strategy = {
  strategyName: "rewind",
  interval: "1m",
  getSignal(_symbol, when, { currentPrice }) {
    if (marker !== undefined && !existsSync(marker) && when.getUTCHours() === 2 && when.getUTCMinutes() === 8) {
      writeFileSync(marker, "held\\n");
      return new Promise(() => {}); // the paced clock waits for it: killed here
    }
    if (when.getUTCMinutes() % 10 !== 0) return null;
    return { position: "long", priceTakeProfit: currentPrice * 1.05, priceStopLoss: currentPrice * 0.95, minuteEstimatedTime: 3 };
  },
};
`;

let cli: string[];
let work: string;

beforeAll(async () => {
  [cli, work] = await Promise.all([bundle("src/cli/index.ts"), mkdtemp(join(tmpdir(), "rxtrade-demo-rewind-"))]);
  await writeFile(join(work, "rewind.mjs"), strategySource);
}, 30_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
  if (cli !== undefined) await rm(dirname(cli[1] as string), { recursive: true, force: true });
});

/** The raw lines of the key's journal files, parsed, in order. */
async function rawEntries(store: string): Promise<JournalEntry[]> {
  const dir = join(store, "journal");
  const files = (await readdir(dir)).filter((name) => name.startsWith("BTCUSDT_rewind-")).sort();
  const entries: JournalEntry[] = [];
  for (const file of files) {
    for (const line of (await readFile(join(dir, file), "utf8")).split("\n")) if (line.trim() !== "") entries.push(JSON.parse(line) as JournalEntry);
  }
  return entries;
}

/** The tick entries a reader keeps: those not superseded by a later `start` entry's `rewoundTo` (README "Journal"). */
function currentTicks(entries: readonly JournalEntry[]): number[] {
  const ticks: Array<{ at: number; index: number }> = [];
  const rewinds: Array<{ to: number; index: number }> = [];
  entries.forEach((entry, index) => {
    if (entry.kind === "tick") ticks.push({ at: entry.at, index });
    const rewoundTo = entry.kind === "run" && entry.event === "start" ? entry.rewoundTo : undefined;
    if (rewoundTo !== undefined) rewinds.push({ to: rewoundTo, index });
  });
  return ticks.filter((t) => !rewinds.some((r) => r.index > t.index && t.at >= r.to)).map((t) => t.at);
}

async function waitForTick(store: string, at: number, child: Child, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (existsSync(join(store, "journal")) && (await rawEntries(store)).some((entry) => entry.kind === "tick" && entry.at === at)) return;
    if (Date.now() > deadline) throw new Error(`no tick entry at ${at} within ${timeoutMs} ms:\n${child.stdout}\n${child.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("rxtrade demo --journal full killed with ticks journaled past its last store write, then run on", () => {
  it("the restarted run's start entry supersedes the ticks it runs again: each tick time once, each trade once, a replay through the period once", async () => {
    const cwd = await mkdtemp(join(work, "kill-"));
    const store = join(cwd, "store");
    const marker = join(cwd, "held.marker");
    const flags = ["--strategy", join(work, "rewind.mjs"), "--speed", "100000", "--store", "store", "--journal", "full"];

    const first = new Child(cli, ["demo", ...flags, "--from", "2023-03-01T02:00Z", "--minutes", "30"], { cwd, env: { RXTRADE_TEST_MARKER: marker } });
    // Ticks 0..7 (02:00 to 02:07) journaled (fileJournal writes buffered ticks within 1 s); the ask at 02:08 hangs.
    await waitForTick(store, tick(7), first, 20_000);
    first.kill("SIGKILL");
    expect((await first.exited).signal).toBe("SIGKILL");
    const killed = await rawEntries(store);
    expect(killed.filter((entry) => entry.kind === "tick").map((entry) => entry.at)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map(tick));

    const second = await run(cli, ["demo", ...flags, "--minutes", "30"], { cwd, env: { RXTRADE_TEST_MARKER: marker }, timeoutMs: 30_000 });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain("replaying from 2023-03-01 02:04 (the tick after the last store write of the last run, which was killed)");

    const entries = await rawEntries(store);
    const starts = entries.filter((entry): entry is JournalRun => entry.kind === "run" && entry.event === "start");
    expect(starts.map((start) => [start.at, start.rewoundTo])).toEqual([
      [tick(0), undefined],
      [tick(4), tick(4)],
    ]);
    // The second run went on to 02:34 (30 minutes from 02:04): ticks 4..33 again from 02:04.
    const ticks = currentTicks(entries);
    expect(ticks).toEqual(Array.from({ length: 34 }, (_, k) => tick(k)));
    // Each trade once: a long opened at each ten minutes, closed three minutes later.
    const trades = entries.filter((entry): entry is JournalTrade => entry.kind === "trade").map(({ at, result }) => `${result.action}@${(at - ORIGIN) / TICK_MS}`);
    expect(trades).toEqual(["opened@0", "closed@3", "opened@10", "closed@13", "opened@20", "closed@23", "opened@30", "closed@33"]);

    // A replay goes through each tick once: the killed run's from 02:00 to 02:03, the second's from 02:04.
    const summary = await runReplay({ journal: fileJournal(store), key: KEY }, () => ({
      strategyName: "rewind",
      interval: "1m",
      getSignal: (_symbol: string, when: Date, { currentPrice }: { currentPrice: number }) =>
        when.getUTCMinutes() % 10 !== 0 ? null : { position: "long" as const, priceTakeProfit: currentPrice * 1.05, priceStopLoss: currentPrice * 0.95, minuteEstimatedTime: 3 },
    }));
    expect(summary.runs.map((r) => [r.run, r.ticks, r.from, r.to])).toEqual([
      [1, 4, tick(0), tick(3)],
      [2, 30, tick(4), summary.runs[1]?.to],
    ]);
    expect([summary.ticks, summary.identical, summary.trades]).toEqual([34, true, { recorded: 8, replayed: 8 }]);
  }, 60_000);
});

describe("the demo's rewind mark", () => {
  const start = (key: string, at: number): JournalRun => ({ kind: "run", key, at, event: "start", symbol: "BTCUSDT", strategyName: "rewind", exchangeName: "replay", level: "full", tickMs: TICK_MS });
  const stop = (at: number): JournalRun => ({ ...start(KEY, at), event: "stop", reason: "stopped" });

  it("is set when the last run was killed, stopped at or after the start, or the journal could not be read", () => {
    expect(rewindsJournal(undefined, tick(4))).toBe(false);
    expect(rewindsJournal({}, tick(4))).toBe(false);
    expect(rewindsJournal("unread", tick(4))).toBe(true);
    // Killed (its last run entry is its start): its ticks may be anywhere after it.
    expect(rewindsJournal({ lastRun: start(KEY, tick(0)) }, tick(4))).toBe(true);
    expect(rewindsJournal({ lastRun: start(KEY, tick(9)) }, tick(4))).toBe(true);
    // Stopped: only a start at or before its stop goes back over its ticks.
    expect(rewindsJournal({ lastRun: stop(tick(3)) }, tick(4))).toBe(false);
    expect(rewindsJournal({ lastRun: stop(tick(4)) }, tick(4))).toBe(true);
    expect(rewindsJournal({ lastRun: stop(tick(9)) }, tick(4))).toBe(true);
  });

  it("marks the key's start entry (and its retry), nothing else; every other call goes to the journal", async () => {
    const journal = memoryJournal();
    const marked = rewoundJournal(journal, KEY, tick(4));
    const first = start(KEY, tick(4));
    marked.append(start("ETHUSDT:rewind", tick(4)));
    marked.append(first);
    marked.append(first); // a retried append
    marked.append(stop(tick(5)));
    marked.append(start(KEY, tick(6))); // another run: not this one's start
    const read: JournalEntry[] = [];
    for await (const entry of marked.read(KEY)) read.push(entry);
    expect(read.map((entry) => [entry.kind, entry.at, (entry as JournalRun).rewoundTo])).toEqual([
      ["run", tick(4), tick(4)],
      ["run", tick(4), tick(4)],
      ["run", tick(5), undefined],
      ["run", tick(6), undefined],
    ]);
    expect(first.rewoundTo).toBeUndefined(); // the caller's entry is not changed
    expect(await marked.keys()).toEqual(await journal.keys());
    expect((await marked.tail?.(KEY))?.lastRun?.at).toBe(tick(6));
  });
});
