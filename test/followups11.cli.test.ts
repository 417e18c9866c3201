// Issue 11 follow-up, item 1, as a real process: a FIFO in place of the demo's journal file.
// Opening a FIFO for reading waits for a writer, and a thread blocked there keeps the process
// from exiting at all (even process.exit waits for libuv's pool): the demo hung for good. Now
// the journal refuses the FIFO unopened, the demo says so and exits. (At --journal off, so that
// the run's end does not also spend CC_STORE_TIMEOUT_SECONDS retrying its stop entry, which
// test/followups11.test.ts covers in process with a short limit.)
import { execFileSync } from "node:child_process";
import { closeSync, constants, openSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { bundle, run } from "./fixtures/processHarness";

let cli: string[];
let work: string;
let fifo: string | undefined;

beforeAll(async () => {
  [cli, work] = await Promise.all([bundle("src/cli/index.ts"), mkdtemp(join(tmpdir(), "rxtrade-followups11-cli-"))]);
}, 30_000);
afterAll(async () => {
  if (fifo !== undefined) {
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // no reader left
    }
  }
  await rm(work, { recursive: true, force: true });
  if (cli !== undefined) await rm(dirname(cli[1] as string), { recursive: true, force: true });
});

it("rxtrade demo with a FIFO in place of its journal file exits within seconds, naming the FIFO", async () => {
  const journalDir = join(work, ".rxtrade-demo", "journal");
  await mkdir(journalDir, { recursive: true });
  fifo = join(journalDir, "BTCUSDT_momentum-4106cc36fad9a2b2.000001.jsonl");
  execFileSync("mkfifo", [fifo]);
  const started = performance.now();
  const exit = await run(cli, ["demo", "--minutes", "5", "--speed", "20000", "--journal", "off"], { cwd: work, timeoutMs: 10_000 });
  expect(exit.signal, `killed after 10 s: it hangs\n${exit.stdout}\n${exit.stderr}`).toBe(null);
  expect(exit.code).toBe(0);
  expect(performance.now() - started).toBeLessThan(10_000);
  expect(exit.stdout).toContain("Store: .rxtrade-demo — run the demo again to continue from 2023-03-01 02:05.");
  // Read at the start (where the run goes on) and at the end (the statistics): refused both times.
  const refused = exit.stderr.split("\n").filter((line) => line.includes(`journal ${fifo} is a FIFO, not a regular file: it is not read`));
  expect(refused).toHaveLength(2);
}, 30_000);
