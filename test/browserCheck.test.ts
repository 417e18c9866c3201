// The check that keeps Node out of the browser entries (scripts/check-browser.mjs), shown to
// fail on entries that import a Node built-in or ccxt or use a Node global, and to pass on
// clean ones and on the real entries' sources.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkBrowserEntry } from "../scripts/check-browser.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
let dir: string;
const entry = (name: string, code: string): string => {
  const file = join(dir, name);
  writeFileSync(file, code);
  return file;
};

beforeAll(() => {
  // Inside the repository, so that rxjs resolves from its node_modules.
  mkdirSync(join(root, "test-results"), { recursive: true });
  dir = mkdtempSync(join(root, "test-results", "check-browser-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("check-browser", () => {
  it("fails an entry that imports node:fs, naming the entry and the import", async () => {
    const file = entry("bad-fs.mjs", `import { readFileSync } from "node:fs";\nexport const read = () => readFileSync("x");\n`);
    const result = await checkBrowserEntry(file, { name: "bad-fs" });
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([expect.stringMatching(/^bad-fs: imports "node:fs", a Node built-in \(from .*bad-fs\.mjs\)$/)]);
  });

  it("fails an entry that imports ccxt", async () => {
    const file = entry("bad-ccxt.mjs", `import ccxt from "ccxt";\nexport const exchange = () => new ccxt.binance();\n`);
    const result = await checkBrowserEntry(file, { name: "bad-ccxt" });
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([expect.stringMatching(/^bad-ccxt: imports "ccxt", ccxt \(Node-only\)/)]);
  });

  it("follows the module graph: a bare built-in (path) or lowdb imported by a module the entry imports", async () => {
    entry("helper.mjs", `import { join } from "path";\nimport { Low } from "lowdb";\nexport const both = () => [join("a", "b"), Low];\n`);
    const file = entry("bad-nested.mjs", `export { both } from "./helper.mjs";\n`);
    const result = await checkBrowserEntry(file, { name: "bad-nested" });
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      expect.stringMatching(/^bad-nested: imports "path", a Node built-in \(from .*helper\.mjs\)$/),
      expect.stringMatching(/^bad-nested: imports "lowdb", lowdb \(Node-only\) \(from .*helper\.mjs\)$/),
    ]);
  });

  it("fails an entry that uses process at load, statically and when loaded in a browser realm", async () => {
    const file = entry("bad-process.mjs", `export const mode = process.env.NODE_ENV ?? "production";\n`);
    const result = await checkBrowserEntry(file, { name: "bad-process" });
    expect(result.ok).toBe(false);
    expect(result.problems).toContain(`bad-process: uses the Node global process (in ${"test-results/" + dir.split("/test-results/")[1]}/bad-process.mjs)`);
    expect(result.problems).toContain("bad-process: throws when loaded in a browser realm: TypeError: Cannot read properties of undefined (reading 'env')");
    expect(result.problems).toContain("bad-process: touches the Node global process when loaded");
  });

  it("fails a free Buffer, require or __dirname anywhere in the code", async () => {
    const file = entry(
      "bad-globals.mjs",
      `export const a = () => Buffer.from("x");\nexport const b = () => require("x");\nexport const c = () => __dirname;\n`,
    );
    const result = await checkBrowserEntry(file, { name: "bad-globals" });
    expect(result.problems.map((p) => p.replace(/ \(in .*\)$/, ""))).toEqual([
      "bad-globals: uses the Node global Buffer",
      "bad-globals: uses the Node global require",
      "bad-globals: uses the Node global __dirname",
    ]);
  });

  it("fails a lookup of globalThis.process at load (only the load in a browser realm sees it)", async () => {
    const file = entry("bad-load.mjs", `export const version = globalThis.process?.version ?? "browser";\n`);
    const result = await checkBrowserEntry(file, { name: "bad-load" });
    expect(result.problems).toEqual(["bad-load: touches the Node global process when loaded"]);
  });

  it("passes a clean entry (rxjs, and a guarded Node lookup that runs only when called)", async () => {
    const file = entry(
      "clean.mjs",
      `import { of } from "rxjs";\nexport const one = () => of(1);\nexport const node = () => globalThis.process?.versions?.node;\nexport const label = "process.env is not read";\n`,
    );
    expect(await checkBrowserEntry(file, { name: "clean" })).toEqual({ name: "clean", ok: true, problems: [] });
  });

  it("fails an entry that does not exist", async () => {
    const result = await checkBrowserEntry(join(dir, "missing.js"), { name: "missing" });
    expect(result.ok).toBe(false);
    expect(result.problems[0]).toMatch(/^missing: .*missing\.js does not exist/);
  });

  it.each([
    ["rxtrade", "src/index.ts"],
    ["rxtrade/operators", "operators/index.ts"],
    ["rxtrade/testing", "src/testing/index.ts"],
    ["rxtrade/browser", "src/browser/index.ts"],
  ])("passes the sources of %s (%s)", async (name, path) => {
    expect(await checkBrowserEntry(join(root, path), { name })).toEqual({ name, ok: true, problems: [] });
  });

  it.each([
    ["rxtrade/node", "src/node/index.ts", /imports "node:fs\/promises", a Node built-in/],
    ["rxtrade/ccxt", "src/ccxt/index.ts", /imports "ccxt", ccxt \(Node-only\)/],
  ])("fails the sources of %s (%s), which are Node-only", async (name, path, problem) => {
    const result = await checkBrowserEntry(join(root, path), { name });
    expect(result.ok).toBe(false);
    expect(result.problems).toContainEqual(expect.stringMatching(problem));
  });
});
