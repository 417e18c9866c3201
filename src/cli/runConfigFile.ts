// `rxtrade run`'s config file as read: parsed (a byte order mark skipped), the keys it gives
// twice as problems of their pair and field, and the usage error listing every problem.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { ServiceFileProblem } from "rxtrade/service";
import { UsageError } from "./usage";
import { describeThrown } from "./userModule";

/** The parsed config file (a UTF-8 byte order mark at its start is skipped), and the keys it gives twice in one object. */
export async function readConfig(path: string): Promise<{ value: unknown; duplicates: DuplicateKey[] }> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "a folder, not a file" : code === "EACCES" ? "permission denied" : describeThrown(error);
    throw new UsageError("run", `${path} (${resolve(path)}): ${why}; give the config file, e.g. rxtrade run ./rxtrade.json (see rxtrade run --help for its format)`);
  }
  // Editors on Windows may start a UTF-8 file with a byte order mark, which JSON.parse refuses.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (error) {
    const message = describeThrown(error);
    const at = /position (\d+)/.exec(message);
    const where = at === null ? "" : ` (line ${text.slice(0, Number(at[1])).split("\n").length})`;
    throw new UsageError("run", `${path} is not JSON${where}: ${message}`);
  }
  return { value, duplicates: duplicateKeys(text) };
}

/** A key given twice in one object of a JSON text: where the object is (keys and indexes from the top) and the key. */
export interface DuplicateKey {
  path: Array<string | number>;
  key: string;
}

/**
 * The keys given more than once in an object of `text` (valid JSON: JSON.parse keeps the last
 * of them silently). A scan of the tokens: strings, brackets, colons and commas.
 */
export function duplicateKeys(text: string): DuplicateKey[] {
  const found: DuplicateKey[] = [];
  // Each open object or list: its keys so far (objects) or its next index (lists), and where it is.
  const stack: Array<{ keys: Set<string> | undefined; index: number; path: Array<string | number>; key: string | number | undefined }> = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    const top = stack[stack.length - 1];
    const here = (): Array<string | number> => (top === undefined ? [] : top.key === undefined ? top.path : [...top.path, top.key]);
    if (c === "{" || c === "[") {
      stack.push({ keys: c === "{" ? new Set() : undefined, index: 0, path: here(), key: undefined });
      if (c === "[") (stack[stack.length - 1] as { key: number | string | undefined }).key = 0;
      expectKey = c === "{";
    } else if (c === "}" || c === "]") {
      stack.pop();
      expectKey = false;
    } else if (c === ",") {
      if (top?.keys === undefined && top !== undefined) top.key = ++top.index;
      expectKey = top?.keys !== undefined;
    } else if (c === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      if (expectKey && top?.keys !== undefined) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.keys.has(key)) found.push({ path: top.path, key });
        top.keys.add(key);
        top.key = key;
        expectKey = false;
      }
      i = end;
    }
  }
  return found;
}

// A duplicate key of the file, of a pair or of a pair's config, as a problem of that pair and field.
export function duplicateKeyProblems(duplicates: readonly DuplicateKey[], file: unknown): ServiceFileProblem[] {
  const pairs = isList(file) ? (file as { pairs: unknown[] }).pairs : [];
  return duplicates.map(({ path, key }): ServiceFileProblem => {
    if (path.length >= 2 && path[0] === "pairs" && typeof path[1] === "number") {
      const index = path[1];
      const pair = pairs[index] as { symbol?: unknown } | undefined;
      const symbol = typeof pair?.symbol === "string" && pair.symbol !== "" ? { symbol: pair.symbol } : {};
      const inner = path.slice(2);
      if (inner.length === 0) return { index, ...symbol, field: key, message: `is given twice in this pair (JSON keeps the last one silently): give it once` };
      return { index, ...symbol, field: String(inner[0]), message: `${[...inner.slice(1), key].join(".")} is given twice (JSON keeps the last one silently): give it once` };
    }
    const where = path.length === 0 ? "" : ` in ${path.join(".")}`;
    return { field: path.length === 0 ? key : String(path[0]), message: `${path.length === 0 ? "is" : `${key} is`} given twice${where} (JSON keeps the last one silently): give it once` };
  });
}

export function configError(path: string, problems: readonly ServiceFileProblem[], describeProblem: (problem: ServiceFileProblem) => string): UsageError {
  const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
  return new UsageError("run", `${path}: ${count}, nothing started:\n${problems.map((problem) => `  ${describeProblem(problem)}`).join("\n")}`);
}

export function isList(file: unknown): boolean {
  return file !== null && typeof file === "object" && Array.isArray((file as { pairs?: unknown }).pairs);
}
