// Issue 11, item 4 (a new feature): `rxtrade backtest` in this process — its command-line
// checks (exit 2, the flag, the value and the fix, before anything runs) and its progress bar,
// drawn in place on a terminal's stderr and not at all elsewhere. The runs themselves, the
// worker threads and the comparison with the demo are in test/cli.backtest.test.ts.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backtestCommand, ProgressBar } from "../src/cli/backtestCommand";
import { main } from "../src/cli/main";
import { Terminal } from "../src/cli/terminal";

let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "rxtrade-backtest-command-"));
  await writeFile(join(work, "prices.csv"), "time,price\n1677628800000,100\n");
  await writeFile(join(work, "ETHUSDT.csv"), "timestamp,open,high,low,close,volume\n1677628800000,100,101,99,100,1\n1677628860000,100,101,99,oops,1\n");
  await mkdir(join(work, "empty"));
  await mkdir(join(work, "twice"));
  const row = "timestamp,open,high,low,close,volume\n1677628800000,100,101,99,100,1\n";
  await writeFile(join(work, "twice", "BTCUSDT_2023.csv"), row);
  await writeFile(join(work, "twice", "BTCUSDT_2024.csv"), row);
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Runs `rxtrade <args>` in this process; resolves the exit code and what went to stdout and stderr. */
async function rxtrade(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(args, new Terminal({ write: (text: string) => (out += text) }, { write: (text: string) => (err += text) }));
  return { code, out, err };
}

describe("rxtrade backtest: a wrong command line exits 2 before anything runs, naming the flag, the value and the fix", () => {
  // Paths under the test's folder, resolved when the test runs.
  const file = (name: string) => `$WORK/${name}`;
  it.each([
    [[], "rxtrade backtest: --strategy is required, e.g. --strategy momentum (examples: momentum, ma-cross, breakout) or --strategy ./my-strategy.mjs"],
    [["--strategy", "momentm"], 'rxtrade backtest: --strategy "momentm" is neither an example strategy nor a file; did you mean momentum?'],
    [["--strategy", "./missing.mjs"], "rxtrade backtest: --strategy ./missing.mjs: no such file"],
    [["--strategy", "momentum", "--from", "yesterday"], 'rxtrade backtest: --from "yesterday" is not a time; give ISO 8601 in UTC, e.g. --from 2023-03-08T12:00Z'],
    [["--strategy", "momentum", "--to", "2023-13-01"], 'rxtrade backtest: --to "2023-13-01" is not a time: there is no month 13; give ISO 8601 in UTC (YYYY-MM-DDTHH:MMZ), e.g. --to 2023-03-11T12:00Z'],
    [
      ["--strategy", "momentum", "--from", "2023-03-10T00:00Z", "--to", "2023-03-09T00:00Z"],
      "rxtrade backtest: --from 2023-03-10T00:00Z is not before --to 2023-03-09T00:00Z; give a window of at least a minute, e.g. --from 2023-03-08T12:00Z --to 2023-03-11T12:00Z",
    ],
    [["--strategy", "momentum", "--from", "2023-03-10T00:00Z", "--to", "2023-03-10T00:00Z"], "rxtrade backtest: --from 2023-03-10T00:00Z is not before --to 2023-03-10T00:00Z"],
    [
      ["--strategy", "momentum", "--from", "2024-01-01T00:00Z"],
      "rxtrade backtest: --from 2024-01-01T00:00Z is outside the data (2023-03-01 00:00 → 2023-03-21 23:59 UTC); give a time from 2023-03-01T00:05Z to 2023-03-21T23:59Z, e.g. --from 2023-03-01T02:00Z",
    ],
    [["--strategy", "momentum", "--to", "2023-03-01T01:00Z"], "rxtrade backtest: --to 2023-03-01T01:00Z is not after the start (two hours into the data, 2023-03-01T02:00Z); give a later --to"],
    [["--strategy", "momentum", "--data", "nowhere.csv"], "rxtrade backtest: --data nowhere.csv: no such file or folder; give bundled, a .csv or .csv.gz file, or a folder of them"],
    [["--strategy", "momentum", "--data", file("prices.csv")], `rxtrade backtest: --data ${file("prices.csv")}:1: the header "time,price" lacks timestamp (or open_time), open, high, low, close, volume`],
    [["--strategy", "momentum", "--data", file("ETHUSDT.csv")], `rxtrade backtest: --data ${file("ETHUSDT.csv")}:3: close "oops" is not a finite number`],
    [["--strategy", "momentum", "--data", file("empty")], `rxtrade backtest: --data ${file("empty")} holds no .csv or .csv.gz file; put one file of one-minute candles per symbol in it (e.g. BTCUSDT.csv)`],
    [["--strategy", "momentum", "--data", file("twice")], "BTCUSDT_2023.csv and BTCUSDT_2024.csv both name the symbol BTCUSDT"],
    [["--strategy", "momentum", "--data", file("twice"), "--symbol", "ETHUSDT"], "rxtrade backtest: --symbol goes with one file or --exchange"],
    [["--strategy", "momentum", "--exchange", "binance", "--data", "bundled"], "rxtrade backtest: --exchange and --data are two sources of candles; give one"],
    [["--strategy", "momentum", "--exchange", "binance"], "rxtrade backtest: --exchange needs --symbol, e.g. --exchange binance --symbol BTC/USDT"],
    [["--strategy", "momentum", "--exchange", "binance", "--symbol", "BTC/USDT"], "rxtrade backtest: --exchange needs --from (the window to fetch), e.g. --from 2024-05-01T00:00Z"],
    [["--strategy", "momentum", "--exchange", "Binance!", "--symbol", "BTC/USDT", "--from", "2024-05-01T00:00Z"], 'rxtrade backtest: --exchange "Binance!" is not a ccxt exchange id'],
    [["--strategy", "momentum", "--threads", "0"], 'rxtrade backtest: --threads must be a whole number from 1 to 64 (worker threads), got "0"; e.g. --threads 2'],
    [["--strategy", "momentum", "--tick-ms", "5"], 'rxtrade backtest: --tick-ms must be a whole number from 100 to 86400000 (ms between ticks), got "5"'],
    [["--stratgy", "momentum"], "rxtrade backtest: unknown flag --stratgy; did you mean --strategy?"],
  ])("rxtrade backtest %j", async (args, message) => {
    const { code, out, err } = await rxtrade(["backtest", ...args.map((arg) => arg.replace("$WORK", work))]);
    expect(code).toBe(2);
    expect(out).toBe("");
    expect(err).toContain(message.replace("$WORK", work));
    expect(err).toMatch(/Run 'rxtrade backtest --help' for the flags\.\n$/);
  });

  it("--help prints the usage and exits 0", async () => {
    const { code, out, err } = await rxtrade(["backtest", "--help"]);
    expect({ code, err }).toEqual({ code: 0, err: "" });
    expect(out).toContain("rxtrade backtest --strategy name|path [--data bundled|<file.csv[.gz]>|<folder>] [--from ISO] [--to ISO] [--json]");
  });
});

describe("rxtrade backtest's progress bar", () => {
  const args = ["--strategy", "momentum", "--from", "2023-03-08T12:00Z", "--to", "2023-03-09T00:00Z"];

  async function run(stderrIsTTY: boolean): Promise<{ code: number; out: string; err: string; bar: string }> {
    let out = "";
    let err = "";
    let bar = "";
    const reportDir = await mkdtemp(join(work, "reports-"));
    const terminal = new Terminal({ write: (text: string) => (out += text) }, { write: (text: string) => (err += text) });
    const stderr = { isTTY: stderrIsTTY, columns: 120, write: (text: string) => (bar += text) };
    const code = await backtestCommand([...args, "--report-dir", reportDir], terminal, stderr);
    return { code, out, err, bar };
  }

  it("is drawn on a terminal: redrawn in place on stderr (percent of the window, closed signals, the time), and erased before each line and at the end", async () => {
    const { code, out, bar } = await run(true);
    expect(code).toBe(0);
    // The first draw comes with the first tick: 0 % of the window, at its start.
    expect(bar.startsWith("\r\x1b[2K░░░░░░░░░░░░░░░░░░░░░░░░   0 % · 2023-03-08 12:00 · 0 closed")).toBe(true);
    expect(bar.endsWith("\r\x1b[2K")).toBe(true);
    expect(bar).not.toContain("\n");
    // Nothing of it on stdout, which holds the trades and the statistics as without a terminal.
    expect(out).not.toContain("\r");
    expect(out).toContain("2023-03-08 15:14  OPENED     long  @ 22118.46");
  });

  it("is not drawn when stderr is not a terminal, and stdout is the same", async () => {
    const tty = await run(true);
    const plain = await run(false);
    expect(plain.bar).toBe("");
    expect(plain.err).toBe("");
    const timeless = (text: string) => text.replace(/in \d+\.\d\d s \([\d,]+ candles\/s\)/, "in … s").replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, "<id>").replace(/reports-\w+/g, "reports");
    expect(timeless(plain.out)).toBe(timeless(tty.out));
  });
});

describe("ProgressBar", () => {
  it("shows the share done, the caller's note and the time left at the pace so far; at most every 100 ms", () => {
    let written = "";
    let now = 0;
    const bar = new ProgressBar({ isTTY: true, columns: 120, write: (text: string) => (written += text) }, () => now);
    now = 10_000;
    bar.update(0.25, "2023-03-09 06:00 · 3 closed", 0); // 10 s for a quarter: 30 s left
    expect(written).toBe("\r\x1b[2K██████░░░░░░░░░░░░░░░░░░  25 % · 2023-03-09 06:00 · 3 closed · ETA 30 s");
    written = "";
    now = 10_050;
    bar.update(0.3, "later", 0);
    expect(written).toBe(""); // within 100 ms of the last draw
    now = 100_000;
    bar.update(0.5, "1/2 files · 7 closed", 0);
    expect(written).toBe("\r\x1b[2K████████████░░░░░░░░░░░░  50 % · 1/2 files · 7 closed · ETA 1 min 40 s");
    written = "";
    bar.end();
    expect(written).toBe("\r\x1b[2K");
    bar.update(0.9, "after the end", 0);
    expect(written).toBe("\r\x1b[2K");
  });

  it("writes nothing at all when its output is not a terminal", () => {
    let written = "";
    const bar = new ProgressBar({ write: (text: string) => (written += text) }, () => 1_000);
    bar.update(0.5, "half", 0);
    bar.hide();
    bar.show();
    bar.end();
    expect(written).toBe("");
  });
});
