// Issue 9, item 12: bad input on the command line is refused before the run starts, with exit 2
// and a one-line message naming what was wrong — never a stack trace, never exit 1 or 13 for a
// usage error. The bin is spawned as in test/cli.test.ts (bundled by processHarness) for the
// first refusal of each kind, the runs and the module timeouts; the other refusals start
// nothing, so they go through the bin's `main` in this process (from the same folder), which
// saves a Node start each. Folders that cannot be written are paths through a regular file
// (ENOTDIR, EEXIST): tests run as root, where a chmod'ed folder would still be writable.
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getDefaultConfig, setConfig } from "rxtrade";
import { liveCommand } from "../src/cli/liveCommand";
import { main } from "../src/cli/main";
import { Terminal } from "../src/cli/terminal";
import { loadUserExport } from "../src/cli/userModule";
import { bundle, Child, type Exit, run } from "./fixtures/processHarness";

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const hold = fixture("cliHoldStrategy.mjs");
const rising = fixture("cliRisingExchange.mjs");
const ID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const STACK_LINE = /^\s+at /m;

let cli: string[];
let work: string;
const startedIn = process.cwd();

beforeAll(async () => {
  [cli, work] = await Promise.all([bundle("src/cli/index.ts"), mkdtemp(join(tmpdir(), "rxtrade-cli-hardening-"))]);
  await writeFile(join(work, "afile"), "a regular file, not a folder\n");
  process.chdir(work); // the in-process refusals run from where the spawned ones do (this file has a process of its own)
}, 30_000);

afterAll(async () => {
  process.chdir(startedIn);
  await rm(work, { recursive: true, force: true });
  if (cli !== undefined) await rm(dirname(cli[1] as string), { recursive: true, force: true });
});

/** `rxtrade <args>` from the work folder: spawned (`"process"`), or through the bin's `main` in this process. */
async function refusal(args: string[], how: string): Promise<Exit> {
  if (how === "process") return run(cli, args, { cwd: work });
  let stdout = "";
  let stderr = "";
  const code = await main(args, new Terminal({ write: (text: string) => (stdout += text) }, { write: (text: string) => (stderr += text) }));
  return { code, signal: null, stdout, stderr };
}

/** A refused command line: exit 2, nothing started (stdout empty), the message, the pointer to --help, no stack. */
function expectRefused(exit: Exit, message: string): void {
  expect(exit.stderr).toContain(message);
  expect(exit.stderr).not.toMatch(STACK_LINE);
  expect(exit.stderr).toMatch(/\nRun 'rxtrade (demo|live) --help' for the flags\.\n$/);
  expect(exit.stdout).toBe("");
  expect(exit.code).toBe(2);
}

describe("folders that cannot be written are refused before the start", () => {
  it.concurrent.each([
    [
      ["demo", "--report-dir", "afile/reports", "--store", "store-1"],
      "rxtrade demo: --report-dir afile/reports (WORK/afile/reports) is not a folder rxtrade can write to: a part of the path is a file, not a folder (ENOTDIR); give another, e.g. --report-dir ./dump/demo",
      "process",
    ],
    [
      ["demo", "--report-dir", "afile", "--store", "store-2"],
      "rxtrade demo: --report-dir afile (WORK/afile) is not a folder rxtrade can write to: it is a file, not a folder (EEXIST)",
      "in process",
    ],
    [
      ["demo", "--store", "afile/store"],
      "rxtrade demo: --store afile/store (WORK/afile/store) is not a folder rxtrade can write to: a part of the path is a file, not a folder (ENOTDIR); give another, e.g. --store ./.rxtrade-demo",
      "in process",
    ],
    [["demo", "--report-dir=", "--store", "store-3"], "rxtrade demo: --report-dir needs a folder, got an empty value; e.g. --report-dir ./dump/demo", "in process"],
    [["demo", "--store="], "rxtrade demo: --store needs a folder, got an empty value; e.g. --store ./.rxtrade-demo", "in process"],
    [
      ["live", "--exchange", rising, "--symbol", "TESTUSD", "--strategy", hold, "--report-dir", "afile/reports", "--store", "store-4"],
      "rxtrade live: --report-dir afile/reports (WORK/afile/reports) is not a folder rxtrade can write to: a part of the path is a file, not a folder (ENOTDIR)",
      "in process",
    ],
    [
      ["live", "--exchange", rising, "--symbol", "TESTUSD", "--strategy", hold, "--store", "afile/store"],
      "rxtrade live: --store afile/store (WORK/afile/store) is not a folder rxtrade can write to: a part of the path is a file, not a folder (ENOTDIR)",
      "in process",
    ],
  ])("rxtrade %j", async (args, message, how) => {
    const exit = await refusal(args, how);
    expectRefused(exit, message.replaceAll("WORK", work));
  });

  it("a report folder replaced by a file during the run: the run ends gracefully, then exit 1 with one line, no stack", async () => {
    const cwd = await mkdtemp(join(work, "replaced-"));
    const child = new Child(cli, ["demo", "--strategy", hold, "--speed", "600", "--store", "store", "--report-dir", "reports"], { cwd });
    await child.waitFor(new RegExp(`OPENED +long .*  ${ID}\\n`));
    await rm(join(cwd, "reports"), { recursive: true, force: true });
    await writeFile(join(cwd, "reports"), "not a folder any more\n");
    child.kill("SIGTERM");
    const exit = await child.exited;
    expect(exit.stdout).toMatch(/CLOSED +long .* time_expired/);
    expect(exit.stderr).toMatch(/^rxtrade demo: stopped gracefully, but the report could not be written to reports: .*EEXIST.*\n$/);
    expect(exit.stderr).not.toMatch(STACK_LINE);
    expect(exit.stdout).toContain("Store: store — run the demo again");
    expect(exit.code).toBe(1);
    // The demo's clock file is private like the store's files (0600, not 0644).
    expect((await stat(join(cwd, "store/demo-clock.json"))).mode & 0o777).toBe(0o600);
  });
});

describe("the store folder removed during the run", () => {
  it("the run ends with exit 1 and a message, not a stack from saving the demo's clock", async () => {
    const cwd = await mkdtemp(join(work, "removed-"));
    const child = new Child(cli, ["demo", "--strategy", hold, "--speed", "100", "--store", "store"], { cwd });
    await child.waitFor(new RegExp(`OPENED +long .*  ${ID}\\n`));
    // Retried: the running demo may add a file while the folder is being emptied.
    await rm(join(cwd, "store"), { recursive: true, force: true, maxRetries: 20, retryDelay: 10 });
    const exit = await Promise.race([child.exited, new Promise<undefined>((resolve) => setTimeout(resolve, 10_000))]);
    if (exit === undefined) child.kill("SIGKILL");
    expect(exit?.stderr).not.toMatch(STACK_LINE);
    expect(exit?.stderr).toContain("error$ StoreLockedError: ");
    expect(exit?.stderr).toContain("This run lost the key or could not take it on the store store. Make sure one rxtrade process alone runs this symbol and strategy on it");
    expect(exit?.code).toBe(1);
  });
});

describe("a strategy or exchange module that fails is exit 2 with its message", () => {
  it.concurrent.each([
    [
      ["demo", "--strategy", fixture("cliThrowingStrategy.mjs")],
      `rxtrade demo: --strategy ${fixture("cliThrowingStrategy.mjs")}: its factory (the \`strategy\` export, called with no arguments) threw: MY_API_KEY is not set; export it before starting\n`,
      "process",
    ],
    [
      ["live", "--exchange", fixture("cliThrowingExchange.mjs"), "--symbol", "TESTUSD", "--strategy", hold],
      `rxtrade live: --exchange ${fixture("cliThrowingExchange.mjs")}: its factory (the \`default\` export, called with no arguments) threw: EXCHANGE_SECRET is not set\n`,
      "in process",
    ],
    [
      ["live", "--exchange", rising, "--symbol", "TESTUSD", "--strategy", fixture("cliThrowingStrategy.mjs")],
      "threw: MY_API_KEY is not set; export it before starting\n",
      "in process",
    ],
    [
      ["demo", "--strategy", fixture("cliRejectingStrategy.mjs")],
      "rxtrade demo: --strategy CLIREJECT: the promise its factory (the `strategy` export, called with no arguments) returned rejected: cannot read ./strategy-settings.json\n",
      "in process",
    ],
    [
      ["demo", "--strategy", fixture("cliGetterStrategy.mjs")],
      "rxtrade demo: --strategy CLIGETTER: reading the exported strategy threw: strategyName is not configured\n",
      "in process",
    ],
    [["demo", "--module-timeout", "0"], 'rxtrade demo: --module-timeout must be a number from 0.1 to 3600 (seconds a module may take to load), got "0"; e.g. --module-timeout 30', "in process"],
    [["live", "--exchange", rising, "--symbol", "X", "--strategy", hold, "--module-timeout", "soon"], 'rxtrade live: --module-timeout must be a number from 0.1 to 3600', "in process"],
  ])("rxtrade %j", async (args, message, how) => {
    const exit = await refusal(args, how);
    expectRefused(exit, message.replace("CLIREJECT", fixture("cliRejectingStrategy.mjs")).replace("CLIGETTER", fixture("cliGetterStrategy.mjs")));
  });

  it.concurrent.each([
    [["demo", "--strategy", fixture("cliHangingModule.mjs"), "--module-timeout", "1"], "demo", "strategy", 1],
    [["live", "--exchange", fixture("cliHangingModule.mjs"), "--symbol", "TESTUSD", "--strategy", hold, "--module-timeout", "0.5"], "live", "exchange", 0.5],
  ])("a top-level await that never settles: rxtrade %j gives up after the limit with exit 2", async (args, command, flag, limit) => {
    const started = performance.now();
    const exit = await run(cli, args, { cwd: work, timeoutMs: 10_000 });
    const elapsed = (performance.now() - started) / 1000;
    expectRefused(
      exit,
      `rxtrade ${command}: --${flag} ${fixture("cliHangingModule.mjs")}: the module did not finish loading within ${limit} s (a top-level await that never settles?); ` +
        `fix the module, or allow it longer with --module-timeout <seconds> (now ${limit})\n`,
    );
    expect(elapsed).toBeGreaterThanOrEqual(limit);
    expect(elapsed).toBeLessThan(limit + 5);
  });

  it("an async factory's strategy is used (not refused as `found object`)", async () => {
    const cwd = await mkdtemp(join(work, "async-"));
    const exit = await run(cli, ["demo", "--strategy", fixture("cliAsyncStrategy.mjs"), "--minutes", "30", "--speed", "3000", "--store", "store"], { cwd });
    expect(exit.stderr).toBe("");
    expect(exit.code).toBe(0);
    expect(exit.stdout).toContain("strategy patient · store store");
    expect(await readFile(join(cwd, "dump/demo/BTCUSDT_patient.md"), "utf8")).toContain("# Live Trading Report: patient");
  });
});

describe("in process", () => {
  it("a module that loads within the limit leaves no timer behind (a good module is never delayed)", async () => {
    const timers = () => process.getActiveResourcesInfo().filter((resource) => resource === "Timeout").length;
    const before = timers();
    const strategy = await loadUserExport({ command: "demo", flag: "strategy", path: fixture("cliSlowModule.mjs"), timeoutMs: 30_000 }, "strategy");
    expect(strategy).toMatchObject({ strategyName: "slow", interval: "1m" });
    // At most as many as before: a timer of the test runner's may end meanwhile; a timer the
    // loader left behind would make it one more.
    expect(timers()).toBeLessThanOrEqual(before);
  });

  it("live: an exchange module whose resolveSymbol never answers ends with exit 1 after CC_EXCHANGE_TIMEOUT_SECONDS", { timeout: 5_000 }, async () => {
    const dir = await mkdtemp(join(work, "silent-"));
    const out: string[] = [];
    const err: string[] = [];
    const terminal = new Terminal({ write: (text: string) => out.push(text) }, { write: (text: string) => err.push(text) });
    setConfig({ CC_EXCHANGE_TIMEOUT_SECONDS: 0.2 });
    const args = ["--exchange", fixture("cliSilentExchange.mjs"), "--symbol", "TESTUSD", "--strategy", hold, "--store", join(dir, "store"), "--report-dir", join(dir, "reports")];
    let code: number;
    try {
      code = await liveCommand(args, terminal);
    } finally {
      setConfig({ CC_EXCHANGE_TIMEOUT_SECONDS: getDefaultConfig().CC_EXCHANGE_TIMEOUT_SECONDS });
    }
    expect(out.join("")).toBe("Checking TESTUSD on silent…\n");
    expect(err.join("")).toBe("rxtrade live: cannot check TESTUSD on silent: no answer within 0.2 s (CC_EXCHANGE_TIMEOUT_SECONDS)\n");
    expect(code).toBe(1);
  });
});
