import { constants } from "node:fs";
import { type FileHandle, mkdir, open, readdir } from "node:fs/promises";
import { join } from "node:path";
import { syncDirectory } from "./durableJsonFile";
import { fileNameOf } from "./fileStore";
import { type JournalWarning, openRegular } from "./journalLines";

/** A segment file's name: `<base>.<number>.jsonl`. */
export const SEGMENT = /^(.+)\.(\d{6,})\.jsonl$/;

/** A key's current segment in this process, and its buffered tick lines. */
export interface KeyFile {
  readonly key: string;
  readonly base: string;
  segment: number;
  handle: FileHandle | undefined;
  size: number;
  buffer: string[];
  bufferBytes: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** The last intent written (`<action> <signal id>`): the trade entry that confirms it needs no fsync of its own. */
  intent: string | undefined;
  /** Why the last write of buffered tick lines (a timer's) failed; cleared by the next write that works. */
  failure: { error: unknown } | undefined;
}

interface SegmentOptions {
  maxBytes: number;
  fileMode: number;
  dirMode: number;
  warn: (warning: JournalWarning) => void;
}

const openFlags = constants.O_RDWR | constants.O_APPEND | (constants.O_NOFOLLOW ?? 0);

/**
 * The segment files of a journal folder, written side: where a key's lines go, a new segment
 * past `maxBytes`, a torn end healed before the first append, a failed write cut back off.
 */
export class SegmentFiles {
  private readonly files = new Map<string, KeyFile>();
  private made: Promise<void> | undefined;

  constructor(
    readonly root: string,
    private readonly options: SegmentOptions,
  ) {}

  baseOf(key: string): string {
    return fileNameOf(key).replace(/\.json$/, "");
  }

  segmentPath(base: string, n: number): string {
    return join(this.root, `${base}.${String(n).padStart(6, "0")}.jsonl`);
  }

  /** The segments of `base`, oldest first, by number. */
  async segmentNumbers(base: string): Promise<number[]> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    const numbers: number[] = [];
    for (const name of names) {
      const match = SEGMENT.exec(name);
      if (match !== null && match[1] === base) numbers.push(Number(match[2]));
    }
    return numbers.sort((a, b) => a - b);
  }

  /** The key's file state in this process (created on first use). */
  fileOf(key: string): KeyFile {
    let file = this.files.get(key);
    if (file === undefined) {
      file = { key, base: this.baseOf(key), segment: 0, handle: undefined, size: 0, buffer: [], bufferBytes: 0, timer: undefined, intent: undefined, failure: undefined };
      this.files.set(key, file);
    }
    return file;
  }

  /** The keys written to by this process, if any. */
  existing(key: string): KeyFile | undefined {
    return this.files.get(key);
  }

  all(): KeyFile[] {
    return [...this.files.values()];
  }

  /**
   * Writes `lines` at the end of the key's current segment, starting the next segment before a
   * line that would take it past maxBytes, with an fsync per segment written when `durable`.
   * `done.lines` counts the lines written; on failure, what was written of the rest is cut off
   * again, so that a retry neither duplicates nor tears a line.
   */
  async writeLines(file: KeyFile, lines: readonly string[], done: { lines: number }, durable: boolean): Promise<void> {
    const { maxBytes } = this.options;
    let handle = await this.ready(file);
    while (done.lines < lines.length) {
      if (file.size > 0 && file.size + Buffer.byteLength(lines[done.lines] as string) > maxBytes) {
        // The segment being left is made durable whole, whatever this write is.
        if (!durable) await handle.datasync();
        await handle.close();
        file.handle = undefined;
        await this.openSegment(file, file.segment + 1);
        handle = file.handle as unknown as FileHandle;
      }
      // As many lines as fit in this segment (at least one: a line longer than maxBytes gets a segment of its own).
      let end = done.lines;
      let bytes = file.size;
      const chunk: string[] = [];
      while (end < lines.length) {
        const length = Buffer.byteLength(lines[end] as string);
        if (chunk.length > 0 && bytes + length > maxBytes) break;
        chunk.push(lines[end] as string);
        bytes += length;
        end++;
      }
      const data = Buffer.from(chunk.join(""), "utf8");
      const before = file.size;
      try {
        await writeAll(handle, data);
        if (durable) await handle.datasync();
      } catch (error) {
        // Cut back to the last whole entry; if even that fails, the file is opened afresh (and
        // its end checked) next time.
        try {
          await handle.truncate(before);
          await handle.datasync();
        } catch {
          // reopened below
        }
        file.handle = undefined;
        await handle.close().catch(() => undefined);
        throw error;
      }
      file.size = before + data.length;
      done.lines = end;
    }
  }

  /** Closes the key's open segment (a later write opens it again). */
  async closeFile(file: KeyFile): Promise<void> {
    const handle = file.handle;
    file.handle = undefined;
    await handle?.close();
  }

  private makeDir(): Promise<void> {
    this.made ??= mkdir(this.root, { recursive: true, mode: this.options.dirMode }).then(
      () => undefined,
      (error: unknown) => {
        this.made = undefined;
        throw error;
      },
    );
    return this.made;
  }

  // Opens segment `n` for appending; a new file makes its folder entry durable.
  private async openSegment(file: KeyFile, n: number): Promise<void> {
    const path = this.segmentPath(file.base, n);
    let created = false;
    let handle: FileHandle | undefined;
    // A new file, or the one there once it is known to be a regular file (a FIFO or a device in
    // its place is refused unopened: a thread blocked opening it would keep the process from
    // exiting); a file removed between the two is created after all.
    for (let attempt = 0; handle === undefined; attempt++) {
      try {
        handle = await open(path, openFlags | constants.O_CREAT | constants.O_EXCL, this.options.fileMode);
        created = true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0) throw error;
        handle = await openRegular(file.key, path, openFlags, undefined, "append");
      }
    }
    file.handle = handle;
    file.segment = n;
    file.size = (await handle.stat()).size;
    if (created) await syncDirectory(this.root);
  }

  // First write of a key in this process: its last segment, whose last line a kill may have torn.
  private async ready(file: KeyFile): Promise<FileHandle> {
    if (file.handle !== undefined) return file.handle;
    await this.makeDir();
    const numbers = await this.segmentNumbers(file.base);
    await this.openSegment(file, numbers.at(-1) ?? 1);
    const handle = file.handle as unknown as FileHandle;
    if (file.size > 0) {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, file.size - 1);
      if (last[0] !== 0x0a) {
        const path = this.segmentPath(file.base, file.segment);
        await writeAll(handle, Buffer.from("\n"));
        await handle.datasync();
        file.size += 1;
        this.options.warn({
          key: file.key,
          path,
          line: 0,
          reason: "torn",
          skipped: 0,
          message: `journal ${path} ended in an incomplete line (a kill mid-write?); it is left as it is (read skips it) and the next entry starts on a fresh line`,
        });
      }
    }
    return handle;
  }
}

/** Takes the buffered tick lines (the next write carries them). */
export function takeBuffer(file: KeyFile): string[] {
  if (file.timer !== undefined) {
    clearTimeout(file.timer);
    file.timer = undefined;
  }
  const lines = file.buffer;
  file.buffer = [];
  file.bufferBytes = 0;
  return lines;
}

/** Puts lines that could not be written back in front of the key's buffer. */
export function keep(file: KeyFile, lines: readonly string[]): void {
  if (lines.length === 0) return;
  file.buffer.unshift(...lines);
  file.bufferBytes += lines.reduce((sum, line) => sum + line.length, 0);
}

async function writeAll(handle: FileHandle, data: Buffer): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset, null);
    offset += bytesWritten;
  }
}
