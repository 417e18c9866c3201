// Issue 11, the last holes of its review (item 4): the commands told rxtrade's errors apart with
// `instanceof`, which fails when the error comes from another copy of the library than the
// command's classes — the built bin holds copies of what it imports by relative path (found with
// `rxtrade report`, fixed there alone), and a user's strategy, exchange or store module may load
// rxtrade from its own install. The error was then not explained but rethrown: "rxtrade:
// unexpected error" with a stack trace, or the wrong exit code. Now one helper
// (src/cli/rxtradeErrors.ts) checks the errors' stable `name`.
//
// The two copies are made here for real: the command line is bundled with its own copy of
// `rxtrade` (its error classes), while `rxtrade/node` (csvCandleFile, runReplay: what throws)
// is a library build of its own, loaded as a user's module loads the library, with its own
// copy of the error classes.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { BuildOptions, Plugin } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "./fixtures/processHarness";

const root = fileURLToPath(new URL("../", import.meta.url));
let dir: string;
let cli: string[];
let work: string;

beforeAll(async () => {
  const { build } = await import("esbuild");
  // Inside the repository, so that rxjs resolves from its node_modules.
  const cache = join(root, "node_modules", ".cache");
  await mkdir(cache, { recursive: true });
  dir = await mkdtemp(join(cache, "rxtrade-holes11-errors-"));
  work = await mkdtemp(join(tmpdir(), "rxtrade-holes11-errors-"));
  const common: BuildOptions = {
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "silent",
    tsconfig: join(root, "tsconfig.json"),
    external: ["ccxt", "tsx", "tsx/*", "pino", "prom-client", "ioredis"],
  };
  // The library's rxtrade/node, built alone: its error classes are its own.
  const library = join(dir, "rxtrade-node.mjs");
  await build({ ...common, entryPoints: [join(root, "src/node/index.ts")], outfile: library });
  // The command line, with its own copy of rxtrade, and rxtrade/node from that build.
  const libraryNode: Plugin = {
    name: "library-node",
    setup(b) {
      b.onResolve({ filter: /^rxtrade\/node$/ }, () => ({ path: pathToFileURL(library).href, external: true }));
    },
  };
  const outfile = join(dir, "cli.mjs");
  await build({ ...common, entryPoints: [join(root, "src/cli/index.ts")], outfile, plugins: [libraryNode] });
  cli = [process.execPath, outfile];
}, 60_000);

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe("an rxtrade error made by another copy of the library is the typed error the command explains", () => {
  it("rxtrade backtest --data: a CandleDataError (a row that is not a candle) is the usage error with the line, exit 2", async () => {
    const csv = join(work, "ETHUSDT.csv");
    await writeFile(csv, "timestamp,open,high,low,close,volume\n1677628800000,100,101,99,100,1\n1677628860000,100,101,99,oops,1\n");
    const exit = await run(cli, ["backtest", "--strategy", "momentum", "--data", csv], { cwd: work, timeoutMs: 20_000 });
    expect(exit.stderr).not.toContain("unexpected error");
    expect({ code: exit.code, stdout: exit.stdout }).toEqual({ code: 2, stdout: "" });
    expect(exit.stderr).toContain(`rxtrade backtest: --data ${csv}:3: close "oops" is not a finite number`);
  }, 30_000);

  it("rxtrade replay: a ReplayError (a journal recorded at level trades) is the usage error saying to record at level full, exit 2", async () => {
    const file = join(work, "BTCUSDT_momentum.000001.jsonl");
    const run0 = { kind: "run", key: "BTCUSDT:momentum", symbol: "BTCUSDT", strategyName: "momentum", exchangeName: "replay", level: "trades", tickMs: 60_001 };
    await writeFile(file, `${JSON.stringify({ ...run0, at: 1677636000000, event: "start" })}\n${JSON.stringify({ ...run0, at: 1677639600000, event: "stop", reason: "stopped" })}\n`);
    const exit = await run(cli, ["replay", file], { cwd: work, timeoutMs: 20_000 });
    expect(exit.stderr).not.toContain("the replay of");
    expect({ code: exit.code, stdout: exit.stdout }).toEqual({ code: 2, stdout: "" });
    expect(exit.stderr).toContain(`rxtrade replay: ${file}: `);
    expect(exit.stderr).toContain("record with --journal full (rxtrade live --journal full, rxtrade demo --journal full)");
  }, 30_000);
});
