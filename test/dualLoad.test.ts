// One engine state per process, whichever way rxtrade is loaded: the built package (tsup.config.ts,
// built from the sources during the run into a folder of the run's own, so neither a stale nor a
// concurrently rebuilt dist/ can fool it: test/fixtures/dualLoad/packageBuild.ts) is installed
// as node_modules/rxtrade beside the probes of test/fixtures/dualLoad, and
// each probe is run by a real `node` that loads every entry with require and with import, in
// both orders: the exports are the same values, a CommonJS setConfig is what an ES module
// getConfig reads, a strategy registered through one is found through the other, an error
// thrown by one is an instance of the other's class, and a listener on the import side hears
// the results of a stream started through require.
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PackageBuild, packageBuild } from "./fixtures/dualLoad/packageBuild";

const root = fileURLToPath(new URL("../", import.meta.url));
const probes = fileURLToPath(new URL("./fixtures/dualLoad/", import.meta.url));
const run = promisify(execFile);

let dir: string;
let built: PackageBuild | undefined;

beforeAll(async () => {
  // Inside the repository, so that rxjs, lowdb and idb-keyval resolve from its node_modules.
  const cache = join(root, "node_modules", ".cache");
  await mkdir(cache, { recursive: true });
  // The package built from the sources during this run (shared with review11b.report's test).
  dir = await mkdtemp(join(cache, "rxtrade-dual-load-"));
  built = await packageBuild();
  await mkdir(join(dir, "node_modules"), { recursive: true });
  await symlink(built.pkg, join(dir, "node_modules", "rxtrade"), "dir");
  await cp(probes, dir, { recursive: true });
}, 120_000);

afterAll(async () => {
  if (dir !== undefined && process.env.KEEP !== "1") await rm(dir, { recursive: true, force: true });
  await built?.dispose();
});

interface Report {
  order: string;
  exports: Record<string, { count: number; differ: string[] }>;
  errorNames: string[];
  errorClassesNotShared: string[];
  configError: { name: string; esmConfigError: boolean; esmRxTradeError: boolean | string };
  schemaError: { name: string; typeError: boolean; esmSchemaError: boolean | string; esmRxTradeError: boolean | string };
  config: { cjsSetEsmGets: number; esmSetCjsGets: number };
  registries: { esmGetsCjsStrategy: boolean; cjsGetsEsmExchange: string; esmAddAgain: string };
  events: { emittedByCjs: string[]; heardByEsm: string[] };
}

async function probe(...args: string[]): Promise<{ report: Report; stderr: string }> {
  const { stdout, stderr } = await run(process.execPath, args, { cwd: dir, timeout: 20_000 });
  return { report: JSON.parse(stdout) as Report, stderr };
}

const ENTRIES = ["rxtrade", "rxtrade/operators", "rxtrade/testing", "rxtrade/node", "rxtrade/browser", "rxtrade/ccxt", "rxtrade/service", "rxtrade/redis"];

describe.each([
  { app: "an ES module app, import first", args: ["esm-main.mjs", "esm-first"] },
  { app: "an ES module app, require first", args: ["esm-main.mjs", "cjs-first"] },
  { app: "a CommonJS app, require first", args: ["cjs-main.cjs"] },
])("the built package loaded with require and import in $app", ({ args }) => {
  let report: Report;
  let stderr: string;
  beforeAll(async () => {
    ({ report, stderr } = await probe(...args));
  }, 30_000);

  it("gives the same value for every export of every entry", () => {
    for (const specifier of ENTRIES) {
      expect(report.exports[specifier]?.differ, specifier).toEqual([]);
      expect(report.exports[specifier]?.count, specifier).toBeGreaterThan(10);
    }
    expect(report.errorNames).toEqual(expect.arrayContaining(["ConfigError", "InvalidSignalError", "RxTradeError", "StoreLockedError"]));
    expect(report.errorClassesNotShared).toEqual([]);
  });

  it("throws errors that are instances of the other side's classes, RxTradeError included", () => {
    expect(report.configError).toEqual({ name: "ConfigError", esmConfigError: true, esmRxTradeError: true });
    expect(report.schemaError).toEqual({ name: "SchemaError", typeError: true, esmSchemaError: true, esmRxTradeError: true });
  });

  it("has one config: setConfig on one side is what getConfig reads on the other", () => {
    expect(report.config).toEqual({ cjsSetEsmGets: 7, esmSetCjsGets: 9 });
  });

  it("has one registry: a strategy added through require is found through import, and cannot be added again", () => {
    expect(report.registries).toEqual({
      esmGetsCjsStrategy: true,
      cjsGetsEsmExchange: "dual-replay",
      esmAddAgain: expect.stringMatching(/^rxtrade: strategy dual-load is already registered/),
    });
  });

  it("has one set of events: an import-side listener hears the stream started through require", () => {
    // Long at 100 at minute 6 (VWAP of minutes 1-5); from minute 10 the price is 102, and the
    // VWAP of the last five closed minutes passes the take profit (101) at minute 13 (101.2).
    expect(report.events.emittedByCjs).toEqual(["opened@6", "closed@13"]);
    expect(report.events.heardByEsm).toEqual(["opened@6", "closed@13"]);
  });

  it("prints no warning (Node prints require(esm)'s ExperimentalWarning only under --trace-require-module)", () => {
    expect(stderr).toBe("");
  });
});
