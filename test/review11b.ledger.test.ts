// Review 11b (findings 1, 7, 10 of the hostile review of issue 11), in this process:
// 7. a demo's "Stopped gracefully at …" is its last tick's time, not the paced clock's time
//    after the end waited for a journal that could not be written (weeks past the data);
// 10. a stall while the tick waits on the journal says so (how long its append has been pending);
// 1. the ended-unrecorded note does not claim a kill after a graceful stop; the entries a run's
//    end could not append are saved in a file beside the journal, appended by the next start.
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { type Journal, type JournalEntry, memoryJournal, memoryStore, replayExchange, setConfig } from "rxtrade";
import { candlesFromPrices, scriptedStrategy, VirtualClock } from "rxtrade/testing";
import { main } from "../src/cli/main";
import { historyNotes, runSession, watchedJournal } from "../src/cli/session";
import { Terminal } from "../src/cli/terminal";

let work: string;
let made = 0;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "rxtrade-review11b-"));
});
afterEach(() => {
  setConfig({ CC_STORE_TIMEOUT_SECONDS: 30 });
});
afterAll(() => rm(work, { recursive: true, force: true }));

const freshDir = (): string => join(work, `store-${++made}`);

async function rxtrade(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
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

describe("the demo's stop time (finding 7)", () => {
  it("is the last tick's, not the paced clock's after the end waited for the journal", async () => {
    setConfig({ CC_STORE_TIMEOUT_SECONDS: 1 });
    const cwd = freshDir();
    await mkdir(join(cwd, ".rxtrade-demo", "journal"), { recursive: true });
    // A folder in place of the key's journal file: every append fails.
    await mkdir(join(cwd, ".rxtrade-demo", "journal", "BTCUSDT_momentum-4106cc36fad9a2b2.000001.jsonl"));
    // 20,000 simulated minutes a second: the end's wait for the journal (~1 s) was ~2 weeks of paced time.
    const exit = await rxtrade(["demo", "--minutes", "5", "--speed", "20000"], cwd);
    expect(exit.code).toBe(0);
    expect(exit.stdout).toContain("\nStopped gracefully at 2023-03-01 02:04 (simulated).\n");
    expect(exit.stdout).toContain("Store: .rxtrade-demo — run the demo again to continue from 2023-03-01 02:05.");
  }, 15_000);
});

describe("a stall while the tick waits on the journal (finding 10)", () => {
  it("says the journal's append has been pending, not only 'check the exchange and the store'", async () => {
    const T0 = Date.parse("2023-03-01T00:00Z");
    const clock = new VirtualClock(T0 + 30 * 60_000);
    const candles = candlesFromPrices(Array.from({ length: 120 }, () => 100), { start: T0 });
    const strategy = scriptedStrategy("momentum", [
      { position: "long", priceOpen: 100, priceTakeProfit: 110, priceStopLoss: 90, minuteEstimatedTime: 60, note: "" },
    ]);
    const inner = memoryJournal();
    let realNow = 0;
    // The run's start entry goes in; the intent of the open does not settle (a journal disk that
    // hangs) until the test ends: then the disk comes back and the session runs to its end, so
    // that it does not outlive the test (its SIGINT/SIGTERM listeners and its loop with it).
    const hung: Array<() => void> = [];
    let diskBack = false;
    const journal: Journal = {
      append: (entry: JournalEntry) =>
        entry.kind === "run" || diskBack ? inner.append(entry) : new Promise<void>((resolve) => hung.push(() => resolve(inner.append(entry)))),
      read: (key) => inner.read(key),
      keys: () => inner.keys(),
    };
    let stderr = "";
    const terminal = new Terminal({ write: () => {} }, { write: (text: string) => (stderr += text) });

    const session = runSession({
      symbol: "BTCUSDT", strategy, exchange: replayExchange(candles, clock), store: memoryStore(), journal, scheduler: clock,
      tickMs: 5_000, terminal, timeNote: "", plainStatusEveryMs: 3_600_000, resumed: null, stopAt: T0 + 100 * 60_000,
    });
    void session.catch(() => {});
    onTestFinished(async () => {
      diskBack = true;
      for (const release of hung.splice(0)) release();
      await clock.flushAsync(T0 + 120 * 60_000);
      await session.catch(() => {});
    });
    await clock.flushAsync(T0 + 100 * 60_000);
    expect(stderr).toMatch(
      /error\$ StreamStalledError: rxtrade: momentum on BTCUSDT is stalled: no completed tick for \d+ s \(CC_STALL_TICKS tick periods\); check the exchange and the store \(see error\$\) — the tick is waiting on the journal: its append has been pending \d+ s of real time \(check the journal's disk and its JournalError\)\n/,
    );
    // How long: the oldest append still in flight, in real time.
    const watched = watchedJournal(journal, () => realNow);
    expect(watched.pendingMs()).toBeUndefined();
    void watched.journal.append({ kind: "trade", key: "k", at: T0, result: {} } as JournalEntry);
    realNow = 42_000;
    expect(watched.pendingMs()).toBe(42_000);
  }, 10_000);
});

describe("the ended-unrecorded note (finding 1 iii)", () => {
  it("does not claim a kill: the journal cannot tell a killed run from one whose appends failed to its graceful end", () => {
    const since = Date.parse("2023-03-01T02:17Z");
    expect(historyNotes({ endedUnrecorded: [{ signalId: "sig-A", status: "opened", since }] })).toEqual([
      "  note: signal sig-A (opened since 2023-03-01 02:17) ended unrecorded: its end is not in the journal — its process was killed between the store write " +
        "and the journal, or the journal failed before its end was recorded (see that run's JournalError); it is in no statistic",
    ]);
  });
});

describe("entries a run's end could not append (finding 1 i)", () => {
  it("are saved beside the journal and appended by the next start, before its start entry, once", async () => {
    setConfig({ CC_STORE_TIMEOUT_SECONDS: 1 });
    const cwd = freshDir();
    const journalDir = join(cwd, ".rxtrade-demo", "journal");
    const segment = join(journalDir, "BTCUSDT_momentum-4106cc36fad9a2b2.000001.jsonl");
    await mkdir(segment, { recursive: true }); // a folder in place of the key's journal file: every append fails
    const first = await rxtrade(["demo", "--minutes", "600", "--speed", "20000"], cwd);
    expect(first.code).toBe(0);
    const saved = /those (\d+) entries are saved in (\S+\.unappended-\S+\.jsonl): the next run of BTCUSDT:momentum appends them/.exec(first.stderr);
    expect(saved).not.toBeNull();
    const files = (await readdir(journalDir)).filter((name) => name.includes(".unappended-"));
    expect(files).toHaveLength(1);
    expect((await stat(join(journalDir, files[0] as string))).mode & 0o777).toBe(0o600);

    await rm(segment, { recursive: true });
    const second = await rxtrade(["demo", "--minutes", "5", "--speed", "20000"], cwd);
    expect(second.code).toBe(0);
    expect(second.stderr).toContain(`the ${saved?.[1]} journal entries an earlier run could not append`);
    expect((await readdir(journalDir)).filter((name) => name.includes(".unappended-"))).toEqual([`${files[0]}.done`]);
    const entries = (await readFile(segment, "utf8")).trim().split("\n").map((line) => JSON.parse(line) as JournalEntry);
    // The first run's 13 entries (its start entry was never made: the journal was unreadable at its start), then the second run's.
    const kinds = entries.map((entry) => (entry.kind === "run" ? `run:${entry.event}` : entry.kind === "trade" || entry.kind === "intent" ? `${entry.kind}:${entry.result.action}` : entry.kind));
    expect(kinds).toEqual([
      ...Array.from({ length: 3 }, () => ["intent:opened", "trade:opened", "intent:closed", "trade:closed"]).flat(),
      "run:stop",
      "run:start",
      "run:stop",
    ]);
    expect(Number(saved?.[1])).toBe(13);
    const third = await rxtrade(["demo", "--minutes", "5", "--speed", "20000"], cwd);
    expect(third.stderr).not.toContain("an earlier run could not append");
  }, 30_000);
});
