// Checks that the browser entries — rxtrade, rxtrade/operators, rxtrade/testing and
// rxtrade/browser — run in a browser: each built ESM entry (dist/*.js) is bundled for the
// browser platform with esbuild, and the check fails when
//   1. it imports a Node built-in (`node:*`, `fs`, `path`, …), ccxt or lowdb, anywhere in its
//      module graph (each import is named with the module that makes it);
//   2. its code refers to a Node global — `process`, `Buffer`, `require`, `__dirname`,
//      `__filename`, `global` — as a free identifier (found with esbuild `define` markers, so
//      property names and strings do not count; `globalThis.process?.x` inside a function does
//      not either, that is a guarded call-time lookup);
//   3. loading it, bundled with rxjs and idb-keyval into one script and run in a fresh
//      JavaScript realm with browser globals only, touches one of those globals, or throws.
//
// Usage: node scripts/check-browser.mjs [file.js …]   (default: the four built entries)
// Exits 1, naming the entry and what it found, when an entry fails. Run after `npm run build`.
// `checkBrowserEntry` is exported for test/browserCheck.test.ts.
import { existsSync } from "node:fs";
import { builtinModules } from "node:module";
import { relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import vm from "node:vm";
import * as esbuild from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));

/** The entries that must stay browser-safe (`rxtrade/node` and `rxtrade/ccxt` are not). */
export const BROWSER_ENTRIES = ["index", "operators", "testing", "browser"].map((name) => ({
  name: name === "index" ? "rxtrade" : `rxtrade/${name}`,
  file: resolve(root, "dist", `${name}.js`),
}));

const NODE_GLOBALS = ["process", "Buffer", "require", "__dirname", "__filename", "global"];
const MARKER = "__rxtrade_node_global__";
const FORBIDDEN_PACKAGES = ["ccxt", "lowdb"];
const builtins = new Set(builtinModules);

/** Why `path` may not be imported by a browser entry, or undefined when it may. */
function forbidden(path) {
  if (path.startsWith("node:")) return "a Node built-in";
  if (builtins.has(path) || builtins.has(path.split("/")[0])) return "a Node built-in";
  const name = path.startsWith("@") ? path.split("/").slice(0, 2).join("/") : path.split("/")[0];
  if (FORBIDDEN_PACKAGES.includes(name)) return `${name} (Node-only)`;
  return undefined;
}

const show = (file) => (file ? relative(process.cwd(), file) || file : "?");

/**
 * Checks one ESM entry file. Resolves `{ name, ok, problems }`; each problem is one line naming
 * the offending import or global and where it is.
 *
 * @param {string} file the entry (a .js/.mjs/.ts file)
 * @param {{ name?: string, load?: boolean }} options `name` labels the entry in messages;
 *   `load: false` skips the load in a fresh realm (steps 1 and 2 only)
 */
export async function checkBrowserEntry(file, options = {}) {
  const name = options.name ?? show(file);
  const problems = [];
  if (!existsSync(file)) {
    return { name, ok: false, problems: [`${name}: ${show(file)} does not exist (run npm run build first)`] };
  }

  // 1 + 2: bundle (rxjs external: a peer dependency, browser-safe by design), recording every
  // forbidden import instead of resolving it, with every free Node global renamed to a marker.
  const imports = [];
  const recordImports = {
    name: "rxtrade-forbidden-imports",
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === "entry-point") return undefined;
        const why = forbidden(args.path);
        if (why === undefined) return undefined;
        imports.push(`${name}: imports ${JSON.stringify(args.path)}, ${why} (from ${show(args.importer)})`);
        return { path: args.path, external: true };
      });
    },
  };
  const define = Object.fromEntries(NODE_GLOBALS.map((g) => [g, `${MARKER}${g}`]));
  let text;
  try {
    const result = await esbuild.build({
      entryPoints: [file],
      bundle: true,
      platform: "browser",
      format: "esm",
      target: "es2022",
      write: false,
      logLevel: "silent",
      external: ["rxjs", "rxjs/*"],
      define,
      plugins: [recordImports],
    });
    text = result.outputFiles[0].text;
  } catch (error) {
    return { name, ok: false, problems: [`${name}: does not bundle for the browser: ${error.message}`] };
  }
  problems.push(...new Set(imports));
  const seen = new Set();
  for (const match of text.matchAll(new RegExp(`${MARKER}(\\w+)`, "g"))) {
    const global = match[1];
    // esbuild heads each module's code with a "// path" comment: name the module it is in.
    const before = text.slice(0, match.index);
    const module = before.match(/^\/\/ (\S+)$/gm)?.at(-1)?.slice(3) ?? "?";
    const key = `${global} ${module}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push(`${name}: uses the Node global ${global} (in ${module})`);
  }

  // 3: load it where only browser globals exist. Skipped when 1 found an import to follow.
  if (options.load !== false && imports.length === 0) {
    const { bundled, problems: loadProblems } = await loadInBrowserRealm(file, name);
    // A free `require("x")` found above may also keep the entry from bundling: said once is enough.
    if (bundled || problems.length === 0) problems.push(...loadProblems);
  }
  return { name, ok: problems.length === 0, problems };
}

/** Bundles `file` with its dependencies into one script and runs it in a fresh vm realm. */
async function loadInBrowserRealm(file, name) {
  let script;
  try {
    const result = await esbuild.build({
      entryPoints: [file],
      bundle: true,
      platform: "browser",
      format: "iife",
      globalName: "__rxtradeEntry", // keeps every export, so all of the entry's code is loaded
      target: "es2022",
      // Not the "development" esbuild puts there for the browser: served as plain ES modules,
      // the entry would read the real (missing) `process`.
      define: { "process.env.NODE_ENV": "globalThis.process.env.NODE_ENV" },
      write: false,
      logLevel: "silent",
    });
    script = result.outputFiles[0].text;
  } catch (error) {
    return { bundled: false, problems: [`${name}: does not bundle with its dependencies for the browser: ${error.message}`] };
  }
  const touched = new Set();
  const sandbox = {
    console,
    setTimeout,
    clearTimeout,
    setInterval,
    clearInterval,
    queueMicrotask,
    structuredClone,
    performance,
    crypto: globalThis.crypto,
    TextEncoder,
    TextDecoder,
    URL,
    AbortController,
    Event,
    EventTarget,
    navigator: { userAgent: "rxtrade-check-browser" },
  };
  for (const global of NODE_GLOBALS) {
    Object.defineProperty(sandbox, global, {
      configurable: true,
      get() {
        touched.add(global);
        return undefined;
      },
    });
  }
  const realm = vm.createContext(sandbox);
  vm.runInContext("globalThis.window = globalThis.self = globalThis;", realm);
  const problems = [];
  try {
    vm.runInContext(script, realm, { filename: `${name} (bundled for the browser)`, timeout: 5_000 });
  } catch (error) {
    problems.push(`${name}: throws when loaded in a browser realm: ${error?.name ?? "Error"}: ${error?.message ?? error}`);
  }
  for (const global of touched) problems.push(`${name}: touches the Node global ${global} when loaded`);
  if (problems.length === 0 && vm.runInContext("Object.keys(globalThis.__rxtradeEntry ?? {}).length", realm) === 0) {
    problems.push(`${name}: exports nothing when loaded in a browser realm`);
  }
  return { bundled: true, problems };
}

/** Checks every entry; prints one line per entry and each problem. Resolves true when all pass. */
export async function checkBrowserEntries(entries = BROWSER_ENTRIES, log = console) {
  let ok = true;
  for (const entry of entries) {
    const result = await checkBrowserEntry(entry.file, { name: entry.name });
    if (result.ok) {
      log.log(`check-browser ${entry.name} (${show(entry.file)}): no Node built-in, no ccxt/lowdb, no Node global; loads in a browser realm`);
    } else {
      ok = false;
      for (const problem of result.problems) log.error(`check-browser FAILED ${problem}`);
    }
  }
  return ok;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const files = process.argv.slice(2);
  const entries = files.length > 0 ? files.map((file) => ({ name: file, file: resolve(file) })) : BROWSER_ENTRIES;
  process.exit((await checkBrowserEntries(entries)) ? 0 : 1);
}
