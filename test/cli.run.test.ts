// `rxtrade run <config.json>` as a real process (bundled from src/cli by the process harness):
// a wrong config file lists every problem with its pair and field and starts nothing (exit 2);
// a good one runs its pairs on the bundled exchange with --speed, logs JSON lines to stdout,
// serves /metrics, /health and /api/pairs on a loopback port, drains on SIGTERM (exit 0) and
// exits at once with 130 on a second signal, the open signal resumed by the next start.
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/cli/main";
import { Terminal } from "../src/cli/terminal";
import { bundle, Child, type Exit, run } from "./fixtures/processHarness";
import { parsePrometheusText, sampleValue } from "./fixtures/prometheusText";

const hold = fileURLToPath(new URL("./fixtures/cliHoldStrategy.mjs", import.meta.url));

let cli: string[];
let work: string;

beforeAll(async () => {
  [cli, work] = await Promise.all([bundle("src/cli/index.ts"), mkdtemp(join(tmpdir(), "rxtrade-cli-run-"))]);
}, 30_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
  if (cli !== undefined) await rm(dirname(cli[1] as string), { recursive: true, force: true });
});

/** A folder with `config.json` (and any other files) in `conf/`; the process runs from the folder, not from conf/. */
async function project(name: string, config: unknown, files: Record<string, string> = {}): Promise<{ cwd: string; config: string }> {
  const cwd = await mkdtemp(join(work, `${name}-`));
  await mkdir(join(cwd, "conf"));
  for (const [file, text] of Object.entries(files)) await writeFile(join(cwd, "conf", file), text);
  await writeFile(join(cwd, "conf", "config.json"), typeof config === "string" ? config : JSON.stringify(config, null, 2));
  return { cwd, config: "conf/config.json" };
}

/**
 * `rxtrade <args>` run in this process through the bin's `main`, from `cwd` and with `env` over
 * this process's, as `run` would spawn it: for refusals that start nothing (a process of their
 * own would only cost a Node start each); the bin itself refuses a config file below (exit 2).
 */
async function inProcess(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Exit> {
  let stdout = "";
  let stderr = "";
  const terminal = new Terminal({ write: (text: string) => (stdout += text) }, { write: (text: string) => (stderr += text) });
  const was = process.cwd();
  const saved = Object.fromEntries(Object.keys(options.env ?? {}).map((name) => [name, process.env[name]]));
  const setEnv = (env: NodeJS.ProcessEnv) => {
    for (const [name, value] of Object.entries(env)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  process.chdir(options.cwd);
  setEnv(options.env ?? {});
  try {
    const code = await main(args, terminal);
    return { code, signal: null, stdout, stderr };
  } finally {
    process.chdir(was);
    setEnv(saved);
  }
}

const logLines = (stdout: string) =>
  stdout
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Record<string, any>);

describe("a wrong command line or config file: exit 2, nothing started", () => {
  it("lists every problem of the file with its pair and field", async () => {
    const { cwd, config } = await project(
      "problems",
      {
        pairs: [
          { symbol: "BTCUSDT", strategy: "momentun", exchange: "bundled" },
          { symbol: "ETHUSDT", strategy: "./strategies/nope.mjs", exchange: "bundled", tickMs: 5 },
          { symbol: "SOLUSDT", strategy: "momentum", exchange: "./exchange.mjs", config: { CC_STALL_TICKS: 0 } },
          { symbol: "BTCUSDT", strategy: "ma-cross", exchange: "bundled" },
          { symbol: "BTCUSDT", strategy: "ma-cross", exchange: "bundled", colour: "red" },
        ],
        store: "data",
        logLevel: "info",
      },
      {},
    );
    const exit = await run(cli, ["run", config], { cwd });
    expect(exit.code).toBe(2);
    expect(exit.stdout).toBe("");
    expect(exit.stderr).toBe(
      [
        "rxtrade run: conf/config.json: 8 problems, nothing started:",
        "  logLevel: unknown key (known: pairs, store)",
        "  pairs[1] (ETHUSDT) tickMs: must be a whole number of ms from 100 to 86400000, got 5; e.g. 60001",
        "  pairs[2] (SOLUSDT) config: CC_STALL_TICKS (0) must be a positive integer",
        "  pairs[4] (BTCUSDT) colour: unknown key (known: symbol, strategy, exchange, tickMs, config)",
        '  pairs[0] (BTCUSDT) strategy: "momentun" is neither an example strategy nor a file path; did you mean momentum? (examples: momentum, ma-cross, breakout; a module: "./my-strategy.js", relative to the config file)',
        `  pairs[1] (ETHUSDT) strategy: ./strategies/nope.mjs: no such file (${join(cwd, "conf", "strategies", "nope.mjs")})`,
        `  pairs[2] (SOLUSDT) exchange: ./exchange.mjs: no such file (${join(cwd, "conf", "exchange.mjs")})`,
        "  pairs[4] (BTCUSDT) strategy: pair id BTCUSDT:ma-cross is also pairs[3]'s: one pair per symbol and strategy name (their loops would share one store key); remove one, or give one another strategy",
        "Run 'rxtrade run --help' for the flags.",
        "",
      ].join("\n"),
    );
    expect(existsSync(join(cwd, "conf", "data"))).toBe(false);
  });

  it.each([
    [["run"], "rxtrade run: the config file is required, e.g. rxtrade run ./rxtrade.json"],
    [["run", "missing.json"], "rxtrade run: missing.json ("],
    [["run", "conf/config.json", "--log-level", "loud"], 'rxtrade run: --log-level must be one of fatal, error, warn, info, debug, trace, silent, got "loud"; e.g. --log-level info'],
    [["run", "conf/config.json", "--http", "localhost"], 'rxtrade run: --http must be host:port (port 0 to 65535; 0 picks a free one), got "localhost"'],
    [["run", "conf/config.json", "--from", "2023-03-08T12:00Z"], "rxtrade run: --from sets where simulated clocks start: it needs --speed"],
    [["run", "conf/config.json", "--token", "0123456789abcdef0123"], "rxtrade run: --token guards the drain routes of the HTTP server: give --http too, e.g. --http 127.0.0.1:9464 (or leave --token out)"],
    [
      ["run", "conf/config.json", "--http", "127.0.0.1:0", "--token", "secret"],
      "rxtrade run: --token must be 16 or more visible ASCII characters, no spaces (it goes in an Authorization header), got 6 characters; e.g. --token $(openssl rand -hex 24)",
    ],
    [["run", "conf/config.json", "--http", "127.0.0.1:0", "--token"], "rxtrade run: --token needs a value, e.g. --token $(openssl rand -hex 24)"],
    [["run", "conf/config.json", "--speed", "600"], 'pairs[0] (BTCUSDT) exchange: binance is a real exchange, trading in real time: --speed runs simulated clocks, for bundled or an exchange module; leave --speed out, or use "exchange": "bundled"'],
  ])("rxtrade %j", async (args, message) => {
    const { cwd } = await project("flags", { pairs: [{ symbol: "BTCUSDT", strategy: "momentum", exchange: "binance" }] });
    const exit = await inProcess(args, { cwd });
    expect(exit.code).toBe(2);
    expect(exit.stdout).toBe("");
    expect(exit.stderr).toContain(message);
  });

  it("exits 1 when the --http address is taken, before any pair starts", async () => {
    const { createServer } = await import("node:http");
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const { cwd, config } = await project("taken", { pairs: [{ symbol: "BTCUSDT", strategy: "momentum", exchange: "bundled" }] });
      const exit = await run(cli, ["run", config, "--http", `127.0.0.1:${port}`], { cwd });
      expect(exit.code).toBe(1);
      expect(exit.stderr).toBe(`rxtrade run: cannot listen on 127.0.0.1:${port}: the address is in use (EADDRINUSE); give another --http, e.g. --http 127.0.0.1:9465\n`);
      expect(exit.stdout).not.toContain('"msg":"started"');
    } finally {
      taken.close();
    }
  });

  it("names a file that is not JSON, and a LOG_LEVEL that is not a level", async () => {
    const { cwd, config } = await project("json", '{ "pairs": [\n  { "symbol": "BTCUSDT", }\n] }');
    const exit = await inProcess(["run", config], { cwd });
    expect(exit).toMatchObject({ code: 2, stdout: "" });
    expect(exit.stderr).toMatch(/^rxtrade run: conf\/config\.json is not JSON \(line 2\): /);
    const level = await inProcess(["run", config], { cwd, env: { LOG_LEVEL: "verbose" } });
    expect(level.stderr).toContain('rxtrade run: LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"; e.g. LOG_LEVEL=info');
  });

  it("refuses an RXTRADE_TOKEN that is too short or has a space, without showing it", async () => {
    const { cwd, config } = await project("token", { pairs: [{ symbol: "BTCUSDT", strategy: "momentum", exchange: "bundled" }] });
    for (const [token, got] of [
      ["hunter2", "7 characters"],
      ["correct horse battery staple", "a space or a character outside visible ASCII"],
    ]) {
      const exit = await inProcess(["run", config, "--http", "127.0.0.1:0"], { cwd, env: { RXTRADE_TOKEN: token } });
      expect(exit).toMatchObject({ code: 2, stdout: "" });
      expect(exit.stderr).toBe(
        `rxtrade run: RXTRADE_TOKEN must be 16 or more visible ASCII characters, no spaces (it goes in an Authorization header), got ${got}; e.g. RXTRADE_TOKEN=$(openssl rand -hex 24)\nRun 'rxtrade run --help' for the flags.\n`,
      );
      expect(exit.stderr).not.toContain(token);
    }
  });
});

it("runs the pairs on the bundled exchange, serves /metrics, /health and /api/pairs, and drains on SIGTERM (exit 0)", async () => {
  const { cwd, config } = await project("service", {
    pairs: [
      { symbol: "BTCUSDT", strategy: "momentum", exchange: "bundled" },
      { symbol: "ETHUSDT", strategy: "momentum", exchange: "bundled", config: { CC_STALL_TICKS: 3 } },
      { symbol: "ETHUSDT", strategy: "./hold.mjs", exchange: "bundled" },
    ],
    store: "../store",
  }, { "hold.mjs": `export * from ${JSON.stringify(hold)};\n` });
  const child = new Child(cli, ["run", config, "--speed", "3000", "--from", "2023-03-08T12:00Z", "--http", "127.0.0.1:0"], { cwd });
  const [, port] = (await child.waitFor(/"port":(\d+)[^\n]*"msg":"listening"/)) as [string, string];
  await child.waitFor(/"msg":"closed"/, 15_000);
  const url = `http://127.0.0.1:${port}`;

  const metrics = parsePrometheusText(await (await fetch(`${url}/metrics`)).text());
  const closedBefore = logLines(child.stdout).filter((line) => line.msg === "closed").length;
  let closedTotal = 0;
  for (const [symbol, strategy] of [["BTCUSDT", "momentum"], ["ETHUSDT", "momentum"], ["ETHUSDT", "hold"]] as const) {
    expect(sampleValue(metrics, "rxtrade_ticks_total", { symbol, strategy })).toBeGreaterThan(10);
    for (const reason of ["take_profit", "stop_loss", "time_expired"]) closedTotal += sampleValue(metrics, "rxtrade_closed_total", { symbol, strategy, reason });
  }
  expect(closedTotal).toBeGreaterThanOrEqual(closedBefore);
  expect(sampleValue(metrics, "rxtrade_store_write_seconds_count")).toBeGreaterThan(0);
  expect(metrics.has("process_resident_memory_bytes")).toBe(true);

  const health = await fetch(`${url}/health`);
  expect(health.status).toBe(200);
  expect(await health.json()).toEqual({ status: "ok", draining: false, pairs: 3, stalled: [], failed: [] });
  const pairs = (await (await fetch(`${url}/api/pairs`)).json()) as Array<Record<string, any>>;
  // Under --speed the stall limit keeps its wall-clock length (CC_STALL_TICKS tick periods of
  // 60 s), like the engine's other time limits: on the pair's clock, which runs 180,000 times
  // faster (3000 simulated minutes per second), that is 5 x 60.001 x 180,000 s.
  expect(pairs.map((pair) => [pair.id, pair.exchange, pair.tickMs, pair.status])).toEqual([
    ["BTCUSDT:momentum", "bundled", 60_001, "running"],
    ["ETHUSDT:momentum", "bundled", 60_001, "running"],
    ["ETHUSDT:hold", "bundled", 60_001, "running"],
  ]);
  [5, 3, 5].forEach((ticks, i) => expect(pairs[i]!.stallLimitSeconds).toBeCloseTo(ticks * 60.001 * 180_000, 3));
  expect(pairs[0]!.lastTickAt > "2023-03-08T12:00").toBe(true);

  child.kill("SIGTERM");
  const exit = await child.exited;
  expect(exit.stderr).toBe("");
  expect(exit.code).toBe(0);
  const lines = logLines(exit.stdout);
  expect(lines.every((line) => typeof line.time === "string" && typeof line.level === "string")).toBe(true);
  expect(lines[0]).toMatchObject({ msg: "starting", pairs: 3, speed: 3000, from: "2023-03-08T12:00:00.000Z" });
  const stopping = lines.findIndex((line) => line.msg === "stopping");
  expect(lines[stopping]).toMatchObject({ level: "info", reason: "SIGTERM" });
  expect(lines.slice(stopping).filter((line) => line.msg === "done").map((line) => line.pair).sort()).toEqual(["BTCUSDT:momentum", "ETHUSDT:hold", "ETHUSDT:momentum"]);
  expect(lines.at(-1)).toMatchObject({ msg: "stopped", code: 0, failed: [] });
  // Every position opened was closed: the drain let each run to its end.
  const opened = lines.filter((line) => line.msg === "opened").map((line) => line.signalId).sort();
  expect(lines.filter((line) => line.msg === "closed").map((line) => line.signalId).sort()).toEqual(opened);
  expect(lines.filter((line) => line.level === "error")).toEqual([]);
  const closed = lines.find((line) => line.msg === "closed")!;
  expect(Object.keys(closed)).toEqual(expect.arrayContaining(["pair", "symbol", "strategy", "signalId", "action", "price", "reason", "pnlPercent", "at"]));
  // The trades are journaled in the store (at level trades).
  expect((await readdir(join(cwd, "store", "journal"))).length).toBe(3);
}, 40_000);

// (The page itself is tested in process and in Chromium: test/service.routes.test.ts, test/service.dashboard.test.ts.)
it("with RXTRADE_TOKEN: drains a pair on POST /api/pairs/<id>/drain, and exits 0 after POST /api/drain", async () => {
  const { cwd, config } = await project("drain", {
    pairs: [
      { symbol: "BTC/USDT", strategy: "momentum", exchange: "bundled" },
      { symbol: "ETHUSDT", strategy: "momentum", exchange: "bundled" },
    ],
    store: "../store-drain",
  });
  const token = "cli-run-test-token-5f2c8e0a";
  const child = new Child(cli, ["run", config, "--speed", "3000", "--from", "2023-03-08T12:00Z", "--http", "127.0.0.1:0"], { cwd, env: { RXTRADE_TOKEN: token } });
  const [listening, port] = (await child.waitFor(/^.*"port":(\d+)[^\n]*"msg":"listening".*$/m)) as [string, string];
  expect(JSON.parse(listening)).toMatchObject({ drain: "on (token)", routes: expect.arrayContaining(["/", "/api/events", "POST /api/drain"]) });
  const url = `http://127.0.0.1:${port}`;
  const bearer = { authorization: `Bearer ${token}` };
  const btc = `${url}/api/pairs/${encodeURIComponent("BTC/USDT:momentum")}/drain`;
  expect((await fetch(btc, { method: "POST", headers: { authorization: "Bearer wrong-token-of-some-length" } })).status).toBe(403);
  const drained = await fetch(btc, { method: "POST", headers: bearer });
  expect([drained.status, await drained.json()]).toEqual([200, { id: "BTC/USDT:momentum", draining: true }]);
  await child.waitFor(/"pair":"BTC\/USDT:momentum"[^\n]*"msg":"draining"/);
  const pairs = (await (await fetch(`${url}/api/pairs?equity=false`)).json()) as Array<{ id: string; draining: boolean }>;
  expect(pairs.map((pair) => [pair.id, pair.draining])).toEqual([
    ["BTC/USDT:momentum", true],
    ["ETHUSDT:momentum", false],
  ]);

  const all = await fetch(`${url}/api/drain`, { method: "POST", headers: bearer });
  expect(all.status).toBe(200);
  const exit = await child.exited;
  expect(exit).toMatchObject({ code: 0, stderr: "" });
  const lines = logLines(exit.stdout);
  expect(lines.find((line) => line.msg === "stopping")).toMatchObject({ reason: "POST /api/drain from 127.0.0.1" });
  expect(lines.filter((line) => line.msg === "done").map((line) => line.pair).sort()).toEqual(["BTC/USDT:momentum", "ETHUSDT:momentum"]);
  expect(lines.at(-1)).toMatchObject({ msg: "stopped", code: 0 });
  expect(exit.stdout).not.toContain(token);
}, 30_000);

it("exits at once with 130 on a second signal, and the next start resumes the open signal and closes it once", async () => {
  const { cwd, config } = await project("forced", {
    pairs: [{ symbol: "BTCUSDT", strategy: hold, exchange: "bundled" }],
  });
  const args = ["run", config, "--speed", "100", "--from", "2023-03-08T12:00Z"];
  const child = new Child(cli, args, { cwd });
  const [, signalId] = (await child.waitFor(/"signalId":"([0-9a-f-]{36})"[^\n]*"msg":"opened"/)) as [string, string];
  child.kill("SIGTERM");
  await child.waitFor(/"msg":"draining"/);
  child.kill("SIGINT");
  const exit = await child.exited;
  expect(exit.code).toBe(130);
  expect(logLines(exit.stdout).at(-1)).toMatchObject({ level: "warn", signal: "SIGINT", open: ["BTCUSDT:hold"] });

  // The clock starts where the signal opened (not before it), and the drain waits for its close.
  const again = new Child(cli, args, { cwd });
  const [line] = (await again.waitFor(/^.*"msg":"resumed".*$/m)) as [string];
  expect(JSON.parse(line)).toMatchObject({ pair: "BTCUSDT:hold", signalId, status: "opened", position: "long" });
  await again.waitFor(/"msg":"started"/);
  again.kill("SIGTERM");
  const end = await again.exited;
  expect(end, end.stdout).toMatchObject({ code: 0, stderr: "" });
  const lines = logLines(end.stdout);
  expect(lines.filter((l) => l.msg === "opened")).toEqual([]);
  expect(lines.filter((l) => l.msg === "closed")).toEqual([expect.objectContaining({ signalId, reason: "time_expired" })]);
}, 30_000);
