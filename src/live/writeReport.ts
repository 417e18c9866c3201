import { ReportWriteError } from "../errors";

/** Permission bits of what `writeReport` creates (before the umask). */
export interface ReportModes {
  /** The report file. Default `0o600`. */
  fileMode?: number;
  /** The folders it creates (an existing folder keeps its mode). Default `0o700`. */
  dirMode?: number;
}

/**
 * The report's file name, `{symbol}_{strategyName}.md`, as one plain name: path separators,
 * `:` and the other characters a file system refuses or reads specially (control characters,
 * `<>"|?*`) become `-`, so a symbol like `../../x` or `BTC/USDT` stays inside the folder.
 * `Live.dump` and the command line name their reports with it.
 *
 * @example
 * reportFileName("BTC/USDT:USDT", "momentum"); // "BTC-USDT-USDT_momentum.md"
 */
export function reportFileName(symbol: string, strategyName: string): string {
  return `${symbol}_${strategyName}.md`.replace(/[/\\:<>"|?*\u0000-\u001f\u007f]/g, "-");
}

/**
 * Writes `markdown` to `{path}/{reportFileName(symbol, strategyName)}` and returns that path;
 * rejects with `ReportWriteError`. The folder is created (0700 by default) when missing; the
 * report goes to a new temp file beside it (created exclusively, 0600 by default) that is then
 * renamed over the report, so a file or symlink planted at the report's path is replaced,
 * never written through, and a reader never sees half a report.
 *
 * Node only, found at call time: the core entry that loads this module imports no Node
 * built-in (it also runs in browsers).
 *
 * @example
 * import { writeReport } from "rxtrade/node";
 * await writeReport("./dump/live", "BTCUSDT", "momentum", markdown); // ./dump/live/BTCUSDT_momentum.md
 *
 * @param path the folder, resolved against the working directory
 * @param modes the permission bits of the file and of the folders created
 */
export async function writeReport(path: string, symbol: string, strategyName: string, markdown: string, modes: ReportModes = {}): Promise<string> {
  const getBuiltin = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule;
  if (typeof getBuiltin !== "function") {
    throw new ReportWriteError({ path, message: "writing a report file needs Node >= 20.16; use Live.getReport elsewhere" });
  }
  const fs = getBuiltin("node:fs/promises") as typeof import("node:fs/promises");
  const nodePath = getBuiltin("node:path") as typeof import("node:path");
  const { pid } = getBuiltin("node:process") as typeof import("node:process");
  const { fileMode = 0o600, dirMode = 0o700 } = modes;
  const dir = nodePath.resolve(path);
  const file = nodePath.join(dir, reportFileName(symbol, strategyName));
  try {
    await fs.mkdir(dir, { recursive: true, mode: dirMode });
    await replaceFile(fs, nodePath.join(dir, `.${nodePath.basename(file)}.tmp-${pid}-`), file, markdown, fileMode);
  } catch (cause) {
    throw new ReportWriteError({ path: file, cause, message: `cannot write the report: ${(cause as Error).message}` });
  }
  return file;
}

let tempCounter = 0;

/** Writes a new temp file (`O_EXCL`: never an existing file or symlink), then renames it over `file`. */
async function replaceFile(fs: typeof import("node:fs/promises"), tempPrefix: string, file: string, text: string, mode: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const temp = `${tempPrefix}${++tempCounter}-${Math.random().toString(36).slice(2, 10)}`;
    let handle: import("node:fs/promises").FileHandle;
    try {
      handle = await fs.open(temp, "wx", mode);
    } catch (error) {
      // Something already has that name (a planted file, a symlink): another name.
      if ((error as NodeJS.ErrnoException).code === "EEXIST" && attempt < 10) continue;
      throw error;
    }
    try {
      try {
        await handle.writeFile(text, "utf8");
        await handle.sync();
      } finally {
        await handle.close();
      }
      // rename replaces the last component itself: a symlink there is replaced, its target untouched.
      await fs.rename(temp, file);
      return;
    } catch (error) {
      await fs.unlink(temp).catch(() => undefined);
      throw error;
    }
  }
}
