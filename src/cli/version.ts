import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The version in rxtrade's own package.json, read when asked (never a copy made at build time,
 * which would go stale): the first package.json named `rxtrade` above this module. That is
 * `../package.json` from dist/cli.js in an installed package, `../../package.json` from
 * src/cli/ when run from the sources. Throws an `Error` saying where it looked when there is none.
 */
export function packageVersion(from: string = import.meta.url): string {
  const start = dirname(fileURLToPath(from));
  for (let dir = start; ; dir = dirname(dir)) {
    const path = join(dir, "package.json");
    let text: string | undefined;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") throw new Error(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
    }
    if (text !== undefined) {
      let manifest: { name?: unknown; version?: unknown };
      try {
        manifest = JSON.parse(text) as typeof manifest;
      } catch (cause) {
        throw new Error(`${path} is not JSON (${(cause as Error).message})`, { cause });
      }
      if (manifest?.name === "rxtrade") {
        if (typeof manifest.version !== "string" || manifest.version === "") throw new Error(`${path} has no "version"`);
        return manifest.version;
      }
    }
    if (dirname(dir) === dir) throw new Error(`no package.json of rxtrade in ${start} or any folder above it`);
  }
}
