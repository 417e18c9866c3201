// Review 11b (findings 1, 7, 10 of the hostile review of issue 11), in this process:
// 7. a demo's "Stopped gracefully at …" is its last tick's time, not the paced clock's time
//    after the end waited for a journal that could not be written (weeks past the data);
// 10. a stall while the tick waits on the journal says so (how long its append has been pending);
// 1. the ended-unrecorded note does not claim a kill after a graceful stop.
import { closeSync, constants, openSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { setConfig } from "rxtrade";
import { main } from "../src/cli/main";
import { Terminal } from "../src/cli/terminal";

let work: string;
let made = 0;
const fifos: string[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "rxtrade-review11b-"));
});
afterEach(() => {
  setConfig({ CC_STORE_TIMEOUT_SECONDS: 30 });
  for (const fifo of fifos.splice(0)) {
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // no reader waiting
    }
  }
});
afterAll(() => rm(work, { recursive: true, force: true }));

const freshDir = (): string => join(work, `store-${++made}`);

async function rxtrade(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const before = process.cwd();
  process.chdir(cwd);
  try {
    const code = await main(args, new Terminal({ write: (text: string) => (stdout += text) }, { write: (text: string) => (stderr += text) }));
    return { code, stdout, stderr };
  } finally {
    process.chdir(before);
  }
}

describe("the demo's stop time (finding 7)", () => {
  it("is the last tick's, not the paced clock's after the end waited for the journal", async () => {
    setConfig({ CC_STORE_TIMEOUT_SECONDS: 1 });
    const cwd = freshDir();
    await mkdir(join(cwd, ".rxtrade-demo", "journal"), { recursive: true });
    // A folder in place of the key's journal file: every append fails.
    await mkdir(join(cwd, ".rxtrade-demo", "journal", "BTCUSDT_momentum-4106cc36fad9a2b2.000001.jsonl"));
    // 20,000 simulated minutes a second: the end's wait for the journal (~1 s) was ~2 weeks of paced time.
    const exit = await rxtrade(["demo", "--minutes", "5", "--speed", "20000"], cwd);
    expect(exit.code).toBe(0);
    expect(exit.stdout).toContain("\nStopped gracefully at 2023-03-01 02:04 (simulated).\n");
    expect(exit.stdout).toContain("Store: .rxtrade-demo — run the demo again to continue from 2023-03-01 02:05.");
  }, 15_000);
});
