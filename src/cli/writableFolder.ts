import { randomInt } from "node:crypto";
import { mkdir, unlink, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { UsageError } from "./usage";

/** How long the check may take: a call into a hung mount or /proc (where mkdir never answers) must not hang the start. */
const CHECK_SECONDS = 10;

async function createWithProbe(path: string, probe: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  // "wx": a new file, never through something already at that name.
  await writeFile(probe, "", { flag: "wx", mode: 0o600 });
}

async function withinCheckTime(seconds: number, check: Promise<void>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`did not answer within ${seconds} s`), { code: "ETIMEDOUT" })), seconds * 1000);
    timer.unref?.();
  });
  try {
    await Promise.race([check, late]);
  } finally {
    clearTimeout(timer);
  }
}

// What the operating system's codes mean for a folder given on the command line.
const REASONS: Readonly<Record<string, string>> = {
  ENOTDIR: "a part of the path is a file, not a folder",
  EEXIST: "it is a file, not a folder",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EROFS: "the file system is read-only",
  ENOSPC: "no space left on the device",
  EDQUOT: "the disk quota is used up",
  ENAMETOOLONG: "the path is too long",
  ELOOP: "too many symbolic links in the path",
};

/**
 * Checks, before a run starts, that the folder a flag names (`--store`, `--report-dir`) exists
 * or can be created, and can be written: it creates the folder (0700, as rxtrade creates its
 * folders), then writes and removes a probe file. Permission bits alone would not tell: as
 * root every mode is writable, while a read-only mount or a path through a file still fails.
 * Throws a `UsageError` naming the flag, the folder and the reason; returns the absolute path.
 */
export async function checkWritableFolder(
  command: string,
  flag: string,
  dir: string,
  example: string,
  /** For tests: the time limit, and what creates the folder and the probe file. */
  check: { seconds?: number; create?: (path: string, probe: string) => Promise<void> } = {},
): Promise<string> {
  const checkSeconds = check.seconds ?? CHECK_SECONDS;
  if (dir.trim() === "") throw new UsageError(command, `--${flag} needs a folder, got an empty value; e.g. --${flag} ${example}`);
  const path = resolve(dir);
  // The store sweeps `.<name>.tmp-<pid>-<n>` files of dead processes: a probe left by a kill goes too.
  const probe = resolve(path, `.rxtrade-probe.tmp-${process.pid}-${randomInt(2 ** 47)}`);
  try {
    await withinCheckTime(checkSeconds, (check.create ?? createWithProbe)(path, probe));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "";
    const reason = code === "ETIMEDOUT" ? `the file system did not answer within ${checkSeconds} s (a hung mount, or a special file system such as /proc?)` : (REASONS[code] ?? (error as Error).message);
    throw new UsageError(
      command,
      `--${flag} ${dir}${path === dir ? "" : ` (${path})`} is not a folder rxtrade can write to: ${reason}${code === "" || (REASONS[code] === undefined && code !== "ETIMEDOUT") ? "" : ` (${code})`}; give another, e.g. --${flag} ${example}`,
    );
  }
  await unlink(probe).catch(() => undefined);
  return path;
}
