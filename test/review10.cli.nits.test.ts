// Review of issue 10, item 3 (nits of the command line): an unknown flag is echoed as it was
// given; the demo's header gives the tick's wall-clock period in µs when it is under 0.1 ms;
// the demo writes its report to its own folder (./dump/demo), so `rxtrade live` on the same
// symbol and strategy no longer overwrites it; `store clear` without a terminal and without
// --yes is a usage error (exit 2) before the key's lock is looked at.
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeState } from "rxtrade";
import { fileStore } from "rxtrade/node";
import { wallPeriod } from "../src/cli/format";
import { main } from "../src/cli/main";
import { Terminal } from "../src/cli/terminal";
import { bundle, Child, run } from "./fixtures/processHarness";

const rising = fileURLToPath(new URL("./fixtures/cliRisingExchange.mjs", import.meta.url));

let work: string;
let cli: string[];
beforeAll(async () => {
  [cli, work] = await Promise.all([bundle("src/cli/index.ts"), mkdtemp(join(tmpdir(), "rxtrade-review10-nits-"))]);
}, 30_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
  if (cli !== undefined) await rm(dirname(cli[1] as string), { recursive: true, force: true });
});

/** `main` in this process; stdin a terminal or not. */
async function inProcess(args: string[], tty = false): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const stdin = Object.assign(new PassThrough(), { isTTY: tty });
  const code = await main(args, new Terminal({ write: (text: string) => (out += text) }, { write: (text: string) => (err += text) }, stdin));
  return { code, out, err };
}

describe("an unknown flag is named as it was given", () => {
  it.each([
    [["store", "clear", "BTCUSDT:momentum", "--yes:m"], "rxtrade store: unknown flag --yes:m; did you mean --yes?"],
    [["store", "list", "--json.pretty"], "rxtrade store: unknown flag --json.pretty; did you mean --json?"],
    [["store", "list", "--yes"], "rxtrade store: unknown flag --yes"],
    [["demo", "--sped=10"], "rxtrade demo: unknown flag --sped; did you mean --speed?"],
    [["demo", "--it's"], "rxtrade demo: unknown flag --it's"],
  ])("rxtrade %j", async (args, message) => {
    expect(await inProcess(args)).toEqual({ code: 2, out: "", err: `${message}\nRun '${message.split(":")[0]} --help' for the flags.\n` });
  });
});

describe("rxtrade store clear on a key a running process holds", () => {
  it("without a terminal and without --yes: exit 2 (the command line is wrong) before the lock is looked at; with --yes, or on a terminal: exit 1, locked", async () => {
    const dir = await mkdtemp(join(work, "locked-"));
    const store = fileStore(dir);
    const T = Date.parse("2023-03-01T03:23:00Z");
    const key = "BTCUSDT:momentum";
    const signal = { id: "e7be98dd-5c1a-4b9e-9f3e-2d7c1a0b4e61", position: "long", priceOpen: 23423.17, priceTakeProfit: 23657.4, priceStopLoss: 23188.94, minuteEstimatedTime: 60, note: "", symbol: "BTCUSDT", strategyName: "momentum", exchangeName: "replay", scheduledAt: T, pendingAt: T } as const;
    await store.write(key, encodeState({ status: "opened", signal }));
    // This process holds the key, as a run does.
    const release = await store.lock(key);
    try {
      expect(await inProcess(["store", "clear", key, "--store", dir])).toEqual({
        code: 2,
        out: "",
        err:
          `rxtrade store: not asking for a confirmation without a terminal: pass --yes to remove ${key} from ${dir}; it holds opened signal ${signal.id} (long @ 23423.17 on replay, since 2023-03-01 03:23 UTC)\n` +
          "Run 'rxtrade store --help' for the flags.\n",
      });
      const locked = `rxtrade store: cannot clear ${key}: it is locked by process ${process.pid} on host ${hostname()}, which is running`;
      const withYes = await inProcess(["store", "clear", key, "--store", dir, "--yes"]);
      expect(withYes.code).toBe(1);
      expect(withYes.err.startsWith(locked)).toBe(true);
      // On a terminal nothing is asked: the answer could not change the refusal.
      const onTerminal = await inProcess(["store", "clear", key, "--store", dir], true);
      expect(onTerminal.code).toBe(1);
      expect(onTerminal.err.startsWith(locked)).toBe(true);
      expect(await store.read(key)).toMatchObject({ status: "opened" });
    } finally {
      release();
    }
  });

  it("the help says the same order", async () => {
    const { out } = await inProcess(["store", "--help"]);
    expect(out).toContain("2 a wrong command line (an unknown key; clear without --yes when nothing can ask) — checked\n    first: a wrong command line is exit 2 even for a key that is locked\n");
  });
});

describe("the demo's header: the wall-clock period of a tick", () => {
  it("in ms with one decimal down to 0.1 ms, in µs below (never '0.0 ms')", () => {
    const period = (speed: number) => wallPeriod((60_001 * 1000) / (speed * 60_000));
    expect([1, 240, 600, 10_000, 20_000, 100_000].map(period)).toEqual(["1000 ms", "4.2 ms", "1.7 ms", "0.1 ms", "50 µs", "10 µs"]);
  });

  it("rxtrade demo --speed 100000 says a tick every 10 µs", async () => {
    const cwd = await mkdtemp(join(work, "fast-"));
    const exit = await run(cli, ["demo", "--speed", "100000", "--minutes", "10"], { cwd, timeoutMs: 30_000 });
    expect(exit.code, exit.stderr).toBe(0);
    expect(exit.stdout.split("\n")[1]).toBe("strategy momentum · store .rxtrade-demo · 100000 simulated min/s (a 60001 ms tick every 10 µs)");
  });
});

const QUICK_MOMENTUM = `export const strategy = {
  strategyName: "momentum",
  interval: "1m",
  getSignal: (_symbol, _when, { currentPrice }) => ({ position: "long", priceTakeProfit: currentPrice * 1.05, priceStopLoss: currentPrice * 0.95, minuteEstimatedTime: 60 }),
};
`;

describe("the demo's report has its own folder", () => {
  it("rxtrade demo writes ./dump/demo/BTCUSDT_momentum.md; rxtrade live on BTCUSDT with momentum then writes ./dump/live/ and leaves the demo's report as it was", async () => {
    const cwd = await mkdtemp(join(work, "reports-"));
    const demo = await run(cli, ["demo", "--speed", "100000", "--minutes", "600"], { cwd, timeoutMs: 30_000 });
    expect(demo.code, demo.stderr).toBe(0);
    expect(demo.stdout).toMatch(/^Report: dump\/demo\/BTCUSDT_momentum\.md$/m);
    const report = await readFile(join(cwd, "dump/demo/BTCUSDT_momentum.md"), "utf8");
    expect(report).toMatch(/^# Live Trading Report: momentum\n/);

    // A strategy of the same name that opens at once (the example needs minutes of live prices first).
    await writeFile(join(cwd, "quick.mjs"), QUICK_MOMENTUM);
    const live = new Child(cli, ["live", "--exchange", rising, "--symbol", "BTCUSDT", "--strategy", "./quick.mjs", "--tick-ms", "100"], { cwd });
    await live.waitFor(/^rxtrade live · BTCUSDT on rising · strategy momentum · /m, 20_000);
    await live.waitFor(/ OPENED .*\n/, 20_000);
    live.kill("SIGTERM");
    const stopped = await live.exited;
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stdout).toMatch(/^Report: dump\/live\/BTCUSDT_momentum\.md$/m);
    expect(existsSync(join(cwd, "dump/live/BTCUSDT_momentum.md"))).toBe(true);
    expect(await readFile(join(cwd, "dump/demo/BTCUSDT_momentum.md"), "utf8")).toBe(report);
  }, 60_000);

  it("the demo's help names its report folder, and a folder that cannot be written is refused with the demo's own example", async () => {
    expect((await inProcess(["demo", "--help"])).out).toContain("  --report-dir DIR   where the Markdown report is written (default ./dump/demo; live's is\n                     ./dump/live)\n");
    expect((await inProcess(["demo", "--report-dir="])).err).toBe("rxtrade demo: --report-dir needs a folder, got an empty value; e.g. --report-dir ./dump/demo\nRun 'rxtrade demo --help' for the flags.\n");
    expect((await inProcess(["demo", "--store="])).err).toBe("rxtrade demo: --store needs a folder, got an empty value; e.g. --store ./.rxtrade-demo\nRun 'rxtrade demo --help' for the flags.\n");
  });
});
