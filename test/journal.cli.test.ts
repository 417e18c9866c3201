// The CLI's journal: `rxtrade demo` (the real command line, bundled from the sources) journals
// into <store>/journal/ at level trades by default; a demo killed with SIGKILL and run again
// leaves both runs' trades in the journal exactly once and in order; --journal off|trades|full.
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { JournalEntry } from "rxtrade";
import { fileJournal } from "rxtrade/node";
import { checkJournal } from "./fixtures/journalCheck";
import { bundle, Child, run } from "./fixtures/processHarness";

const ID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const KEY = "BTCUSDT:momentum";

let cli: string[];
let work: string;

beforeAll(async () => {
  [cli, work] = await Promise.all([bundle("src/cli/index.ts"), mkdtemp(join(tmpdir(), "rxtrade-journal-cli-"))]);
}, 30_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
  if (cli !== undefined) await rm(dirname(cli[1] as string), { recursive: true, force: true });
});

async function journalOf(cwd: string): Promise<JournalEntry[]> {
  const entries: JournalEntry[] = [];
  for await (const entry of fileJournal(join(cwd, ".rxtrade-demo")).read(KEY)) entries.push(entry);
  return entries;
}

/** The trades a demo printed: `OPENED … <id>`, `CLOSED … <id>`. */
function printed(stdout: string): Array<{ action: string; id: string }> {
  return [...stdout.matchAll(new RegExp(`^\\S+ \\S+ +(OPENED|CLOSED|SCHEDULED|CANCELLED) .*  (${ID})$`, "gm"))].map((m) => ({ action: (m[1] as string).toLowerCase(), id: m[2] as string }));
}

it("a demo killed with SIGKILL, then run again: the journal holds both runs' trades exactly once, in order", async () => {
  const cwd = await mkdtemp(join(work, "kill-"));
  const first = new Child(cli, ["demo", "--speed", "3000", "--minutes", "4320"], { cwd });
  // Two trades closed, then a kill at a random moment of the run.
  await first.waitFor(new RegExp(`CLOSED .*  ${ID}\\n(.|\\n)*CLOSED .*  ${ID}\\n`), 20_000);
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 300));
  first.kill("SIGKILL");
  expect((await first.exited).signal).toBe("SIGKILL");

  const second = await run(cli, ["demo", "--speed", "3000", "--minutes", "1440"], { cwd, timeoutMs: 30_000 });
  expect(second.stderr).toBe("");
  expect(second.code).toBe(0);

  const entries = await journalOf(cwd);
  const reported = [...printed(first.stdout), ...printed(second.stdout)];
  expect(reported.filter((r) => r.action === "closed").length).toBeGreaterThanOrEqual(3);
  const { problems, trades, runs } = checkJournal(entries, reported);
  expect(problems).toEqual([]);
  // Every trade either run printed, once; and what the kill cut short is there too (journaled before it was printed).
  expect(trades.length).toBeGreaterThanOrEqual(reported.length);
  expect(runs.map((r) => [r.event, r.reason, r.recovery?.unfinishedRun])).toEqual([
    ["start", undefined, undefined],
    ["start", undefined, true],
    ["stop", "stopped", undefined],
  ]);
  expect(runs.every((r) => r.level === "trades" && r.symbol === "BTCUSDT" && r.strategyName === "momentum" && r.exchangeName === "replay")).toBe(true);
  expect(entries.some((e) => e.kind === "tick")).toBe(false);
}, 60_000);

it("--journal full adds tick entries; --journal off journals nothing; a bad level is a usage error", async () => {
  const cwd = await mkdtemp(join(work, "levels-"));
  const full = await run(cli, ["demo", "--speed", "20000", "--minutes", "120", "--journal", "full", "--store", "full"], { cwd, timeoutMs: 30_000 });
  expect(full.code, full.stderr).toBe(0);
  const entries: JournalEntry[] = [];
  for await (const entry of fileJournal(join(cwd, "full")).read(KEY)) entries.push(entry);
  const ticks = entries.filter((e) => e.kind === "tick");
  // One a minute of the 120 simulated minutes (60 001 ms ticks), each with its VWAP window of 5 closed minutes.
  expect(ticks.length).toBeGreaterThanOrEqual(115);
  expect(ticks.every((t) => t.kind === "tick" && t.candles[0]?.interval === "1m" && t.candles[0].candles.length === 5 && typeof t.price === "number")).toBe(true);
  expect(entries[0]).toMatchObject({ kind: "run", event: "start", level: "full" });

  const off = await run(cli, ["demo", "--speed", "20000", "--minutes", "60", "--journal", "off", "--store", "off"], { cwd, timeoutMs: 30_000 });
  expect(off.code, off.stderr).toBe(0);
  expect(existsSync(join(cwd, "off"))).toBe(true);
  expect(readdirSync(join(cwd, "off"))).not.toContain("journal");

  const bad = await run(cli, ["demo", "--journal", "some"], { cwd });
  expect(bad.code).toBe(2);
  expect(bad.stderr).toBe('rxtrade demo: --journal must be one of off, trades, full, got "some"; e.g. --journal full\nRun \'rxtrade demo --help\' for the flags.\n');

  for (const command of ["demo", "live"]) {
    const help = await run(cli, [command, "--help"], { cwd });
    expect(help.stdout).toContain("[--journal off|trades|full]");
    expect(help.stdout).toContain("  --journal LEVEL    what is journaled in the store's journal/ folder, kept across runs and\n");
  }
}, 60_000);
