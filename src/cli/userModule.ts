import { existsSync } from "node:fs";
import { extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { numberFlag, UsageError } from "./usage";

/** How long a `--strategy` / `--exchange` module may take to load, and its factory to resolve (`--module-timeout`). */
export const DEFAULT_MODULE_TIMEOUT_SECONDS = 30;

/** The `--module-timeout` lines of a command's help. */
export const MODULE_TIMEOUT_HELP = `  --module-timeout S
                     seconds a module given by path may take to load (a top-level await) and
                     its factory to resolve, 0.1 to 3600 (default ${DEFAULT_MODULE_TIMEOUT_SECONDS}); past it, exit 2`;

/** `--module-timeout` in ms (the default when it is not given). */
export function moduleTimeoutMs(command: string, text: string | undefined): number {
  if (text === undefined) return DEFAULT_MODULE_TIMEOUT_SECONDS * 1000;
  return numberFlag(command, "module-timeout", text, { min: 0.1, max: 3600, what: "seconds a module may take to load", example: "30" }) * 1000;
}

/** A module named on the command line: `--{flag} {path}` of `rxtrade {command}`. */
export interface UserModule {
  command: string;
  flag: string;
  path: string;
  /** The time limit of the import (its top-level await) and, separately, of a factory's promise. */
  timeoutMs: number;
}

/** A `--strategy` or `--exchange` value that names a file rather than a name or an id. */
export function looksLikePath(value: string): boolean {
  return /[\\/]/.test(value) || /\.[cm]?[jt]s$/.test(value);
}

/**
 * What a user's module offers for `name` ("strategy", "exchange"): the named export, else the
 * default one (a CommonJS `module.exports` object counts as named exports). A function is
 * called with no arguments — a factory such as `momentumStrategy` works too — and a promise it
 * returns is awaited. Every failure is a `UsageError` naming the flag and the file: a module
 * that cannot be found or fails to load, a top-level await or a factory's promise that has not
 * settled within `timeoutMs`, a factory that throws or rejects.
 */
export async function loadUserExport(source: UserModule, name: string): Promise<unknown> {
  const module = await importUserModule(source);
  const exported = module[name] === undefined ? "default" : name;
  const value = module[exported];
  if (typeof value !== "function") return value;
  const factory = `its factory (the \`${exported}\` export, called with no arguments)`;
  let made: unknown;
  try {
    made = (value as () => unknown)();
  } catch (error) {
    throw failure(source, `${factory} threw: ${describeThrown(error)}`);
  }
  try {
    // Promise.resolve adopts a thenable (a `then` that throws is a rejection) and passes any other value through.
    return await withinTime(Promise.resolve(made), source.timeoutMs, () =>
      failure(source, `the promise ${factory} returned did not settle within ${seconds(source.timeoutMs)}; ${moreTime(source)}`),
    );
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw failure(source, `the promise ${factory} returned rejected: ${describeThrown(error)}`);
  }
}

/**
 * Imports a user's module given on the command line. JavaScript loads as is; TypeScript loads
 * when the runtime can (tsx, or Node with type stripping) or, failing that, through `tsx` if it
 * is installed beside the project.
 */
async function importUserModule(source: UserModule): Promise<Record<string, unknown>> {
  const file = resolve(source.path);
  if (!existsSync(file)) throw failure(source, `no such file (${file})`);
  const url = pathToFileURL(file).href;
  try {
    return await loading(source, import(url) as Promise<Record<string, unknown>>);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as { code?: string } | null)?.code;
    if (code === "ERR_UNKNOWN_FILE_EXTENSION" && /^\.[cm]?ts$/.test(extname(file))) return importTypeScript(source, url);
    throw failure(source, `the module failed to load: ${describeThrown(error)}`);
  }
}

async function importTypeScript(source: UserModule, url: string): Promise<Record<string, unknown>> {
  let tsImport: (specifier: string, parentURL: string) => Promise<Record<string, unknown>>;
  try {
    ({ tsImport } = (await import("tsx/esm/api")) as unknown as { tsImport: typeof tsImport });
  } catch {
    throw failure(
      source,
      `this Node cannot import TypeScript by itself; compile it to .js, install tsx (npm install -D tsx), ` +
        `or run rxtrade through it (npx tsx node_modules/rxtrade/dist/cli.js …)`,
    );
  }
  try {
    return await loading(source, tsImport(url, import.meta.url));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw failure(source, `the module failed to load: ${describeThrown(error)}`);
  }
}

// A top-level await that never settles would leave Node nothing to run: it exits 13 without a
// word. The timer keeps the process alive until the limit, and then says which module it was.
function loading<T>(source: UserModule, work: Promise<T>): Promise<T> {
  return withinTime(work, source.timeoutMs, () =>
    failure(source, `the module did not finish loading within ${seconds(source.timeoutMs)} (a top-level await that never settles?); ${moreTime(source)}`),
  );
}

/** `work`, or `late()` as a rejection once `ms` have passed; the timer is cleared as soon as `work` settles. */
async function withinTime<T>(work: Promise<T>, ms: number, late: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late()), ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

function failure(source: UserModule, problem: string): UsageError {
  return new UsageError(source.command, `--${source.flag} ${source.path}: ${problem}`);
}

function moreTime(source: UserModule): string {
  return `fix the module, or allow it longer with --module-timeout <seconds> (now ${source.timeoutMs / 1000})`;
}

function seconds(ms: number): string {
  return `${ms / 1000} s`;
}

/** The message of something a user's code threw (any value, even one whose `message` getter throws). */
export function describeThrown(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return "(a value that cannot be printed)";
  }
}
