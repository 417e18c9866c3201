// Review of issue 10, item 2: what the command line prints of strings it did not write itself —
// store keys, signal ids, strategy names, host names in lock files — reaches a terminal with its
// control characters shown as escapes (an OSC sequence such as `ESC ] 0 ; pwned BEL`, which
// retitles the window, must not get through; a line break must not split a table row or a trade
// line), and a very long value is cut in the `store list` table — never in `--json`, which stays
// exact. `store list`/`clear` run in this process (`main` on a fake terminal); the demo and a live
// run with a hostile strategy run as real processes.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeState, type SignalRow, type TickResult } from "rxtrade";
import { fileStore } from "rxtrade/node";
import { cell, describeHeld, eventLine, statusLine, visible } from "../src/cli/format";
import { main } from "../src/cli/main";
import { Terminal } from "../src/cli/terminal";
import { bundle, Child, run } from "./fixtures/processHarness";

const rising = fileURLToPath(new URL("./fixtures/cliRisingExchange.mjs", import.meta.url));
const T = Date.parse("2023-03-01T03:23:00Z");
const OSC = "\u001b]0;pwned\u0007";
/** Anything a terminal acts on: C0 but the line break, DEL, C1. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

let work: string;
let cli: string[];

beforeAll(async () => {
  [cli, work] = await Promise.all([bundle("src/cli/index.ts"), mkdtemp(join(tmpdir(), "rxtrade-review10-output-"))]);
}, 30_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
  if (cli !== undefined) await rm(dirname(cli[1] as string), { recursive: true, force: true });
});

function signal(key: string, fields: Partial<SignalRow> = {}): SignalRow {
  const colon = key.lastIndexOf(":");
  return {
    id: "e7be98dd-5c1a-4b9e-9f3e-2d7c1a0b4e61",
    position: "long",
    priceOpen: 23423.17,
    priceTakeProfit: 23657.4,
    priceStopLoss: 23188.94,
    minuteEstimatedTime: 60,
    note: "",
    symbol: key.slice(0, colon),
    strategyName: key.slice(colon + 1),
    exchangeName: "replay",
    scheduledAt: T,
    pendingAt: T,
    ...fields,
  };
}

/** `main` in this process; stdin a terminal that answers `answer`, or not a terminal. */
async function inProcess(args: string[], input: { tty: boolean; answer?: string } = { tty: false }): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const stdin = Object.assign(new PassThrough(), { isTTY: input.tty });
  if (input.answer !== undefined) stdin.end(input.answer);
  const code = await main(args, new Terminal({ write: (text: string) => (out += text) }, { write: (text: string) => (err += text) }, stdin));
  return { code, out, err };
}

const TITLE_KEY = `BTCUSDT${OSC}:momentum`;
const NEWLINE_KEY = "ETH\nUSDT:x";
const LONG_KEY = `${"A".repeat(300)}:long`;

async function hostileStore(): Promise<string> {
  const dir = await mkdtemp(join(work, "store-"));
  const store = fileStore(dir);
  await store.write(TITLE_KEY, encodeState({ status: "opened", signal: signal(TITLE_KEY, { id: `id${OSC}\u009b2J`, exchangeName: "rep\tlay" }) }));
  await store.write(NEWLINE_KEY, { hello: "wor\u001b[2Jld" });
  await store.write(LONG_KEY, encodeState({ status: "opened", signal: signal(LONG_KEY, { id: "x".repeat(100) }) }));
  return dir;
}

describe("visible, cell: control characters as escapes, long values cut", () => {
  it("escapes C0, DEL, C1 and bidirectional overrides; leaves other text and backslashes alone", () => {
    expect(visible(`a${OSC}b\nc\td\u007f\u009b\u202e`)).toBe("a\\u001b]0;pwned\\u0007b\\nc\\td\\u007f\\u009b\\u202e");
    expect(visible("BTC/USDT:USDT é 中 C:\\dump")).toBe("BTC/USDT:USDT é 中 C:\\dump");
    expect(cell("A".repeat(300), 48)).toBe(`${"A".repeat(47)}…`);
    expect(cell("short", 48)).toBe("short");
  });

  it("demo and live trade lines, the status line and the stop message show a signal id and a symbol escaped", () => {
    const id = `sig${OSC}\nFAKE`;
    const row = signal("BTCUSDT:m", { id });
    const opened = { action: "opened", signal: row, currentPrice: 23423.17, timestamp: T, symbol: "BTCUSDT", strategyName: "m", exchangeName: "replay" } as unknown as TickResult;
    expect(eventLine(opened, null)).toBe("2023-03-01 03:23  OPENED     long  @ 23423.17  TP 23657.40  SL 23188.94  sig\\u001b]0;pwned\\u0007\\nFAKE");
    expect(statusLine(opened, `BTC${OSC}`, { totalClosed: 0, totalPnl: 0 })).toMatch(/^2023-03-01 03:23 {2}BTC\\u001b\]0;pwned\\u0007 23423\.17 │ LONG @ 23423\.17, unrealized .* \(sig\\u001b\]0;p\) │/);
    expect(describeHeld({ status: "opened", signal: row })).toBe("signal sig\\u001b]0;pwned\\u0007\\nFAKE (long @ 23423.17)");
  });
});

describe("Terminal: no control character but the line break reaches the terminal, whoever wrote the text", () => {
  it("line, warn and ask escape them; the status line is one line, with only its own redraw sequence", async () => {
    let out = "";
    let err = "";
    const stdin = Object.assign(new PassThrough(), { isTTY: true });
    const terminal = new Terminal({ write: (text: string) => (out += text), isTTY: true, columns: 200 }, { write: (text: string) => (err += text) }, stdin);
    terminal.status(`status${OSC}\nline`);
    expect(out).toBe("\r\u001b[2Kstatus\\u001b]0;pwned\\u0007\\nline");
    out = "";
    terminal.endStatus();
    terminal.line(`one${OSC}\ntwo`);
    terminal.warn(`warn\u009b2J`);
    stdin.end("n\n");
    await terminal.ask(`ask\u001b[2J? `);
    expect(out).toBe("\r\u001b[2Kone\\u001b]0;pwned\\u0007\ntwo\n");
    expect(err).toBe("warn\\u009b2J\nask\\u001b[2J? ");
  });
});

describe("rxtrade store list and clear with hostile keys", () => {
  it("the table: one row per key, control characters escaped, a 300-character key cut with an ellipsis and a note; nothing raw reaches the terminal", async () => {
    const dir = await hostileStore();
    const { code, out, err } = await inProcess(["store", "list", "--store", dir]);
    expect({ code, err }).toEqual({ code: 0, err: "" });
    expect(out).not.toMatch(RAW_CONTROL);
    const lines = out.split("\n");
    expect(lines[0]).toBe(`Store ${dir}: 3 keys`);
    expect(lines[2]).toMatch(/^KEY +STATE +SINCE \(UTC\) +SIGNAL +LOCK$/);
    const rows = lines.slice(3, 6).map((line) => line.split(/ {2,}/));
    expect(rows).toEqual([
      [`${"A".repeat(63)}…`, "opened", "2023-03-01 03:23", `${"x".repeat(39)}…`, "long @ 23423.17 on replay", "-"],
      ["BTCUSDT\\u001b]0;pwned\\u0007:momentum", "opened", "2023-03-01 03:23", "id\\u001b]0;pwned\\u0007\\u009b2J", "long @ 23423.17 on rep\\tlay", "-"],
      ["ETH\\nUSDT:x", "unrecognised", "-", "-", "-"],
    ]);
    expect(lines[6]).toBe("");
    expect(lines[7]).toBe(
      'ETH\\nUSDT:x: unrecognised: a value rxtrade does not recognise (expected { version: 1, status, signal }): {"hello":"wor\\u001b[2Jld"}; a run on this key stops with StoreConflictError; rxtrade store clear $\'ETH\\nUSDT:x\' removes it.',
    );
    expect(lines[8]).toBe("Values cut to fit end in …; rxtrade store list --json prints them whole.");
    expect(lines.slice(9)).toEqual([""]);
  });

  it("--json: every key, id and exchange exactly as stored (valid JSON, no raw control character)", async () => {
    const dir = await hostileStore();
    const { code, out } = await inProcess(["store", "list", "--store", dir, "--json"]);
    expect(code).toBe(0);
    expect(out).not.toMatch(RAW_CONTROL);
    const listed = JSON.parse(out) as { keys: Array<{ key: string; signal: SignalRow | null }> };
    expect(listed.keys.map((k) => k.key)).toEqual([LONG_KEY, TITLE_KEY, NEWLINE_KEY]);
    expect(listed.keys[0]?.signal?.id).toBe("x".repeat(100));
    expect(listed.keys[1]?.signal).toMatchObject({ id: `id${OSC}\u009b2J`, exchangeName: "rep\tlay" });
  });

  it("clear: the question, the refusal without --yes, an unknown key and the removal echo the key escaped", async () => {
    const dir = await hostileStore();
    const asked = await inProcess(["store", "clear", TITLE_KEY, "--store", dir], { tty: true, answer: "n\n" });
    expect(asked.code).toBe(1);
    expect(asked.err).toBe(
      `Remove BTCUSDT\\u001b]0;pwned\\u0007:momentum from ${dir}? It holds opened signal id\\u001b]0;pwned\\u0007\\u009b2J (long @ 23423.17 on rep\\tlay, since 2023-03-01 03:23 UTC); rxtrade will no longer monitor that signal. [y/N] `,
    );
    expect(asked.out).toBe("Not removed: BTCUSDT\\u001b]0;pwned\\u0007:momentum still holds opened signal id\\u001b]0;pwned\\u0007\\u009b2J (long @ 23423.17 on rep\\tlay, since 2023-03-01 03:23 UTC).\n");

    const noYes = await inProcess(["store", "clear", NEWLINE_KEY, "--store", dir]);
    expect(noYes.code).toBe(2);
    expect(noYes.err.split("\n")[0]).toBe(`rxtrade store: not asking for a confirmation without a terminal: pass --yes to remove ETH\\nUSDT:x from ${dir}; it holds a value rxtrade does not recognise`);

    const unknown = await inProcess(["store", "clear", `BTCUSDT${OSC}:momentun`, "--store", dir, "--yes"]);
    expect(unknown.code).toBe(2);
    expect(unknown.err.split("\n")[0]).toBe(
      `rxtrade store: no key "BTCUSDT\\u001b]0;pwned\\u0007:momentun" in ${dir}; did you mean BTCUSDT\\u001b]0;pwned\\u0007:momentum? (keys: ${"A".repeat(300)}:long, BTCUSDT\\u001b]0;pwned\\u0007:momentum, ETH\\nUSDT:x)`,
    );

    const removed = await inProcess(["store", "clear", TITLE_KEY, "--store", dir, "--yes"]);
    expect(removed).toEqual({
      code: 0,
      out: `Removed BTCUSDT\\u001b]0;pwned\\u0007:momentum from ${dir} (it held opened signal id\\u001b]0;pwned\\u0007\\u009b2J (long @ 23423.17 on rep\\tlay, since 2023-03-01 03:23 UTC)).\n`,
      err: "",
    });
    for (const text of [asked.out, asked.err, noYes.err, unknown.err]) expect(text).not.toMatch(RAW_CONTROL);
  });

  it("a lock file naming a hostile host: the list and the refusal show the host escaped", async () => {
    const dir = await hostileStore();
    const host = `db${OSC}\nFAKE`;
    const lock = `${fileStore(dir).pathOf(TITLE_KEY)}.lock`;
    await writeFile(lock, JSON.stringify({ pid: 4242, hostname: host, since: new Date(T).toISOString(), token: "t" }));
    expect(host).not.toBe(hostname());
    const listed = await inProcess(["store", "list", "--store", dir]);
    expect(listed.out).not.toMatch(RAW_CONTROL);
    expect(listed.out).not.toMatch(/^FAKE/m);
    expect(listed.out).toContain("pid 4242 on host db\\u001b]0;pwned\\u0007\\nFAKE (cannot tell whether it runs; see below)");
    const refused = await inProcess(["store", "clear", TITLE_KEY, "--store", dir, "--yes"]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^rxtrade store: cannot clear BTCUSDT\\u001b\]0;pwned\\u0007:momentum: it is locked by process 4242 on host db\\u001b\]0;pwned\\u0007\\nFAKE, which cannot be proven gone from here \(/);
    expect(refused.err).not.toMatch(RAW_CONTROL);
  });
});

// A strategy whose name and signal ids carry an OSC sequence and a line break.
const HOSTILE_STRATEGY = String.raw`export const strategy = {
  strategyName: "evil\u001b]0;pwned\u0007\nFAKE",
  interval: "1m",
  getSignal: (_symbol, when, { currentPrice }) => ({
    id: "sig\u001b]0;pwned\u0007\nFAKE-" + when.getTime(),
    position: "long",
    priceTakeProfit: currentPrice * 1.15,
    priceStopLoss: currentPrice * 0.85,
    minuteEstimatedTime: 240,
    note: "note\u001b[2J",
  }),
};
`;

describe("the demo and a live run with a hostile strategy", () => {
  it("the header, the trade lines, a resumed signal and the statistics' title show the name and the id escaped", async () => {
    const cwd = await mkdtemp(join(work, "demo-"));
    await writeFile(join(cwd, "evil.mjs"), HOSTILE_STRATEGY);
    const args = ["demo", "--strategy", "./evil.mjs", "--store", "store", "--from", "2023-03-01T02:00Z"];
    const first = new Child(cli, [...args, "--speed", "600"], { cwd });
    await first.waitFor(/OPENED .*\n/, 20_000);
    first.kill("SIGKILL");
    await first.exited;
    const second = await run(cli, ["demo", "--strategy", "./evil.mjs", "--store", "store", "--minutes", "1", "--speed", "100000"], { cwd, timeoutMs: 30_000 });
    expect(second.code, second.stderr).toBe(0);
    for (const text of [first.stdout, first.stderr, second.stdout, second.stderr]) {
      expect(text).not.toMatch(RAW_CONTROL);
      expect(text).not.toMatch(/^FAKE/m);
    }
    expect(first.stdout).toContain("strategy evil\\u001b]0;pwned\\u0007\\nFAKE · store store · 600 simulated min/s");
    expect(first.stdout).toMatch(/^2023-03-01 02:00 {2}OPENED {5}long {2}@ [\d.]+ {2}TP [\d.]+ {2}SL [\d.]+ {2}sig\\u001b\]0;pwned\\u0007\\nFAKE-\d+$/m);
    expect(second.stdout).toMatch(/^resumed signal sig\\u001b\]0;pwned\\u0007\\nFAKE-\d+: long @ /m);
    expect(second.stdout).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d {2}CLOSED .* {2}sig\\u001b\]0;pwned\\u0007\\nFAKE-\d+$/m);
    expect(second.stdout).toMatch(/^Statistics of BTCUSDT:evil\\u001b\]0;pwned\\u0007\\nFAKE since 2023-03-01 02:00 UTC /m);
    // The report's file name has no control character either (reportFileName).
    expect(second.stdout).toMatch(/^Report: dump\/\w+\/BTCUSDT_evil-\]0;pwned--FAKE\.md$/m);
  }, 60_000);

  it("live: the header with a hostile symbol and strategy name, and the trade lines", async () => {
    const cwd = await mkdtemp(join(work, "live-"));
    await writeFile(join(cwd, "evil.mjs"), HOSTILE_STRATEGY);
    const child = new Child(cli, ["live", "--exchange", rising, "--symbol", `TEST${OSC}USD`, "--strategy", "./evil.mjs", "--tick-ms", "100", "--store", "store"], { cwd });
    await child.waitFor(/OPENED .*\n/, 20_000);
    child.kill("SIGINT");
    await child.waitFor(/stopping gracefully/, 10_000);
    child.kill("SIGINT");
    const exit = await child.exited;
    expect(exit.code).toBe(130);
    for (const text of [exit.stdout, exit.stderr]) {
      expect(text).not.toMatch(RAW_CONTROL);
      expect(text).not.toMatch(/^FAKE/m);
    }
    expect(exit.stdout).toMatch(/^rxtrade live · TEST\\u001b\]0;pwned\\u0007USD on \S+ · strategy evil\\u001b\]0;pwned\\u0007\\nFAKE · store store · /m);
    expect(exit.stdout).toMatch(/ {2}OPENED {5}long {2}@ [\d.]+ .* {2}sig\\u001b\]0;pwned\\u0007\\nFAKE-\d+$/m);
    expect(exit.stderr).toContain("exiting at once; signal sig\\u001b]0;pwned\\u0007\\nFAKE-");
  }, 60_000);
});
