// `rxtrade --version` (also -v and `rxtrade version`): the version of rxtrade's own package.json,
// read when the command runs, not copied in at build time. The command is bundled from
// src/cli (test/fixtures/processHarness.ts) and copied into a fake installed package, whose
// package.json is then changed between two runs of the real process (--version, -v), and into a
// folder with no rxtrade above it. What only prints (the three spellings from the sources, the
// usage error, the help line) runs main() in this process: a process start each is ~0.2 s of CPU,
// and the real bin's --version, -v and exit codes are those runs' business.
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/cli/main";
import { Terminal } from "../src/cli/terminal";
import { bundle, copyBundle, run } from "./fixtures/processHarness";

const root = fileURLToPath(new URL("../", import.meta.url));

// rxtrade's own dependencies, installed beside it as npm would: the test bundle of the CLI
// inlines rxtrade/service, so it imports pino and prom-client (external) when it loads.
async function installDependencies(nodeModules: string): Promise<void> {
  await mkdir(nodeModules, { recursive: true });
  for (const name of ["pino", "prom-client"]) await symlink(join(root, "node_modules", name), join(nodeModules, name), "dir");
}

/** What `rxtrade <args>` prints and returns, run in this process from the sources. */
async function inProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, new Terminal({ write: (text: string) => (stdout += text) }, { write: (text: string) => (stderr += text) }));
  return { code, stdout, stderr };
}

let cli: string[];
let work: string;

beforeAll(async () => {
  [cli, work] = await Promise.all([bundle("src/cli/index.ts"), mkdtemp(join(tmpdir(), "rxtrade-version-test-"))]);
}, 30_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
  if (cli !== undefined) await rm(dirname(cli[1] as string), { recursive: true, force: true });
});

describe("rxtrade --version", () => {
  it.concurrent.each([["--version"], ["-v"], ["version"]])("rxtrade %s prints the version of this repository's package.json, alone on a line, and exits 0", async (flag) => {
    const { version } = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as { version: string };
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    expect(await inProcess([flag])).toEqual({ code: 0, stdout: `${version}\n`, stderr: "" });
  });

  it("is read from the installed package's package.json when the command runs, past the project's own", async () => {
    // node_modules/rxtrade/dist/cli.mjs of a project that has a package.json of its own.
    const project = join(work, "project");
    const pkg = join(project, "node_modules", "rxtrade");
    await mkdir(join(pkg, "dist"), { recursive: true });
    await writeFile(join(project, "package.json"), JSON.stringify({ name: "my-app", version: "1.0.0" }));
    await copyBundle(cli, join(pkg, "dist", "cli.mjs"));
    await installDependencies(join(project, "node_modules"));
    const command = [cli[0] as string, join(pkg, "dist", "cli.mjs")];

    await writeFile(join(pkg, "package.json"), JSON.stringify({ name: "rxtrade", version: "7.8.9-rc.1" }));
    expect(await run(command, ["--version"], { cwd: project })).toMatchObject({ code: 0, stdout: "7.8.9-rc.1\n", stderr: "" });
    // The same built file after an upgrade of the manifest: nothing was baked in.
    await writeFile(join(pkg, "package.json"), JSON.stringify({ name: "rxtrade", version: "7.9.0" }));
    expect(await run(command, ["-v"], { cwd: project })).toMatchObject({ code: 0, stdout: "7.9.0\n", stderr: "" });
  });

  it("without a package.json of rxtrade above it: exit 1 and a message saying where it looked, no stack", async () => {
    const lost = join(work, "lost");
    await mkdir(lost, { recursive: true });
    await writeFile(join(lost, "package.json"), JSON.stringify({ name: "not-rxtrade", version: "1.2.3" }));
    await copyBundle(cli, join(lost, "cli.mjs"));
    await installDependencies(join(lost, "node_modules"));
    const exit = await run([cli[0] as string, join(lost, "cli.mjs")], ["--version"], { cwd: lost });
    expect(exit.code).toBe(1);
    expect(exit.stdout).toBe("");
    expect(exit.stderr).toBe(`rxtrade: cannot tell the version: no package.json of rxtrade in ${lost} or any folder above it; reinstall rxtrade (npm install rxtrade)\n`);
  });

  it("takes no arguments (exit 2) and is listed in the help", async () => {
    const exit = await inProcess(["--version", "demo"]);
    expect(exit.code).toBe(2);
    expect(exit.stderr).toBe(`rxtrade: --version takes no arguments, got "demo"\nRun 'rxtrade --help' for the flags.\n`);
    expect((await inProcess(["--help"])).stdout).toContain("  rxtrade --version      the installed version of rxtrade\n");
  });
});
