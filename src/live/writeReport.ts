import { ReportWriteError } from "../errors";

/** Writes `{path}/{symbol}_{strategyName}.md`; rejects with `ReportWriteError`. Node only, found at call time. */
export async function writeReport(path: string, symbol: string, strategyName: string, markdown: string): Promise<string> {
  // Node-only, found at call time: loading the facade touches no Node built-in (it also runs in browsers).
  const getBuiltin = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule;
  if (typeof getBuiltin !== "function") {
    throw new ReportWriteError({ path, message: "Live.dump writes files and needs Node >= 20.16; use Live.getReport elsewhere" });
  }
  const fs = getBuiltin("node:fs/promises") as typeof import("node:fs/promises");
  const nodePath = getBuiltin("node:path") as typeof import("node:path");
  const dir = nodePath.resolve(path);
  const file = nodePath.join(dir, `${symbol}_${strategyName}.md`.replace(/[/\\]/g, "-"));
  try {
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(file, markdown, "utf8");
  } catch (cause) {
    throw new ReportWriteError({ path: file, cause, message: `cannot write the report: ${(cause as Error).message}` });
  }
  return file;
}
