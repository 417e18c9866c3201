// Issue 13 review, fix 8: SIGTERM while rxtrade run still loads its modules killed it silently
// (exit 143: no handler yet). The handlers are installed before anything loads: the run stops
// before it starts, says so on stderr, exit 0. A real process (what is tested is its signals).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { bundle, Child } from "./fixtures/processHarness";

let cli: string[];
let work: string;
beforeAll(async () => {
  [cli, work] = await Promise.all([bundle("src/cli/index.ts"), mkdtemp(join(tmpdir(), "rxtrade-fix13-signals-"))]);
  // A strategy module that says it loads, then takes 5 s to.
  await writeFile(
    join(work, "slow.mjs"),
    'process.stdout.write("loading slow.mjs\\n");\nawait new Promise((resolve) => setTimeout(resolve, 5000));\nexport const strategy = { strategyName: "slow", interval: "1m", getSignal: () => null };\n',
  );
  await writeFile(join(work, "config.json"), JSON.stringify({ pairs: [{ symbol: "BTCUSDT", strategy: "./slow.mjs", exchange: "bundled" }], store: "./store" }));
}, 30_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
  if (cli !== undefined) await rm(dirname(cli[1] as string), { recursive: true, force: true });
});

it("SIGTERM while a strategy module loads: 'stopped before start' on stderr, exit 0", async () => {
  const child = new Child(cli, ["run", "config.json", "--speed", "60"], { cwd: work });
  await child.waitFor(/loading slow\.mjs/);
  const sent = Date.now();
  child.kill("SIGTERM");
  const exit = await child.exited;
  expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
  expect(exit.stderr).toBe("rxtrade run: SIGTERM before the pairs started: stopped before start, nothing ran\n");
  expect(exit.stdout).toBe("loading slow.mjs\n");
  // It waited for the module (5 s at most), not for anything else.
  expect(Date.now() - sent).toBeLessThan(8000);
}, 30_000);
