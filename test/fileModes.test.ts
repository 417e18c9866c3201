// Issue 9, item 11: what the store, its locks and the report writers (Live.dump, the command
// line's) create is 0600 (files) and 0700 (folders) unless widened; reports are written by temp
// file + rename, so a symlink planted at the report's path is replaced and its target left
// untouched; report file names cannot leave their folder.
import { existsSync } from "node:fs";
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { addStrategy, Live, LiveStatisticsCollector, ReportWriteError } from "rxtrade";
import { fileStore, reportFileName } from "rxtrade/node";
import { finish } from "../src/cli/session";
import { Terminal } from "../src/cli/terminal";

const KEY = "BTCUSDT:momentum";
const mode = async (path: string) => (await stat(path)).mode & 0o777;

let umask: number;
beforeAll(() => {
  umask = process.umask(0o022);
});
afterAll(() => {
  process.umask(umask);
});

let base: string;
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "rxtrade-modes-"));
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

describe("fileStore", () => {
  it("creates its folders 0700 and its data and lock files 0600 (umask 022)", async () => {
    const dir = join(base, "state", "store");
    const store = fileStore(dir);
    const release = await store.lock(KEY);
    await store.write(KEY, { a: 1 });
    expect(await mode(join(base, "state"))).toBe(0o700);
    expect(await mode(dir)).toBe(0o700);
    expect(await mode(store.pathOf(KEY))).toBe(0o600);
    expect(await mode(`${store.pathOf(KEY)}.lock`)).toBe(0o600);
    // A rewrite (a new temp file renamed over it) keeps 0600.
    await store.write(KEY, { a: 2 });
    expect(await mode(store.pathOf(KEY))).toBe(0o600);
    release();
  });

  it("{ fileMode, dirMode } widen them; a folder that exists already keeps its mode", async () => {
    const store = fileStore(join(base, "shared"), { fileMode: 0o640, dirMode: 0o750 });
    const release = await store.lock(KEY);
    await store.write(KEY, { a: 1 });
    expect(await mode(join(base, "shared"))).toBe(0o750);
    expect(await mode(store.pathOf(KEY))).toBe(0o640);
    expect(await mode(`${store.pathOf(KEY)}.lock`)).toBe(0o640);
    release();

    await mkdir(join(base, "existing"), { mode: 0o755 });
    await fileStore(join(base, "existing")).write(KEY, { a: 1 });
    expect(await mode(join(base, "existing"))).toBe(0o755);
  });
});

/** A symlink at `path` pointing at a file outside the report folder, and one at a file that does not exist. */
async function plantSymlink(path: string): Promise<{ victim: string; missing: string }> {
  const victim = join(base, "victim.txt");
  await writeFile(victim, "precious", { mode: 0o644 });
  await symlink(victim, path);
  return { victim, missing: join(base, "never-created.txt") };
}

async function expectReplaced(path: string, victim: string, report: string): Promise<void> {
  expect((await lstat(path)).isSymbolicLink()).toBe(false);
  expect(await readFile(path, "utf8")).toBe(report);
  expect(await mode(path)).toBe(0o600);
  expect(await readFile(victim, "utf8")).toBe("precious");
  expect(await mode(victim)).toBe(0o644);
}

describe("Live.dump", () => {
  const strategyName = `modes-${Math.random().toString(36).slice(2, 8)}`;
  beforeAll(() => addStrategy({ strategyName, interval: "1m", getSignal: () => null }));

  it("writes the report 0600 in folders it creates 0700", async () => {
    const path = join(base, "dump", "live");
    await Live.dump("BTCUSDT", strategyName, path);
    expect(await mode(join(base, "dump"))).toBe(0o700);
    expect(await mode(path)).toBe(0o700);
    expect(await mode(join(path, `BTCUSDT_${strategyName}.md`))).toBe(0o600);
    expect(await readdir(path)).toEqual([`BTCUSDT_${strategyName}.md`]); // no temp file left
  });

  it("replaces a symlink planted at the report's path: its target (existing or not) is untouched", async () => {
    const path = join(base, "reports");
    await mkdir(path);
    const file = join(path, `BTCUSDT_${strategyName}.md`);
    const { victim, missing } = await plantSymlink(file);
    await Live.dump("BTCUSDT", strategyName, path);
    await expectReplaced(file, victim, await Live.getReport("BTCUSDT", strategyName));

    const dangling = join(path, `ETHUSDT_${strategyName}.md`);
    await symlink(missing, dangling);
    await Live.dump("ETHUSDT", strategyName, path);
    expect((await lstat(dangling)).isFile()).toBe(true);
    expect(existsSync(missing)).toBe(false);
  });

  it("names the file as the command line does: a symbol like ../evil or BTC/USDT:USDT stays inside the folder", async () => {
    const path = join(base, "inside");
    await Live.dump("../evil", strategyName, path);
    await Live.dump("BTC/USDT:USDT", strategyName, path);
    expect((await readdir(path)).sort()).toEqual([`..-evil_${strategyName}.md`, `BTC-USDT-USDT_${strategyName}.md`]);
    expect((await readdir(base)).sort()).toEqual(["inside"]);
  });

  it("a folder it cannot write is a ReportWriteError naming the report's path", async () => {
    await writeFile(join(base, "a-file"), "x");
    const error = await Live.dump("BTCUSDT", strategyName, join(base, "a-file")).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(ReportWriteError);
    expect(error).toMatchObject({ path: join(base, "a-file", `BTCUSDT_${strategyName}.md`) });
  });
});

describe("the command line's report (finish)", () => {
  const quiet = () => new Terminal({ write: () => true }, { write: () => true });
  const stats = () => ({ stats: new LiveStatisticsCollector().snapshot(), trades: [] });
  const noStore = () => join(base, "no-store"); // no journal there: the run's own statistics

  it("writes the report 0600 in a folder it creates 0700, named by reportFileName", async () => {
    const dir = join(base, "dump", "live");
    const file = await finish(quiet(), stats(), "BTC/USDT:USDT", "momentum", dir, noStore());
    expect(file).toBe(join(dir, reportFileName("BTC/USDT:USDT", "momentum")));
    expect(file).toBe(join(dir, "BTC-USDT-USDT_momentum.md"));
    expect(await mode(dir)).toBe(0o700);
    expect(await mode(file)).toBe(0o600);
  });

  it("replaces a symlink planted at the report's path, leaving its target untouched", async () => {
    const dir = join(base, "reports");
    await mkdir(dir);
    const file = join(dir, "BTCUSDT_momentum.md");
    const { victim } = await plantSymlink(file);
    expect(await finish(quiet(), stats(), "BTCUSDT", "momentum", dir, noStore())).toBe(file);
    expect(await readFile(file, "utf8")).toContain("# Live Trading Report: momentum");
    await expectReplaced(file, victim, await readFile(file, "utf8"));
  });
});

describe("reportFileName", () => {
  it("turns separators, colons, control and reserved characters into '-'", () => {
    expect(reportFileName("BTCUSDT", "momentum")).toBe("BTCUSDT_momentum.md");
    expect(reportFileName("../../x", "a\\b")).toBe("..-..-x_a-b.md");
    expect(reportFileName("A<B>|C", 'x"y?*\nz\u0000')).toBe("A-B--C_x-y---z-.md");
  });
});
