// Holes a hostile review found in replay (issue 11, item 3), each a regression test that failed
// before the fix:
// 4. a replay ignored the strategy's answer when the decision was the same: a recorded throw
//    replayed as no signal (or as another error) was "identical". Now the answer is compared too
//    (the strategy's name inside the engine's message aside), with both answers shown;
// 5. cosmetics of `rxtrade replay`: a run's range printed without its end's date across midnight;
//    a journal whose runs hold no tick (a file whose tick lines are all damaged) was "Identical"
//    on 0 ticks, exit 0; a warning per skipped line (readJournalFile's default too).
// Recordings are real runs of the live loop (runBacktest at level full) over the bundled
// Binance.US BTC/USDT minutes; the command runs in this process through `main`.
import { execFileSync } from "node:child_process";
import { closeSync, constants, openSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Candle, type JournalEntry, JournalError, listenError, memoryJournal, setConfig, setLogger, type SignalDto, type StrategySchema } from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandles, fileJournal, readJournalFile, type ReplayTick, runBacktest, runReplay } from "rxtrade/node";
import { momentumStrategy } from "../examples/strategies/momentum";
import { main } from "../src/cli/main";
import { Terminal } from "../src/cli/terminal";

const HOUR = 3_600_000;
const FROM = Date.parse("2023-03-01T02:00:00Z");
const KEY = "BTCUSDT:momentum";

let candles: Candle[];
let work: string;
let quiet: () => void;
beforeAll(async () => {
  candles = await csvCandles(BUNDLED_BTCUSDT_1M);
  work = await mkdtemp(join(tmpdir(), "rxtrade-replay-review-"));
  quiet = listenError(() => undefined); // the recorded strategy's throw
});
afterAll(async () => {
  quiet();
  await rm(work, { recursive: true, force: true });
});

/**
 * Momentum that throws on its `throwOn`-th call (with `message`) — after asking the inner
 * strategy, so its look-back is the plain one's: every decision is momentum's, only that answer
 * differs (momentum answers no signal on its first calls, its look-back not full yet).
 */
function throwingOn(throwOn: number, message: string, strategyName = "momentum"): StrategySchema {
  const inner = momentumStrategy();
  let calls = 0;
  return {
    ...inner,
    strategyName,
    getSignal(symbol, when, ctx) {
      const answer = inner.getSignal(symbol, when, ctx) as SignalDto | null;
      calls++;
      if (calls === throwOn) throw new Error(message);
      return answer;
    },
  };
}

async function recordBacktest(strategy: StrategySchema, from: number, hours: number): Promise<JournalEntry[]> {
  const journal = memoryJournal();
  await runBacktest("BTCUSDT", strategy, { candles, from, to: from + hours * HOUR, journal, journalLevel: "full" });
  return [...(journal.entries.get(`BTCUSDT:${strategy.strategyName}`) ?? [])];
}

async function rxtrade(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(args, new Terminal({ write: (text: string) => (out += text) }, { write: (text: string) => (err += text) }));
  setLogger({ warn: () => {}, error: () => {} });
  return { code, out, err };
}

describe("the strategy's answer is compared (hole 4)", () => {
  let entries: JournalEntry[];
  beforeAll(async () => {
    entries = await recordBacktest(throwingOn(2, "indicator warming up"), FROM, 2);
  });

  it("a recorded throw replayed as no signal: one divergence, at that tick, with both answers", async () => {
    const thrown = entries.find((e) => e.kind === "tick" && e.answer !== undefined && "error" in e.answer) as JournalEntry;
    expect(thrown.at).toBe(FROM + 60_001);
    const summary = await runReplay(entries, () => momentumStrategy());
    expect(summary).toMatchObject({ identical: false, differing: 1 });
    const first = summary.firstDivergence as ReplayTick;
    expect(first.at).toBe(FROM + 60_001);
    expect(first.recorded).toEqual({ action: "idle", trade: false });
    expect(first.replayed).toEqual({ action: "idle", trade: false });
    expect(first.differences).toEqual(["answer: recorded StrategyError: getSignal of momentum failed for BTCUSDT: indicator warming up; replayed no signal"]);
    expect(first.inputs.answer).toEqual({
      recorded: { error: { name: "StrategyError", message: "rxtrade: getSignal of momentum failed for BTCUSDT: indicator warming up" } },
      replayed: { signal: null },
    });
  });

  it("another error: a divergence; the same error from a strategy of another name: identical", async () => {
    const other = await runReplay(entries, () => throwingOn(2, "no data"));
    expect(other.differing).toBe(1);
    expect(other.firstDivergence?.differences).toEqual([
      "answer: recorded StrategyError: getSignal of momentum failed for BTCUSDT: indicator warming up; replayed StrategyError: getSignal of momentum failed for BTCUSDT: no data",
    ]);
    const renamed = await runReplay(entries, () => throwingOn(2, "indicator warming up", "momentum-copy"));
    expect(renamed).toMatchObject({ identical: true, differing: 0, strategyName: "momentum-copy" });
  });

  it("rxtrade replay: exit 1, the answer as what differs, both answers under it", async () => {
    const file = join(work, "thrown.jsonl");
    await writeFile(file, entries.map((entry) => JSON.stringify(entry)).join("\n") + "\n");
    const { code, out } = await rxtrade(["replay", file, "--strategy", "momentum"]);
    expect(code).toBe(1);
    const lines = out.split("\n");
    const at = lines.indexOf("First divergence at 2023-03-01T02:01:00.001Z (run 1)");
    expect(at).toBeGreaterThan(0);
    expect(lines.slice(at + 1, at + 4)).toEqual(["  recorded   IDLE", "  replayed   IDLE", "  differs    answer: recorded StrategyError: getSignal of momentum failed for BTCUSDT: indicator warming up; replayed no signal"]);
    expect(lines.slice(at + 5).filter((line) => line.includes("recorded: ") || line.includes("replayed: ")).slice(-2)).toEqual([
      "  answer     recorded: StrategyError: getSignal of momentum failed for BTCUSDT: indicator warming up",
      "             replayed: no signal",
    ]);
  });
});

describe("a journal whose read hangs (hole 1)", () => {
  it("replayJournal$ / runReplay of { journal, key } fail with a JournalError once CC_STORE_TIMEOUT_SECONDS has passed", async () => {
    const journal = { ...memoryJournal(), read: () => ({ [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<JournalEntry>>(() => {}) }) }) };
    setConfig({ CC_STORE_TIMEOUT_SECONDS: 0.2 });
    try {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const hung = new Promise((resolve) => (timer = setTimeout(() => resolve("still pending after 3 s"), 3000)));
      const outcome = await Promise.race([runReplay({ journal, key: KEY }, momentumStrategy()).catch((error: unknown) => error), hung]);
      clearTimeout(timer);
      expect(outcome).toBeInstanceOf(JournalError);
      expect((outcome as Error).message).toMatch(/^rxtrade: journal\.read\("BTCUSDT:momentum"\) did not answer within CC_STORE_TIMEOUT_SECONDS \(0\.2 s\)/);
    } finally {
      setConfig({ CC_STORE_TIMEOUT_SECONDS: 30 });
    }
  });
});

describe("rxtrade replay: a FIFO among a key's segments (hole 1)", () => {
  it("exit 2 at once, naming it, without opening it (a thread blocked in open() would keep the process from exiting)", async () => {
    const journal = fileJournal(join(work, "fifo"), { maxBytes: 16 * 1024 });
    await runBacktest("BTCUSDT", momentumStrategy(), { candles, from: FROM, to: FROM + HOUR, journal, journalLevel: "full" });
    await journal.close();
    const [first, second] = (await journal.segmentsOf(KEY)) as [string, string];
    expect(second).toBeDefined();
    await rm(second);
    execFileSync("mkfifo", [second]);
    try {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const hung = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("still pending after 3 s: the read blocks on the FIFO")), 3000)));
      const { code, err } = await Promise.race([rxtrade(["replay", first]), hung]).finally(() => clearTimeout(timer));
      expect(code).toBe(2);
      expect(err.split("\n")[0]).toBe(
        `rxtrade replay: cannot read ${first}: ${second}, a segment of the journal of ${first}, is not a regular file (a FIFO); move it out of the journal folder, or give a copy of the file to read it alone`,
      );
    } finally {
      try {
        closeSync(openSync(second, constants.O_WRONLY | constants.O_NONBLOCK)); // a reader blocked on it, if any, is let go
      } catch {
        // none
      }
    }
  });
});

describe("rxtrade replay: cosmetics (hole 5)", () => {
  it("a run across midnight shows its end's date; a run within a day its end's time", async () => {
    const journal = fileJournal(join(work, "midnight"));
    const night = Date.parse("2023-03-01T23:00:00Z");
    await runBacktest("BTCUSDT", momentumStrategy(), { candles, from: night, to: night + 2 * HOUR, journal, journalLevel: "full" });
    await runBacktest("BTCUSDT", momentumStrategy(), { candles, from: night + 3 * HOUR, to: night + 4 * HOUR, journal, journalLevel: "full" });
    await journal.close();
    const [file] = (await journal.segmentsOf(KEY)) as [string];
    const { code, out } = await rxtrade(["replay", file]);
    expect(code).toBe(0);
    const recorded = out.split("\n")[1] as string;
    expect(recorded).toMatch(/^ {2}recorded: momentum on \S+, 2 runs, 2023-03-01 23:00 to 2023-03-02 03:\d\d UTC \(run 1 2023-03-01 23:00–2023-03-02 01:\d\d stopped; run 2 2023-03-02 02:00–03:\d\d stopped\)$/);
  });

  it("a journal whose tick lines are all damaged: exit 2 (nothing compared), not 'Identical on 0 ticks'", async () => {
    const entries = await recordBacktest(momentumStrategy(), FROM, 1);
    const file = join(work, "no-ticks.jsonl");
    const lines = entries.map((entry) => (entry.kind === "tick" ? `{"kind":"tick",${"x".repeat(20)}` : JSON.stringify(entry)));
    await writeFile(file, lines.join("\n") + "\n");
    const { code, out, err } = await rxtrade(["replay", file]);
    expect({ code, out }).toEqual({ code: 2, out: "" });
    const ticks = entries.filter((entry) => entry.kind === "tick").length;
    expect(err.split("\n")).toEqual([
      `warning: journal ${file}: ${ticks} lines skipped, the first at line 2: not JSON: {"kind":"tick",xxxxxxxxxxxxxxxxxxxx`,
      `rxtrade replay: ${file}: no tick to compare: its run at level full holds no tick entry (${ticks} lines skipped: see the warning above); give a journal recorded with --journal full over at least one tick`,
      "Run 'rxtrade replay --help' for the flags.",
      "",
    ]);
  });

  it("readJournalFile's default: one warning per file with the count and the first line", async () => {
    const entries = await recordBacktest(momentumStrategy(), FROM, 1);
    const file = join(work, "damaged.jsonl");
    const lines = entries.map((entry) => JSON.stringify(entry));
    lines.splice(3, 0, "damaged 1", "damaged 2", "damaged 3", "damaged 4");
    await writeFile(file, lines.join("\n") + "\n");
    const warned: string[] = [];
    setLogger({ warn: (...args: unknown[]) => warned.push(args.join(" ")), error: () => {} });
    try {
      expect((await readJournalFile(file)).entries).toHaveLength(entries.length);
    } finally {
      setLogger({ warn: () => {}, error: () => {} });
    }
    expect(warned).toEqual([`rxtrade: journal ${file}: 4 lines skipped; the first: ${file}:4: not JSON: skipped (1 skipped in this read): damaged 1`]);
    expect(await readFile(file, "utf8")).toContain("damaged 4");
  });
});
