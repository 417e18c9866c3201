// The command line loads a command's modules when that command runs (src/cli/main.ts): the
// help loads no command, `demo` does not load the service's logger and metrics (pino,
// prom-client) nor the fleet's Redis client, and `run <config>` loads the service it runs.
// What a start loaded is read from Node's CommonJS module cache at exit (pino, prom-client and
// ioredis are CommonJS packages, external to the bundle as in dist/cli.js).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { bundle, run } from "./fixtures/processHarness";

let cli: string[];
let work: string;
let preload: string;

beforeAll(async () => {
  [cli, work] = await Promise.all([bundle("src/cli/index.ts"), mkdtemp(join(tmpdir(), "rxtrade-lazy-load-"))]);
  preload = join(work, "loaded.cjs");
  await writeFile(
    preload,
    `process.on("exit", () => { const names = Object.keys(require.cache).map((f) => (/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(f) || [])[1]).filter(Boolean); process.stderr.write("LOADED " + JSON.stringify([...new Set(names)].sort()) + "\\n"); });\n`,
  );
}, 30_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
  if (cli !== undefined) await rm(dirname(cli[1] as string), { recursive: true, force: true });
});

async function loaded(args: string[], code = 0): Promise<string[]> {
  const exit = await run([cli[0] as string, "--require", preload, ...cli.slice(1)], args, { cwd: work });
  expect(exit.code, exit.stderr).toBe(code);
  const line = /^LOADED (.*)$/m.exec(exit.stderr);
  expect(line, exit.stderr).not.toBeNull();
  return JSON.parse((line as RegExpExecArray)[1] as string) as string[];
}

it("rxtrade --help loads neither the service's packages nor the Redis client", async () => {
  const names = await loaded(["--help"]);
  expect(names).not.toContain("pino");
  expect(names).not.toContain("prom-client");
  expect(names).not.toContain("ioredis");
});

it("rxtrade demo --help loads the demo only; rxtrade run <config> loads the service (the check sees a load)", async () => {
  const demo = await loaded(["demo", "--help"]);
  expect(demo).not.toContain("pino");
  expect(demo).not.toContain("prom-client");
  const config = join(work, "empty.json");
  await writeFile(config, JSON.stringify({ pairs: [] }));
  const service = await loaded(["run", config], 2);
  expect(service).toContain("pino");
  expect(service).toContain("prom-client");
});
