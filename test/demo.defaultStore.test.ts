// Issue 10, item 7 (first half): `rxtrade demo` and `rxtrade live` default to different store
// folders — the demo to ./.rxtrade-demo, live to ./.rxtrade — so a demo signal left open by a
// kill does not block `live` on the same symbol and strategy ("holds signal … on exchange
// replay"), and the next demo still resumes it. The real command line, as in test/cli.test.ts.
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { fileStore } from "rxtrade/node";
import { bundle, Child, run } from "./fixtures/processHarness";

const hold = fileURLToPath(new URL("./fixtures/cliHoldStrategy.mjs", import.meta.url));
const rising = fileURLToPath(new URL("./fixtures/cliRisingExchange.mjs", import.meta.url));
const ID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

let cli: string[];
let work: string;

beforeAll(async () => {
  [cli, work] = await Promise.all([bundle("src/cli/index.ts"), mkdtemp(join(tmpdir(), "rxtrade-demo-store-"))]);
}, 30_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
  if (cli !== undefined) await rm(dirname(cli[1] as string), { recursive: true, force: true });
});

it("demo --help names its own default folder", async () => {
  const exit = await run(cli, ["demo", "--help"], { cwd: work });
  expect(exit.code).toBe(0);
  expect(exit.stdout).toContain("--store DIR        where open signals are persisted (default ./.rxtrade-demo; live's is ./.rxtrade)\n");
});

it("a demo killed with a position open leaves it in ./.rxtrade-demo: live on the same key starts and trades, and the next demo resumes it", async () => {
  const cwd = await mkdtemp(join(work, "kill-"));
  const demoArgs = ["demo", "--strategy", hold, "--speed", "300"];
  const demo = new Child(cli, demoArgs, { cwd });
  const [, id] = (await demo.waitFor(new RegExp(`OPENED +long .*  (${ID})\\n`))) as [string, string];
  demo.kill("SIGKILL");
  expect((await demo.exited).signal).toBe("SIGKILL");

  // live, BTCUSDT with the same strategy, default store: not refused for the demo's signal
  // (with one folder for both: exit 1, "BTCUSDT:hold holds signal … on exchange replay").
  // A tick every 400 ms: the stall limit (5 ticks, 2 s) outlasts a loaded machine's pauses,
  // which at 100 ms (0.5 s) printed a StreamStalledError on stderr.
  const live = new Child(cli, ["live", "--exchange", rising, "--symbol", "BTCUSDT", "--strategy", hold, "--tick-ms", "400"], { cwd });
  await live.waitFor(new RegExp(`CLOSED +long .* take_profit .*  ${ID}\\n`));
  live.kill("SIGTERM");
  const liveExit = await live.exited;
  expect(liveExit.stderr).toBe("");
  expect(liveExit.code).toBe(0);
  expect(liveExit.stdout).toContain("rxtrade live · BTCUSDT on rising · strategy hold · store .rxtrade · a tick every 400 ms");
  expect(liveExit.stdout).not.toContain(id);
  expect(await fileStore(join(cwd, ".rxtrade")).read("BTCUSDT:hold")).toBeNull();
  // The demo's signal is in the demo's folder.
  expect(demo.stdout).toContain("strategy hold · store .rxtrade-demo · 300 simulated min/s");
  expect(await fileStore(join(cwd, ".rxtrade-demo")).read("BTCUSDT:hold")).toMatchObject({ status: "opened", signal: { id, exchangeName: "replay" } });

  // The next demo resumes it: closed once.
  const again = await run(cli, [...demoArgs, "--minutes", "1"], { cwd });
  expect(again.stderr).toBe("");
  expect(again.code).toBe(0);
  expect(again.stdout).toMatch(new RegExp(`^resumed signal ${id}: long @ [\\d.]+ opened `, "m"));
  expect(again.stdout).toMatch(new RegExp(`CLOSED +long .*  ${id}\\n`));
  expect(await fileStore(join(cwd, ".rxtrade-demo")).read("BTCUSDT:hold")).toBeNull();
  expect(existsSync(join(cwd, ".rxtrade-demo/demo-clock.json"))).toBe(true);
  expect(existsSync(join(cwd, ".rxtrade/demo-clock.json"))).toBe(false);
}, 30_000);
