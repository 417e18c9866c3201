// Review of issue 10, item 1: `rxtrade demo` killed between a close's store write and its report
// restarted too early — from `<store>/demo-clock.json`, saved after the trade was reported —
// so it replayed minutes already traded and opened a trade an uninterrupted run never makes.
// Here the real command line (bundled from src/cli) runs a strategy whose `onClose` writes a
// marker file and then blocks for 3 s: the close is in the store and the journal, not yet
// printed, when the test kills the process with SIGKILL. The next run must start at the tick
// after that close (at the strategy's next ask, for a 5-minute strategy) and make the trades of
// an uninterrupted run over the same window, compared entry by entry from the journals.
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JournalEntry, JournalTrade } from "rxtrade";
import { fileJournal, fileStore } from "rxtrade/node";
import { bundle, Child, run } from "./fixtures/processHarness";

let cli: string[];
let work: string;

// A long at every tick whose minute is a multiple of 10 (when asked then), closed by time 3
// minutes later. With RXTRADE_TEST_MARKER set, the first close writes that file and then holds
// the process (blocked, not spinning) for 3 s: after the store write and the journal, before the trade is printed.
const strategySource = (interval: string) => `import { existsSync, writeFileSync } from "node:fs";
const marker = process.env.RXTRADE_TEST_MARKER;
export const strategy = {
  strategyName: "marker-${interval}",
  interval: "${interval}",
  getSignal(_symbol, when, { currentPrice }) {
    if (when.getUTCMinutes() % 10 !== 0) return null;
    return { position: "long", priceTakeProfit: currentPrice * 1.05, priceStopLoss: currentPrice * 0.95, minuteEstimatedTime: 3 };
  },
  callbacks: {
    onClose() {
      if (marker === undefined || existsSync(marker)) return;
      writeFileSync(marker, "closed\\n");
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000); // held, without a busy core
    },
  },
};
`;

beforeAll(async () => {
  [cli, work] = await Promise.all([bundle("src/cli/index.ts"), mkdtemp(join(tmpdir(), "rxtrade-review10-restart-"))]);
  await writeFile(join(work, "marker-1m.mjs"), strategySource("1m"));
  await writeFile(join(work, "marker-5m.mjs"), strategySource("5m"));
}, 30_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
  if (cli !== undefined) await rm(dirname(cli[1] as string), { recursive: true, force: true });
});

/** `2023-03-01 02:03 opened`: the journal's trades, one line each (ids are random). */
async function journaledTrades(store: string, key: string): Promise<string[]> {
  const trades: string[] = [];
  for await (const entry of fileJournal(store).read(key) as AsyncIterable<JournalEntry>) {
    if (entry.kind !== "trade") continue;
    const { result } = entry as JournalTrade;
    trades.push(`${new Date(result.timestamp).toISOString().slice(0, 19)} ${result.action} @ ${result.currentPrice.toFixed(2)}`);
  }
  return trades;
}

async function waitForFile(path: string, child: Child, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`no ${path} within ${timeoutMs} ms:\n${child.stdout}\n${child.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("rxtrade demo killed between a close's store write and its report", () => {
  it.each([
    // interval 1m: asked at every idle tick, so the restart is the tick after the close (02:03:00.003 + 60 001 ms).
    ["1m", "2023-03-01 02:04"],
    // interval 5m: last asked at 02:00, next at the first tick from 02:05 on — the restart skips the idle 02:04 tick an uninterrupted run does not ask at.
    ["5m", "2023-03-01 02:05"],
  ])("interval %s: the next run starts at %s and makes the trades of an uninterrupted run", async (interval, restartAt) => {
    const strategy = join(work, `marker-${interval}.mjs`);
    const key = `BTCUSDT:marker-${interval}`;
    const cwd = await mkdtemp(join(work, `kill-${interval}-`));
    const marker = join(cwd, "closed.marker");
    const window = ["--strategy", strategy, "--speed", "100000", "--store", "store"];

    const first = new Child(cli, ["demo", ...window, "--from", "2023-03-01T02:00Z", "--minutes", "60"], { cwd, env: { RXTRADE_TEST_MARKER: marker } });
    await waitForFile(marker, first, 20_000);
    first.kill("SIGKILL");
    expect((await first.exited).signal).toBe("SIGKILL");
    // The kill came after the close's store write and before its report.
    expect(first.stdout).toMatch(/2023-03-01 02:00 {2}OPENED /);
    expect(first.stdout).not.toContain("CLOSED");
    expect(await fileStore(join(cwd, "store")).read(key)).toBeNull();

    // The next run continues (no --from) to 03:00 at least; the marker exists, so nothing holds it.
    const second = await run(cli, ["demo", ...window, "--minutes", "60"], { cwd, env: { RXTRADE_TEST_MARKER: marker }, timeoutMs: 30_000 });
    expect(second.stderr).toBe("");
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`replaying from ${restartAt}`);
    expect(second.stdout).not.toMatch(/2023-03-01 02:0\d {2}OPENED /);

    const straight = await mkdtemp(join(work, `straight-${interval}-`));
    const uninterrupted = await run(cli, ["demo", ...window, "--from", "2023-03-01T02:00Z", "--minutes", "70"], { cwd: straight, timeoutMs: 30_000 });
    expect(uninterrupted.code, uninterrupted.stderr).toBe(0);

    const before3 = (trades: string[]) => trades.filter((line) => line < "2023-03-01T03:00");
    const expected = before3(await journaledTrades(join(straight, "store"), key));
    // Concretely: a long at each ten minutes from 02:00 to 02:50, each closed by time 3 minutes later.
    expect(expected.map((line) => `${line.slice(11, 16)} ${line.split(" ")[1]}`)).toEqual(
      [0, 1, 2, 3, 4, 5].flatMap((ten) => [`02:${ten}0 opened`, `02:${ten}3 closed`]),
    );
    expect(before3(await journaledTrades(join(cwd, "store"), key))).toEqual(expected);
  }, 60_000);
});

/** The signals a journal opened before `until`, in order: `2023-03-01T03:16:00 long @ 23404.93` (ids are random). */
async function openedBefore(store: string, key: string, until: number): Promise<{ opened: string[]; closed: Set<string> }> {
  const opened: string[] = [];
  const closed = new Set<string>();
  for await (const entry of fileJournal(store).read(key) as AsyncIterable<JournalEntry>) {
    if (entry.kind !== "trade") continue;
    const { result } = entry as JournalTrade;
    const at = new Date(result.timestamp).toISOString().slice(0, 19);
    if (result.action === "opened" && result.timestamp < until) opened.push(`${at} ${result.signal.position} @ ${result.signal.priceOpen.toFixed(2)}`);
    if (result.action === "closed") closed.add(`${at} ${result.closeReason} @ ${result.pnl.priceClose.toFixed(2)}`);
  }
  return { opened, closed };
}

describe("rxtrade demo killed at random moments, then run on", () => {
  it("momentum (which keeps the prices it was asked at): four kills, then a run to the end — the signals of an uninterrupted run", async () => {
    const key = "BTCUSDT:momentum";
    const day = ["--speed", "100000", "--store", "store"];
    const straight = await mkdtemp(join(work, "straight-momentum-"));
    const uninterrupted = await run(cli, ["demo", ...day, "--from", "2023-03-01T02:00Z", "--minutes", "1440"], { cwd: straight, timeoutMs: 30_000 });
    expect(uninterrupted.code, uninterrupted.stderr).toBe(0);

    const cwd = await mkdtemp(join(work, "kills-momentum-"));
    const starts: string[] = [];
    for (let i = 0; i < 4; i++) {
      const child = new Child(cli, ["demo", ...day, "--minutes", "1440", ...(i === 0 ? ["--from", "2023-03-01T02:00Z"] : [])], { cwd });
      starts.push((await child.waitFor(/^replaying from .*$/m, 20_000))[0]);
      // About a second of wall time makes the simulated day: a kill anywhere in its first half.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 500));
      child.kill("SIGKILL");
      await child.exited;
    }
    const last = await run(cli, ["demo", ...day, "--minutes", "1440"], { cwd, timeoutMs: 30_000 });
    expect(last.code, last.stderr).toBe(0);

    const until = Date.parse("2023-03-02T02:00Z"); // the uninterrupted run's stop: no signal after it
    const expected = await openedBefore(join(straight, "store"), key, until);
    const got = await openedBefore(join(cwd, "store"), key, until);
    const context = `${starts.join("\n")}\n${last.stdout.split("\n")[2]}`;
    expect(expected.opened.length, context).toBeGreaterThanOrEqual(4);
    expect(got.opened, context).toEqual(expected.opened);
    // Every close journaled (a kill between a close's store write and its journal entry loses that entry, said at the next start).
    for (const close of got.closed) if (close < "2023-03-02T02:00") expect(expected.closed, context).toContain(close);
  }, 90_000);
});
