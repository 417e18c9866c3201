// Issue 13 review, fix 5: rxtrade run --http host:0 with --log-level warn (or error, …) told
// nobody the port it picked (the "listening" line is an info line): it is now one line on
// stderr when the level hides that line. In process: the run is ended by POST /api/drain.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { setLogger } from "rxtrade";
import { main } from "../src/cli/main";
import { Terminal } from "../src/cli/terminal";

const TOKEN = "0123456789abcdef0123";
let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "rxtrade-fix13-listen-"));
  await writeFile(join(work, "quiet.mjs"), 'export const strategy = { strategyName: "quiet", interval: "1m", getSignal: () => null };\n');
  await writeFile(join(work, "config.json"), JSON.stringify({ pairs: [{ symbol: "BTCUSDT", strategy: "./quiet.mjs", exchange: "bundled" }], store: "./store" }));
});
afterAll(async () => {
  setLogger({ warn: () => {}, error: () => {} });
  await rm(work, { recursive: true, force: true });
});

it("with --log-level error and --http 127.0.0.1:0, the address is on stderr", async () => {
  let stderr = "";
  let stdout = "";
  const terminal = new Terminal({ write: (text: string) => ((stdout += text), true) }, { write: (text: string) => ((stderr += text), true) });
  const running = main(["run", join(work, "config.json"), "--speed", "60", "--http", "127.0.0.1:0", "--token", TOKEN, "--log-level", "error"], terminal);
  const deadline = Date.now() + 10_000;
  while (!/listening on http:\/\/127\.0\.0\.1:\d+/.test(stderr) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  const match = /^rxtrade run: listening on (http:\/\/127\.0\.0\.1:(\d+)) \(the log level error hides the "listening" line\)\n$/.exec(stderr);
  expect(match).not.toBeNull();
  expect(Number(match?.[2])).toBeGreaterThan(0);
  const drained = await fetch(`${match?.[1]}/api/drain`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` } });
  expect(drained.status).toBe(200);
  expect(await running).toBe(0);
  expect(stdout).toBe("");
}, 20_000);
