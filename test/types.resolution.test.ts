// The package's types resolve for every entry under TypeScript's node16, node10 and bundler
// module resolution, with ES imports and with CommonJS require: the fixture project
// test/fixtures/typesResolution, beside node_modules/rxtrade (this repository's package.json and
// a link to its dist/, so package.json "exports", "types" and "typesVersions" and the built
// dist/*.d.ts / *.d.cts are what a user gets), is compiled once per resolution. node10 knows no
// "exports": the subpaths resolve through "typesVersions". The declarations must be built
// (`npm run build`, which CI runs before the tests).
//
// The four compilations run in this process through the TypeScript compiler API (they were four
// `tsc -p` processes, ~30 s of CPU): each case's tsconfig.<case>.json is written and read as
// `tsc -p` reads it, and one CompilerHost serves all four programs, keeping the parsed (and, once
// a checker has run, bound) declaration files (.d.ts/.d.cts/.d.mts: TypeScript's lib, ccxt, rxjs,
// rxtrade's dist) keyed by file name, language version and implied module format, so they are
// parsed once, not once per case (what ts.createDocumentRegistry does for the language service).
// The fixture's own files are parsed afresh for each case (their module detection depends on the
// case's options). Reported, as tsc reports them and formatted as tsc formats them: the config
// and options diagnostics, the global diagnostics and every file's syntactic diagnostics; the
// semantic diagnostics of every file in the skipLibCheck cases (declaration files skipped, as
// tsc skips them), and in the "declarations checked in full" case the semantic diagnostics of
// the fixture's files and of rxtrade's own declarations (dist/*.d.ts, dist/*.d.cts) only, not of
// rxjs's, pino's, ioredis's... declarations, which are those packages' business (tsc -p would
// check those too).
import { cp, mkdir, mkdtemp, realpath, rm, stat, symlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type TypeScript from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// Required, not imported: an ES import of typescript.js (9 MB of CommonJS) has Node scan it for
// its export names and module format first (~0.7 s of CPU).
const ts: typeof TypeScript = createRequire(import.meta.url)("typescript");
const root = fileURLToPath(new URL("../", import.meta.url));
const fixture = fileURLToPath(new URL("./fixtures/typesResolution/", import.meta.url));
const ENTRIES = ["index", "operators", "testing", "node", "browser", "ccxt", "service", "redis"];

let dir: string;
let distDir: string;

beforeAll(async () => {
  const missing: string[] = [];
  for (const entry of ENTRIES) {
    for (const ext of [".d.ts", ".d.cts"]) {
      await stat(join(root, "dist", entry + ext)).catch(() => missing.push(`dist/${entry}${ext}`));
    }
  }
  if (missing.length > 0) throw new Error(`${missing.join(", ")} missing: run npm run build first`);
  distDir = (await realpath(join(root, "dist"))) + sep;
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

const isDeclaration = (fileName: string): boolean => /\.d\.[cm]?ts$/.test(fileName);
/** Whether a file is rxtrade's own: dist/ (through the node_modules/rxtrade link or not). */
const isOwn = (fileName: string): boolean => fileName.startsWith(distDir) || ts.sys.realpath!(fileName).startsWith(distDir);

/** A compiler host for all the cases: declaration files are parsed once for all programs. */
function sharedHost(): (options: TypeScript.CompilerOptions) => TypeScript.CompilerHost {
  const parsed = new Map<string, TypeScript.SourceFile | undefined>();
  return (options) => {
    const host = ts.createCompilerHost(options);
    // As tsc: JSDoc in .ts/.d.ts files is parsed only where it can hold a type error.
    host.jsDocParsingMode = ts.JSDocParsingMode.ParseForTypeErrors;
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (fileName, languageVersionOrOptions, onError, shouldCreateNewSourceFile) => {
      if (!isDeclaration(fileName) || shouldCreateNewSourceFile === true) {
        return getSourceFile(fileName, languageVersionOrOptions, onError, shouldCreateNewSourceFile);
      }
      const { languageVersion, impliedNodeFormat } =
        typeof languageVersionOrOptions === "object" ? languageVersionOrOptions : { languageVersion: languageVersionOrOptions, impliedNodeFormat: undefined };
      const key = `${fileName}|${languageVersion}|${impliedNodeFormat ?? "-"}`;
      // Other packages' declarations (lib, ccxt, rxjs, @types/node…) are never checked here, and
      // JSDoc gives a declaration file no types: theirs is not parsed (ccxt has a @see, which
      // ParseForTypeErrors parses, on nearly every method). rxtrade's own keep tsc's mode.
      const options = typeof languageVersionOrOptions === "object" && !isOwn(fileName) ? { ...languageVersionOrOptions, jsDocParsingMode: ts.JSDocParsingMode.ParseNone } : languageVersionOrOptions;
      if (!parsed.has(key)) parsed.set(key, getSourceFile(fileName, options, onError));
      return parsed.get(key);
    };
    return host;
  };
}

/** Compiles `files` of the fixture with `options`; resolves the formatted diagnostics ("" when it compiled). */
async function compile(hostFor: (options: TypeScript.CompilerOptions) => TypeScript.CompilerHost, name: string, options: Record<string, unknown>, files: string[], checkAllDeclarations: boolean): Promise<string> {
  const config = {
    compilerOptions: { target: "ES2022", lib: ["ES2022", "DOM"], types: [], strict: true, allowJs: true, checkJs: true, noEmit: true, ...options },
    files,
  };
  // Written, so that a failing case can be reproduced with `tsc -p tsconfig.<case>.json`.
  const configFile = join(dir, `tsconfig.${name}.json`);
  await writeFile(configFile, JSON.stringify(config, null, 2));
  const parsedConfig = ts.getParsedCommandLineOfConfigFile(configFile, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
  if (parsedConfig === undefined) throw new Error(`${configFile} could not be read`);
  const program = ts.createProgram({
    rootNames: parsedConfig.fileNames,
    options: parsedConfig.options,
    projectReferences: parsedConfig.projectReferences,
    configFileParsingDiagnostics: ts.getConfigFileParsingDiagnostics(parsedConfig),
    host: hostFor(parsedConfig.options),
  });
  const diagnostics: TypeScript.Diagnostic[] = [...program.getConfigFileParsingDiagnostics(), ...program.getOptionsDiagnostics(), ...program.getSyntacticDiagnostics()];
  if (diagnostics.length === 0) {
    diagnostics.push(...program.getGlobalDiagnostics());
    if (checkAllDeclarations) {
      // The fixture's files and rxtrade's own declarations (dist/ through the link).
      for (const file of program.getSourceFiles()) {
        const own = !isDeclaration(file.fileName) || isOwn(file.fileName);
        if (own) diagnostics.push(...program.getSemanticDiagnostics(file));
      }
    } else {
      // As tsc: declaration files are skipped under skipLibCheck.
      diagnostics.push(...program.getSemanticDiagnostics());
    }
  }
  if (diagnostics.length === 0) return "";
  const formatHost: TypeScript.FormatDiagnosticsHost = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => "\n" };
  return ts.formatDiagnostics(ts.sortAndDeduplicateDiagnostics(diagnostics), formatHost);
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
  const outputs: string[] = [];
  beforeAll(async () => {
    const hostFor = sharedHost();
    for (const { name, options, files } of cases) {
      outputs.push(await compile(hostFor, name.replace(/\W+/g, "-"), options, files, options.skipLibCheck === false));
    }
  }, 180_000);

  it.each(cases.map((c, i) => ({ ...c, i })))("compile under $name resolution", ({ i, name }) => {
    expect(outputs[i], `TypeScript (${name}) reported errors; if dist/ is older than the sources, run npm run build`).toBe("");
  });
});
