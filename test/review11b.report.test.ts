// Review 11b #12: `rxtrade report` on a journal whose keys() failed or hung printed
// "rxtrade: unexpected error: JournalError: … keys() did not answer …" with a stack trace: the
// built command line bundled its own copy of src/live/journalRead (and so of JournalError), and
// the JournalError it threw was not the one `rxtrade report` catches. Now the one-line message of
// the read case, exit 1.
//
// Only the built package shows it (in vitest, src/ has one JournalError), so the package's
// library and bin are built from the sources during the run, for this file and
// test/dualLoad.test.ts (test/fixtures/dualLoad/packageBuild.ts).
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PackageBuild, packageBuild } from "./fixtures/dualLoad/packageBuild";

const root = fileURLToPath(new URL("../", import.meta.url));
let dir: string;
let cli: string;
let built: PackageBuild | undefined;

beforeAll(async () => {
  // Inside the repository, so that rxjs and the other dependencies resolve from its node_modules.
  const cache = join(root, "node_modules", ".cache");
  await mkdir(cache, { recursive: true });
  // The package built from the sources during this run (shared with dualLoad's test).
  dir = await mkdtemp(join(cache, "rxtrade-review11b-report-"));
  built = await packageBuild();
  await mkdir(join(dir, "node_modules"), { recursive: true });
  await symlink(built.pkg, join(dir, "node_modules", "rxtrade"), "dir");
  cli = join(dir, "node_modules", "rxtrade", "dist", "cli.js");
  await writeFile(join(dir, "preload.mjs"), PRELOAD);
}, 120_000);

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  await built?.dispose();
});

// Preloaded into the spawned command line: the journal folder's second listing (the first is
// report's own check of its files, the second journal.keys()) fails with EIO or never answers.
const PRELOAD = `
import fsp from "node:fs/promises";
import { syncBuiltinESMExports } from "node:module";
import { setConfig } from "rxtrade";
setConfig({ CC_STORE_TIMEOUT_SECONDS: 0.3 });
const readdir = fsp.readdir;
let listings = 0;
fsp.readdir = (path, ...rest) => {
  if (String(path).endsWith("journal") && ++listings === 2) {
    if (process.env.KEYS === "hang") return new Promise(() => {});
    return Promise.reject(Object.assign(new Error("EIO: i/o error, scandir '" + path + "'"), { code: "EIO" }));
  }
  return readdir(path, ...rest);
};
syncBuiltinESMExports();
`;

function rxtrade(args: string[], keys: "fail" | "hang"): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, KEYS: keys };
    execFile(process.execPath, ["--import", join(dir, "preload.mjs"), cli, ...args], { cwd: dir, env, timeout: 15_000 }, (error, out, err) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, out, err });
    });
  });
}

describe("review 11b #12: rxtrade report when the journal's keys() fails or hangs", () => {
  async function store(name: string): Promise<string> {
    const path = join(dir, name);
    await mkdir(join(path, "journal"), { recursive: true });
    return path;
  }

  it("keys() fails (EIO): one line naming journal.keys() and the cause, exit 1, no stack trace", async () => {
    const { code, out, err } = await rxtrade(["report", "--store", await store("failing")], "fail");
    expect(out).toBe("");
    expect(err).not.toContain("unexpected error");
    expect(err).not.toMatch(/\n\s+at /);
    expect(err).toMatch(/^rxtrade report: the journal \S*journal cannot be read: journal\.keys\(\) failed: EIO: i\/o error/);
    expect(err.trim().split("\n")).toHaveLength(1);
    expect(code).toBe(1);
  });

  it("keys() never answers: after CC_STORE_TIMEOUT_SECONDS (0.3 s here), one line, exit 1, no stack trace", async () => {
    const started = Date.now();
    const { code, out, err } = await rxtrade(["report", "--store", await store("hanging")], "hang");
    expect(out).toBe("");
    expect(err).not.toContain("unexpected error");
    expect(err).not.toMatch(/\n\s+at /);
    expect(err).toMatch(/^rxtrade report: the journal \S*journal cannot be read: journal\.keys\(\) did not answer within CC_STORE_TIMEOUT_SECONDS \(0\.3 s\)/);
    expect(err.trim().split("\n")).toHaveLength(1);
    expect(code).toBe(1);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
