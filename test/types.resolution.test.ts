// The package's types resolve for every entry under TypeScript's node16, node10 and bundler
// module resolution, with ES imports and with CommonJS require: the fixture project
// test/fixtures/typesResolution, beside node_modules/rxtrade (this repository's package.json and
// a link to its dist/, so package.json "exports", "types" and "typesVersions" and the built
// dist/*.d.ts / *.d.cts are what a user gets), is compiled by tsc once per resolution. node10 knows no "exports": the
// subpaths resolve through "typesVersions". The declarations must be built (`npm run build`,
// which CI runs before the tests).
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, rm, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../", import.meta.url));
const fixture = fileURLToPath(new URL("./fixtures/typesResolution/", import.meta.url));
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
const run = promisify(execFile);
const ENTRIES = ["index", "operators", "testing", "node", "browser", "ccxt", "service", "redis"];

let dir: string;

beforeAll(async () => {
  const missing: string[] = [];
  for (const entry of ENTRIES) {
    for (const ext of [".d.ts", ".d.cts"]) {
      await stat(join(root, "dist", entry + ext)).catch(() => missing.push(`dist/${entry}${ext}`));
    }
  }
  if (missing.length > 0) throw new Error(`${missing.join(", ")} missing: run npm run build first`);
  // Inside the repository, so that rxjs and ccxt resolve from its node_modules.
  const cache = join(root, "node_modules", ".cache");
  await mkdir(cache, { recursive: true });
  dir = await mkdtemp(join(cache, "rxtrade-types-"));
  await cp(fixture, dir, { recursive: true });
  // What the tarball holds for types: package.json and dist/ (not the repository's sources,
  // which node10 would otherwise find by folder: operators/index.ts).
  const pkg = join(dir, "node_modules", "rxtrade");
  await mkdir(pkg, { recursive: true });
  await cp(join(root, "package.json"), join(pkg, "package.json"));
  await symlink(join(root, "dist"), join(pkg, "dist"), "dir");
  // The .ts files are ES modules under node16 (the .cjs files are CommonJS by extension).
  await writeFile(join(dir, "package.json"), `${JSON.stringify({ name: "types-fixture", private: true, type: "module" })}\n`);
}, 30_000);

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** Compiles `files` of the fixture with `options`; resolves tsc's output ("" when it compiled). */
async function compile(name: string, options: Record<string, unknown>, files: string[]): Promise<string> {
  const config = {
    compilerOptions: { target: "ES2022", lib: ["ES2022", "DOM"], types: [], strict: true, allowJs: true, checkJs: true, noEmit: true, ...options },
    files,
  };
  await writeFile(join(dir, `tsconfig.${name}.json`), JSON.stringify(config, null, 2));
  try {
    await run(process.execPath, [tsc, "-p", `tsconfig.${name}.json`], { cwd: dir, timeout: 150_000 });
    return "";
  } catch (error) {
    const { stdout, stderr, killed } = error as { stdout?: string; stderr?: string; killed?: boolean };
    if (killed === true) return `tsc -p tsconfig.${name}.json did not finish within 150 s (a loaded machine?)`;
    return `${stdout ?? ""}${stderr ?? ""}` || String(error);
  }
}

const ALL = ["imports.ts", "requires.cjs", "ccxt.ts", "ccxt.cjs"];
// ccxt's own declaration files do not pass a library check (e.g. "Cannot find name 'Num'"), so
// rxtrade/ccxt is compiled with skipLibCheck; rxtrade's other declarations are checked in full
// (both sets, .d.ts through imports.ts and .d.cts through requires.cjs; TypeScript's own lib
// files are not) under node16.
const cases = [
  { name: "node16, declarations checked in full", options: { module: "node16", moduleResolution: "node16", skipLibCheck: false, skipDefaultLibCheck: true }, files: ["imports.ts", "requires.cjs"] },
  { name: "node16", options: { module: "node16", moduleResolution: "node16", skipLibCheck: true }, files: ALL },
  { name: "node10", options: { module: "commonjs", moduleResolution: "node10", skipLibCheck: true }, files: ALL },
  { name: "bundler", options: { module: "preserve", moduleResolution: "bundler", skipLibCheck: true }, files: ALL },
];

describe("the built types, every entry, ES imports and require", () => {
  let outputs: string[];
  beforeAll(async () => {
    outputs = await Promise.all(cases.map(({ name, options, files }) => compile(name.replace(/\W+/g, "-"), options, files)));
  }, 180_000);

  it.each(cases.map((c, i) => ({ ...c, i })))("compile under $name resolution", ({ i, name }) => {
    expect(outputs[i], `tsc (${name}) reported errors; if dist/ is older than the sources, run npm run build`).toBe("");
  });
});
