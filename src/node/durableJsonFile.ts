import { open, readFile, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Adapter } from "lowdb";

let tempCounter = 0;

/** A file that is not the store's own format: it must be quarantined, not retried. */
export class NotStoreFormat extends Error {
  override readonly name = "NotStoreFormat";
}

/**
 * A lowdb adapter for one JSON file that survives power loss, not only crashes: unlike
 * lowdb's `JSONFile` (rename without fsync, one fixed temp name), a write goes to a temp file
 * `.<name>.tmp-<pid>-<n>` in the same directory, which is fsynced, renamed over the file, and
 * then the directory is fsynced so the rename itself is durable. The file is created with
 * `mode` (default 0600), and a rename replaces whatever is at the path, a symlink included,
 * never writing through it. `read` returns `null` only
 * for a missing file; a file that does not parse or fails `check` throws `NotStoreFormat`.
 */
export class DurableJsonFile<T> implements Adapter<T | null> {
  constructor(
    readonly path: string,
    private readonly check: (value: unknown) => string | undefined,
    /** Permission bits of the file when this adapter creates it (before the umask). */
    private readonly mode = 0o600,
  ) {}

  async read(): Promise<T | null> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (cause) {
      throw new NotStoreFormat(text.length === 0 ? "the file is empty" : `the file is not JSON (${(cause as Error).message})`, { cause });
    }
    const problem = this.check(value);
    if (problem !== undefined) throw new NotStoreFormat(problem);
    return value as T;
  }

  /** `null` removes the file (lowdb itself never writes a falsy value). */
  async write(data: T | null): Promise<void> {
    if (data === null) return this.remove();
    // Serialise before touching the disk: a value JSON cannot hold fails without side effects.
    const text = JSON.stringify(data);
    const dir = dirname(this.path);
    const temp = join(dir, `.${basename(this.path)}.tmp-${process.pid}-${++tempCounter}`);
    try {
      // Exclusive: never through a file (or symlink) planted at the temp name.
      const file = await open(temp, "wx", this.mode);
      try {
        await file.writeFile(text, "utf8");
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temp, this.path);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    await syncDirectory(dir);
  }

  /** Removes the file (a missing one is fine) and makes the removal durable. */
  async remove(): Promise<void> {
    try {
      await unlink(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    await syncDirectory(dirname(this.path));
  }
}

/** fsync a directory so a rename or unlink in it survives power loss. */
export async function syncDirectory(dir: string): Promise<void> {
  // Windows cannot open a directory for fsync; NTFS journals renames itself.
  if (process.platform === "win32") return;
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } catch (error) {
    // Some file systems (certain FUSE and network mounts) do not support fsync on a directory.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EINVAL" && code !== "ENOTSUP" && code !== "EISDIR") throw error;
  } finally {
    await handle.close();
  }
}
