import { existsSync } from "node:fs";
import { extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { UsageError } from "./usage";

/** A `--strategy` or `--exchange` value that names a file rather than a name or an id. */
export function looksLikePath(value: string): boolean {
  return /[\\/]/.test(value) || /\.[cm]?[jt]s$/.test(value);
}

/**
 * Imports a user's module given on the command line. JavaScript loads as is; TypeScript loads
 * when the runtime can (tsx, or Node with type stripping) or, failing that, through `tsx` if it
 * is installed beside the project.
 */
export async function importUserModule(command: string, flag: string, path: string): Promise<Record<string, unknown>> {
  const file = resolve(path);
  if (!existsSync(file)) throw new UsageError(command, `--${flag} ${path}: no such file (${file})`);
  const url = pathToFileURL(file).href;
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ERR_UNKNOWN_FILE_EXTENSION" && /^\.[cm]?ts$/.test(extname(file))) return importTypeScript(command, flag, path, url);
    throw new UsageError(command, `--${flag} ${path}: the module failed to load: ${(error as Error)?.message ?? String(error)}`);
  }
}

async function importTypeScript(command: string, flag: string, path: string, url: string): Promise<Record<string, unknown>> {
  let tsImport: (specifier: string, parentURL: string) => Promise<Record<string, unknown>>;
  try {
    ({ tsImport } = (await import("tsx/esm/api")) as unknown as { tsImport: typeof tsImport });
  } catch {
    throw new UsageError(
      command,
      `--${flag} ${path}: this Node cannot import TypeScript by itself; compile it to .js, install tsx (npm install -D tsx), ` +
        `or run rxtrade through it (npx tsx node_modules/rxtrade/dist/cli.js …)`,
    );
  }
  try {
    return await tsImport(url, import.meta.url);
  } catch (error) {
    throw new UsageError(command, `--${flag} ${path}: the module failed to load: ${(error as Error)?.message ?? String(error)}`);
  }
}

/**
 * The export a module offers for `name` ("strategy", "exchange"): the named export, else the
 * default one (a CommonJS `module.exports` object counts as named exports). A function is
 * called: a factory such as `momentumStrategy` works too.
 */
export function pickExport(module: Record<string, unknown>, name: string): unknown {
  const value = module[name] ?? module.default;
  return typeof value === "function" ? (value as () => unknown)() : value;
}
