// Loads every built entry through the package's own exports map, as ESM and as CJS, and
// fails when one cannot be loaded, exports nothing, or is not the same module both ways (one
// engine state per process: the CJS entries re-export the ESM build). Run after `npm run build`.
import { createRequire } from "node:module";
import { readdirSync, readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const require = createRequire(import.meta.url);
const entries = Object.keys(pkg.exports)
  .filter((key) => key !== "./package.json")
  .map((key) => (key === "." ? pkg.name : `${pkg.name}/${key.slice(2)}`));

let failures = 0;
for (const specifier of entries) {
  for (const [kind, load] of [
    ["esm", () => import(specifier)],
    ["cjs", async () => require(specifier)],
  ]) {
    try {
      const names = Object.keys(await load()).filter((name) => name !== "default");
      if (names.length === 0) throw new Error("no exports");
      console.log(`smoke ${kind} ${specifier}: ${names.length} exports`);
    } catch (error) {
      failures += 1;
      console.error(`smoke ${kind} ${specifier}: FAILED: ${error.message}`);
    }
  }
}
// The error classes are one set across entries (API.md: instanceof works from any entry).
const ERRORS = ["RxTradeError", "InvalidSignalError", "ConfigError", "ExchangeError", "StoreReadError", "StoreWriteError", "StoreLockedError"];
for (const [kind, load] of [
  ["esm", (specifier) => import(specifier)],
  ["cjs", async (specifier) => require(specifier)],
]) {
  const core = await load(pkg.name);
  for (const specifier of entries) {
    const entry = await load(specifier);
    const different = ERRORS.filter((name) => entry[name] !== core[name]);
    if (different.length > 0) {
      failures += 1;
      console.error(`smoke ${kind} ${specifier}: error classes not shared with ${pkg.name}: ${different.join(", ")}`);
    }
  }
}
console.log(`smoke: error classes shared by all ${entries.length} entries (esm and cjs)`);
for (const specifier of entries) {
  const [esm, cjs] = [await import(specifier), require(specifier)];
  const differ = Object.keys(esm).filter((name) => esm[name] !== cjs[name]);
  if (differ.length > 0) {
    failures += 1;
    console.error(`smoke ${specifier}: require and import give different values (two engine states): ${differ.join(", ")}`);
  }
}
console.log(`smoke: require and import give the same module for all ${entries.length} entries`);
// rxtrade/redis loads without ioredis (an optional peer, imported only when a store first
// connects): no built file may import it statically.
const dist = new URL("../dist/", import.meta.url);
const staticIoredis = /^\s*import\s[^;]*?\bfrom\s*["']ioredis["']|^\s*import\s*["']ioredis["']|\brequire\(\s*["']ioredis["']\s*\)/m;
const importers = readdirSync(dist).filter((name) => /\.c?js$/.test(name) && staticIoredis.test(readFileSync(new URL(name, dist), "utf8")));
if (importers.length > 0) {
  failures += 1;
  console.error(`smoke: ${importers.join(", ")} import ioredis statically; rxtrade/redis must load it with import() when a store first connects`);
} else console.log("smoke: no built file imports ioredis statically (rxtrade/redis loads without it)");
if (failures > 0) process.exit(1);
