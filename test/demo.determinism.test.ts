// Issue 10, item 2: `rxtrade demo` is reproducible. The same flags give the same trades and
// statistics every run, whatever the machine's load: the demo's clock is virtual time paced
// by the wall clock, which moves to the next tick only once the store, the exchange and the
// strategy have answered. The real command line (bundled from src/cli by
// test/fixtures/processHarness.ts) runs twice with the same flags, once with the machine
// loaded by a busy-looping process, and the outputs are compared whole — only the signal ids
// (random) are replaced by their order of appearance. No trade count is written down here:
// run is compared with run, and with the README's sample output.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundle, type Exit, run } from "./fixtures/processHarness";

const root = fileURLToPath(new URL("../", import.meta.url));
/** The fastest pace: the runs take a second or two each, and the pace must not matter anyway. */
const FAST = "100000";

let cli: string[];
let work: string;
let slowStrategy: string;

// A strategy whose every answer takes a random real time (0 to 3 ms, after a candle read): the
// calls are in flight for as long as the machine takes, differently in every run.
const SLOW_STRATEGY = `export const strategy = {
  strategyName: "slow-momentum",
  interval: "5m",
  async getSignal(_symbol, _when, { currentPrice, getCandles }) {
    const candles = await getCandles("1m", 15);
    await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 4)));
    if (candles.length < 15) return null;
    const move = (currentPrice - candles[0].open) / candles[0].open;
    if (Math.abs(move) < 0.003) return null;
    const up = move > 0;
    return { position: up ? "long" : "short", priceTakeProfit: currentPrice * (up ? 1.006 : 0.994), priceStopLoss: currentPrice * (up ? 0.994 : 1.006), minuteEstimatedTime: 60 };
  },
};
`;

beforeAll(async () => {
  [cli, work] = await Promise.all([bundle("src/cli/index.ts"), mkdtemp(join(tmpdir(), "rxtrade-demo-determinism-"))]);
  slowStrategy = join(work, "slowMomentum.mjs");
  await writeFile(slowStrategy, SLOW_STRATEGY);
}, 30_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
  if (cli !== undefined) await rm(dirname(cli[1] as string), { recursive: true, force: true });
});

/**
 * Runs `rxtrade demo <args>` in a fresh folder (a fresh default store); with `loaded`, while a
 * busy-looping process takes a core (one, not all: the test suite runs beside it, and a
 * busy core already changes every call's timing).
 */
async function demo(name: string, args: readonly string[], loaded = false): Promise<Exit> {
  const cwd = await mkdtemp(join(work, `${name}-`));
  const hogs: ChildProcess[] = loaded ? [spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" })] : [];
  try {
    return await run(cli, ["demo", ...args], { cwd });
  } finally {
    for (const hog of hogs) hog.kill("SIGKILL");
  }
}

const ID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** The output with each signal id (and its 8-character prefix in status lines) replaced by `#n`, n its order of appearance. */
function withNumberedIds(text: string): string {
  const ids = [...new Set(text.match(ID) ?? [])];
  let out = text;
  ids.forEach((id, i) => {
    out = out.replaceAll(id, `#${i + 1}`).replaceAll(`(${id.slice(0, 8)})`, `(#${i + 1})`);
  });
  return out;
}

function tradeLines(stdout: string): string[] {
  return stdout.split("\n").filter((line) => /^\d{4}-\d\d-\d\d \d\d:\d\d {2}(SCHEDULED|OPENED|CLOSED|CANCELLED) /.test(line));
}

/** Runs the demo idle and loaded with the same flags, and returns both outputs, checked to be clean runs with trades. */
async function twice(name: string, args: readonly string[]): Promise<[string, string]> {
  const idle = await demo(`${name}-idle`, args);
  const loaded = await demo(`${name}-loaded`, args, true);
  for (const exit of [idle, loaded]) {
    expect(exit.stderr).toBe("");
    expect(exit.code).toBe(0);
    expect(exit.stdout).toContain("Statistics of this run\n");
  }
  // A comparison of two empty runs would prove nothing.
  expect(tradeLines(idle.stdout).length).toBeGreaterThan(0);
  return [withNumberedIds(idle.stdout), withNumberedIds(loaded.stdout)];
}

// The README's sample (`<!-- demo-output:start -->`, a ```text block, `<!-- demo-output:end -->`).
// Its first line may be the command (`$ npm run demo -- --minutes 1440`, `$ rxtrade demo …`);
// without one it is `npm run demo`, the quick start's command: no flags.
const README = readFileSync(join(root, "README.md"), "utf8");
const sample = readmeSample();

function readmeSample(): { args: string[]; text: string } | undefined {
  const start = README.indexOf("<!-- demo-output:start -->");
  const end = README.indexOf("<!-- demo-output:end -->");
  if (start < 0 || end < start) return undefined;
  const block = /```text\n([\s\S]*?)```/.exec(README.slice(start, end));
  if (block === null) throw new Error("README.md: put the demo's output in a ```text block between <!-- demo-output:start --> and <!-- demo-output:end -->");
  let text = block[1] as string;
  let args: string[] = [];
  const first = text.slice(0, text.indexOf("\n"));
  if (first.startsWith("$ ")) {
    const words = first.slice(2).trim().split(/\s+/);
    args = words.slice(words.indexOf("demo") + 1);
    if (args[0] === "--") args = args.slice(1);
    text = text.slice(first.length + 1);
  }
  return { args, text };
}

/** The sample's flags, at the fastest pace (the pace changes how long it takes, not what it prints). */
function sampleArgs(): string[] {
  const args = [...(sample?.args ?? [])];
  const speed = args.findIndex((arg) => arg === "--speed" || arg.startsWith("--speed="));
  if (speed >= 0) args.splice(speed, args[speed] === "--speed" ? 2 : 1);
  return [...args, "--speed", FAST];
}

/**
 * What may differ between the README's sample and a run of its flags here: the ids (random),
 * the pace in the header (and the tick's wall-clock period it implies), an absolute store or
 * report path, and the status lines (on a terminal one line redrawn in place; in a pipe a
 * `status …` line every 6 simulated hours).
 */
function comparable(text: string): string {
  return withNumberedIds(text)
    .split("\n")
    .filter((line) => !line.startsWith("status "))
    .map((line) =>
      line
        .replace(/ · [\d.]+ simulated min\/s \(a \d+ ms tick every [\d.]+ (?:ms|µs)\)$/, " · <pace>")
        .replace(/^(strategy \S+ · store )\/\S*/, "$1<store>")
        .replace(/^Store: \/\S*/, "Store: <store>")
        .replace(/^Report: \/\S*/, "Report: <report>"),
    )
    .join("\n")
    .trimEnd();
}

let sampleRun: Promise<[string, string]> | undefined;
const sampleRuns = () => (sampleRun ??= twice("sample", sampleArgs()));

describe("rxtrade demo: the same flags, the same trades and statistics", () => {
  it("the README's run (momentum, 3 simulated days): the whole output, idle and with every core busy", async () => {
    const [idle, loaded] = await sampleRuns();
    expect(loaded).toBe(idle);
  }, 60_000);

  it("an async strategy whose answers take a random real time: the whole output, idle and with every core busy", async () => {
    // Six hours of 10 March 2023 (the day SVB failed): seven signals opened and closed, more than
    // in a quieter whole day (three on 6 March), for a third of the ticks.
    const [idle, loaded] = await twice("slow", ["--strategy", slowStrategy, "--from", "2023-03-10T00:00Z", "--minutes", "360", "--speed", FAST]);
    expect(idle).toContain("strategy slow-momentum · store ");
    expect(idle).toContain("replaying from 2023-03-10 00:00; graceful stop at 2023-03-10 06:00 (6 h)");
    expect(loaded).toBe(idle);
  }, 60_000);

  it("the README's sample output is what the demo prints", async (context) => {
    if (sample === undefined) {
      console.warn(
        "demo.determinism: README.md has no <!-- demo-output:start --> / <!-- demo-output:end --> markers yet; the check of its sample output against the demo is skipped",
      );
      context.skip();
      return;
    }
    const [idle] = await sampleRuns();
    expect(comparable(idle)).toBe(comparable(sample.text));
  }, 60_000);
});
