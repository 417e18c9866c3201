// Issue 11, item 3 (a new feature): `rxtrade replay <journal file>`. The journals are recorded by
// real runs of the live loop through fileJournal at level full: runBacktest over 12 hours of the
// bundled Binance.US BTC/USDT minutes (momentum, segments of 256 KiB: the key's journal is
// rotated), one at level trades, and a child process (test/fixtures/replayChild.ts) on an
// accelerated real clock, SIGKILLed while a position is open and restarted. The command runs in
// this process (main(), as the bin calls it), the child as a real process.
import { mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Candle, listenError } from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandles, fileJournal, readJournalFile, runBacktest, runReplay } from "rxtrade/node";
import { momentumStrategy } from "../examples/strategies/momentum";
import { main } from "../src/cli/main";
import { replayCommand } from "../src/cli/replayCommand";
import { Terminal } from "../src/cli/terminal";
import { bundleFixture } from "./fixtures/crashHarness";
import { Child } from "./fixtures/processHarness";

const FROM = Date.parse("2023-03-01T02:00:00Z");
const HOUR = 3_600_000;
const KEY = "BTCUSDT:momentum";
const nearTakeProfit = fileURLToPath(new URL("./fixtures/replayNearTakeProfit.mjs", import.meta.url));

let work: string;
let candles: Candle[];
/** The segments of the full journal, oldest first. */
let segments: string[];
let quiet: () => void;

/** Records momentum over `hours` from FROM through runBacktest into `<dir>/journal/`; resolves to the key's segments. */
async function record(dir: string, level: "full" | "trades", hours: number): Promise<string[]> {
  const journal = fileJournal(dir, { maxBytes: 256 * 1024 });
  await runBacktest("BTCUSDT", momentumStrategy(), { candles, from: FROM, to: FROM + hours * HOUR, journal, journalLevel: level, exchangeName: "binance" });
  await journal.close();
  return journal.segmentsOf(KEY);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "rxtrade-cli-replay-"));
  candles = await csvCandles(BUNDLED_BTCUSDT_1M);
  segments = await record(join(work, "full"), "full", 12);
  quiet = listenError(() => undefined);
}, 30_000);

afterAll(async () => {
  quiet?.();
  await rm(work, { recursive: true, force: true });
});

async function rxtrade(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(args, new Terminal({ write: (text: string) => (out += text) }, { write: (text: string) => (err += text) }));
  return { code, out, err };
}

describe("rxtrade replay", () => {
  it("the journal is rotated: several segments of one key", () => {
    expect(segments.length).toBeGreaterThanOrEqual(2);
    expect(segments.map((file) => basename(file))).toEqual(segments.map((_, i) => expect.stringMatching(new RegExp(`^BTCUSDT_momentum-[0-9a-f]+\\.00000${i + 1}\\.jsonl$`))));
  });

  it("the recorded strategy (an example) replays identically from any segment: exit 0, the ticks and trades compared", async () => {
    for (const segment of [segments[0] as string, segments.at(-1) as string]) {
      const { code, out, err } = await rxtrade(["replay", segment]);
      expect({ code, err }).toEqual({ code: 0, err: "" });
      expect(out.split("\n")).toEqual([
        `Replay of BTCUSDT:momentum from ${segment} (${segments.length} segments)`,
        "  recorded: momentum on binance, 1 run, 2023-03-01 02:00 to 2023-03-01 14:00 UTC, 720 ticks",
        "  replayed: momentum",
        "",
        "Identical: the same decision on all 720 ticks, 6 trades (3 opened, 3 closed) among them.",
        "",
      ]);
    }
  });

  it("another take profit: exit 1, the first divergence with its inputs, and how many differ", async () => {
    const { code, out, err } = await rxtrade(["replay", segments[0] as string, "--strategy", nearTakeProfit]);
    expect({ code, err }).toEqual({ code: 1, err: "" });
    const lines = out.split("\n");
    expect(lines.slice(0, 4)).toEqual([
      `Replay of BTCUSDT:momentum from ${segments[0]} (${segments.length} segments)`,
      "  recorded: momentum on binance, 1 run, 2023-03-01 02:00 to 2023-03-01 14:00 UTC, 720 ticks",
      `  replayed: ${nearTakeProfit} (momentum-near-tp)`,
      "",
    ]);
    expect(lines.slice(4)).toEqual([
      "Divergent: 183 of 720 decisions differ; recorded 6 trades (3 opened, 3 closed), replayed 6 trades (3 opened, 3 closed).",
      "",
      "First divergence at 2023-03-01T03:16:00.076Z (run 1)",
      "  recorded   OPENED long @ 23404.93 TP 23638.98 SL 23170.89 60 min",
      "  replayed   OPENED long @ 23404.93 TP 23545.36 SL 23170.89 60 min",
      "  differs    take profit: recorded 23638.984201670715, replayed 23545.36446225816",
      "  price      23404.93",
      "  candles    1m ×5 since 2023-03-01 03:11: 5 candles to 2023-03-01 03:15, close 23314.37 → 23455.46",
      "  answer     recorded: long TP 23638.98 SL 23170.89 60 min (momentum 0.32 % over 3 ticks)",
      "             replayed: long TP 23545.36 SL 23170.89 60 min (momentum 0.32 % over 3 ticks)",
      "",
      "First different action at 2023-03-01T04:56:00.176Z (run 1)",
      "  recorded   ACTIVE long @ 23638.45 TP 23874.84 SL 23402.07 60 min",
      "  replayed   CLOSED long @ 23638.45 TP 23780.28 SL 23402.07 60 min: take_profit at 23780.28",
      "",
      "182 more differ after it; --json lists them.",
      "",
    ]);
  });

  it("--json: the comparison for scripts, the same numbers as runReplay on the same file", async () => {
    const { code, out } = await rxtrade(["replay", segments[1] as string, "--strategy", nearTakeProfit, "--json"]);
    expect(code).toBe(1);
    const report = JSON.parse(out) as Record<string, unknown> & { divergences: Array<{ at: number; recorded: { action: string } | null; replayed: { action: string } | null }> };
    expect(report).toMatchObject({
      file: segments[1],
      files: segments,
      key: KEY,
      recordedStrategyName: "momentum",
      strategyName: "momentum-near-tp",
      identical: false,
      ticks: 720,
      differing: 183,
      trades: { recorded: 6, replayed: 6 },
      firstDivergence: { at: Date.parse("2023-03-01T03:16:00.076Z"), run: 1, same: false, inputs: { price: { recorded: 23404.934853139323 } } },
      runs: [{ run: 1, ticks: 720, level: "full", ended: "stopped", tickMs: 60_001 }],
    });
    expect(report.divergences).toHaveLength(183);
    // The first change of action: the replayed position reaches its nearer take profit.
    const changed = report.divergences.find((d) => d.recorded?.action !== d.replayed?.action);
    expect(changed).toMatchObject({ at: Date.parse("2023-03-01T04:56:00.176Z"), recorded: { action: "active" }, replayed: { action: "closed", closeReason: "take_profit" } });
    const { entries } = await readJournalFile(segments[0] as string);
    const api = await runReplay(entries, () => momentumStrategy({}));
    expect(api.identical).toBe(true);
  });

  it("a journal recorded at level trades: exit 2, record with --journal full", async () => {
    const [file] = await record(join(work, "trades"), "trades", 2);
    const { code, out, err } = await rxtrade(["replay", file as string]);
    expect({ code, out }).toEqual({ code: 2, out: "" });
    expect(err).toBe(
      `rxtrade replay: ${file}: the journal of BTCUSDT:momentum was recorded at level trades (1 run): it has the trades but not the ticks (candles, prices, the strategy's answers) a replay needs; ` +
        'record with --journal full (rxtrade live --journal full, rxtrade demo --journal full) or journalLevel: "full", then replay that journal\n' +
        "Run 'rxtrade replay --help' for the flags.\n",
    );
  });

  it("a torn last line (a kill mid-write) is skipped with a warning; the replay still runs", async () => {
    const dir = join(work, "torn");
    const files = await record(dir, "full", 2);
    const last = files.at(-1) as string;
    const text = await readFile(last, "utf8");
    // Cut the last entry (the run's stop) in the middle, as a kill during its write would.
    const lines = text.trimEnd().split("\n");
    const cut = text.length - 1 - Math.floor((lines.at(-1) as string).length / 2);
    await truncate(last, Buffer.byteLength(text.slice(0, cut)));
    const { code, out, err } = await rxtrade(["replay", last]);
    expect(code).toBe(0);
    expect(err).toBe(
      `warning: journal ${last}:${lines.length}: the last line is incomplete (a kill mid-write, or being written right now): skipped\n`,
    );
    // The run's stop entry is the line lost: it reads as a run that was killed, after its last tick (04:16, the close).
    expect(out).toContain("  recorded: momentum on binance, 1 run, 2023-03-01 02:00 to 2023-03-01 04:16 UTC, 137 ticks");
    expect(out).toContain("Identical: the same decision on all 137 ticks, 2 trades (1 opened, 1 closed) among them.");
  });

  it("a file that is not a journal, a missing file, an unknown strategy: exit 2 with what to do", async () => {
    const csv = join(work, "candles.csv");
    await writeFile(csv, "timestamp,open,high,low,close,volume\n1677636000000,1,1,1,1,1\n");
    const notJournal = await rxtrade(["replay", csv]);
    expect(notJournal).toEqual({
      code: 2,
      out: "",
      err:
        `rxtrade replay: ${csv} is not a journal: none of its 2 lines is a journal entry (line 1: not JSON: skipped (1 skipped in this read): timestamp,open,high,low,close,volume); ` +
        "give a file of a store's journal folder, e.g. .rxtrade/journal/BTCUSDT_momentum-4106cc36fad9a2b2.000001.jsonl\nRun 'rxtrade replay --help' for the flags.\n",
    });
    const missing = await rxtrade(["replay", join(work, "nowhere.jsonl")]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/^rxtrade replay: .*nowhere\.jsonl does not exist; give a journal file/);
    const typo = await rxtrade(["replay", segments[0] as string, "--strategy", "momentun"]);
    expect(typo.code).toBe(2);
    expect(typo.err).toMatch(/^rxtrade replay: --strategy "momentun" is neither an example strategy nor a file; did you mean momentum\?/);
    const none = await rxtrade(["replay"]);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/^rxtrade replay: a journal file is required/);
  });

  it("a recorded strategy that is not an example needs --strategy: exit 2", async () => {
    const text = await readFile(segments[0] as string, "utf8");
    const copy = join(work, "mine.jsonl");
    await writeFile(copy, text.replaceAll('"strategyName":"momentum"', '"strategyName":"mine"').replaceAll("BTCUSDT:momentum", "BTCUSDT:mine"));
    const { code, err } = await rxtrade(["replay", copy]);
    expect(code).toBe(2);
    expect(err).toBe(
      'rxtrade replay: the journal\'s strategy "mine" is not one of the examples (momentum, ma-cross, breakout); give the strategy to replay with: --strategy ./path/to/strategy.mjs\n' +
        "Run 'rxtrade replay --help' for the flags.\n",
    );
    // A copy outside a store's journal folder is read alone: with --strategy it replays.
    const alone = await rxtrade(["replay", copy, "--strategy", "momentum"]);
    expect(alone.code).toBe(0);
    expect(alone.out).toContain(`Replay of BTCUSDT:mine from ${copy}\n`);
  });

  it("a long journal: a progress line on a terminal's stderr while it replays, cleared at the end; none elsewhere", async () => {
    // Three days, 4 320 ticks: long enough for a redraw (one at most every 80 ms).
    const [file] = await record(join(work, "long"), "full", 72);
    const drawn: string[] = [];
    const terminal = new Terminal({ write: () => undefined }, { write: () => undefined });
    expect(await replayCommand([file as string], terminal, { isTTY: true, columns: 120, write: (text: string) => drawn.push(text) })).toBe(0);
    expect(drawn.length).toBeGreaterThanOrEqual(2);
    expect(drawn.slice(0, -1).every((text) => /^\r\x1b\[2Kreplaying BTCUSDT:momentum: \d+ of 43\d\d ticks \(\d+ %\), 2023-03-0\d \d\d:\d\d UTC, 0 differ$/.test(text))).toBe(true);
    expect(drawn.at(-1)).toBe("\r\x1b[2K");
    const plain: string[] = [];
    expect(await replayCommand([file as string], terminal, { isTTY: false, write: (text: string) => plain.push(text) })).toBe(0);
    expect(plain).toEqual([]);
  });
});

describe("rxtrade replay of a live run killed and restarted", () => {
  it("replays both runs identically; the second resumes the position the kill left open", async () => {
    const child = await bundleFixture("replayChild", work);
    const dir = join(work, "killed");
    // 2,000 simulated ms per real ms: a tick every 30 real ms. Faster, a pause of the loaded
    // machine of a few dozen ms would leave 5 tick periods without a tick — a stall the run
    // records and its replay reproduces (on stderr), which is not what this test is about.
    const options = { dir, candles: BUNDLED_BTCUSDT_1M, speed: 2_000 };
    const first = new Child(child, [JSON.stringify({ ...options, origin: FROM, mode: "crash" })], { cwd: work });
    // Killed as soon as it says it opened a position (the open is in the store and the journal).
    const [, id, openedAt] = (await first.waitFor(/^opened (\S+) ([\d.]+)$/m, 15_000)) as RegExpMatchArray;
    first.kill("SIGKILL");
    await first.exited;
    // Restarted 20 simulated minutes after the open: the position (60 minutes) is still open.
    const second = new Child(child, [JSON.stringify({ ...options, origin: Number(openedAt) + 20 * 60_000, mode: "final" })], { cwd: work });
    const exit = await second.exited;
    expect(exit.code, exit.stderr).toBe(0);
    expect(exit.stdout).toMatch(new RegExp(`^closed ${id} `, "m"));

    const [file] = await fileJournal(dir).segmentsOf(KEY);
    const { code, out, err } = await rxtrade(["replay", file as string, "--json"]);
    expect({ code, err }).toEqual({ code: 0, err: "" });
    const report = JSON.parse(out) as { runs: Array<Record<string, unknown>>; ticks: number; trades: { recorded: number } };
    expect(report).toMatchObject({ identical: true, differing: 0 });
    expect(report.runs).toEqual([
      expect.objectContaining({ run: 1, ended: "killed" }),
      expect.objectContaining({ run: 2, ended: "stopped", resumedSignalId: id }),
    ]);
    // Both runs ticked, and the trades include the open in run 1 and its close in run 2.
    expect(report.runs.every((run) => (run.ticks as number) > 0)).toBe(true);
    expect(report.ticks).toBe(report.runs.reduce((sum, run) => sum + (run.ticks as number), 0));
    expect(report.trades.recorded).toBeGreaterThanOrEqual(2);
    const text = await rxtrade(["replay", file as string]);
    expect(text.out).toMatch(/^ {2}recorded: momentum on binance, 2 runs, .* \(run 1 .* killed; run 2 .* stopped\)$/m);
    // The appended "Identical" line.
    expect(text.out).toMatch(/^Identical: the same decision on all \d+ ticks, \d+ trades \(\d+ opened, \d+ closed\) among them\.$/m);
  }, 60_000);
});
