import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { pipeline, type Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { CandleDataError } from "../errors";

/** Lines of a file, a chunk at a time: `first` is the 1-based number of `lines[0]`. */
export interface LineChunk {
  first: number;
  lines: string[];
}

/**
 * The lines of a text file, `.csv` or gzipped (by its name or its first two bytes), read as a
 * stream: a chunk of lines at a time, never the whole file. Line ends `\n` or `\r\n`. A file
 * that cannot be read, or a gzip that is not one, is a `CandleDataError` naming the file.
 */
export async function* readLines(path: string): AsyncGenerator<LineChunk> {
  const gzip = path.endsWith(".gz") || (await startsWithGzipMagic(path));
  const file = createReadStream(path);
  const stream: Readable = gzip ? pipeline(file, createGunzip(), () => undefined) : file;
  stream.setEncoding("utf8");
  let rest = "";
  let line = 1;
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop() as string;
      for (let i = 0; i < lines.length; i++) {
        const text = lines[i] as string;
        if (text.endsWith("\r")) lines[i] = text.slice(0, -1);
      }
      yield { first: line, lines };
      line += lines.length;
    }
  } catch (cause) {
    if (cause instanceof CandleDataError) throw cause;
    const zlib = typeof (cause as { code?: unknown })?.code === "string" && (cause as { code: string }).code.startsWith("Z_");
    throw new CandleDataError({ path, message: `${zlib ? "not a valid gzip file" : "cannot read the file"}: ${(cause as Error)?.message ?? String(cause)}`, cause });
  } finally {
    stream.destroy();
    file.destroy();
  }
  if (rest !== "") yield { first: line, lines: [rest.endsWith("\r") ? rest.slice(0, -1) : rest] };
}

async function startsWithGzipMagic(path: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, "r");
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } catch (cause) {
    throw new CandleDataError({ path, message: `cannot read the file: ${(cause as Error).message}`, cause });
  } finally {
    await handle?.close();
  }
}
