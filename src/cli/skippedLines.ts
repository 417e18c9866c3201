import { resolve } from "node:path";
import type { JournalWarning } from "rxtrade/node";
import { displayPath } from "./format";

/**
 * The lines of journal files a command skipped (torn, not JSON, not an entry of the key),
 * gathered as the journal reports them, one per line, and said once per file: a file with
 * 40,000 damaged lines is one warning with the count and the first line, not 40,000. A line
 * reported twice (`keys()` and then `read` go through the same file) counts once.
 */
export class SkippedLines {
  private readonly files = new Map<string, { count: number; first: JournalWarning; lines: Set<number> }>();

  /** For `onWarning` of `fileJournal` and `readJournalFile`. */
  readonly add = (warning: JournalWarning): void => {
    const path = resolve(warning.path);
    const file = this.files.get(path);
    if (file === undefined) {
      this.files.set(path, { count: 1, first: warning, lines: new Set([warning.line]) });
      return;
    }
    if (file.lines.has(warning.line)) return;
    file.lines.add(warning.line);
    file.count++;
    if (warning.line < file.first.line) file.first = warning;
  };

  /** Lines skipped in all files. */
  get total(): number {
    let total = 0;
    for (const file of this.files.values()) total += file.count;
    return total;
  }

  /** The first line skipped in `path`, and how many were. */
  of(path: string): { count: number; first: JournalWarning } | undefined {
    return this.files.get(resolve(path));
  }

  /** One warning per file: `journal <file>:<line>: <what>` for one line, else the count and the first. */
  lines(): string[] {
    return [...this.files].map(([path, { count, first }]) =>
      count === 1
        ? `warning: journal ${displayPath(path)}:${first.line}: ${problem(first)}: skipped`
        : `warning: journal ${displayPath(path)}: ${count} lines skipped, the first at line ${first.line}: ${problem(first)}`,
    );
  }
}

/** What was wrong with a skipped line, without its place and count: `not JSON (…): "hello"`. */
export function problem(warning: JournalWarning): string {
  const place = `journal ${warning.path}:${warning.line}: `;
  const text = warning.message.startsWith(place) ? warning.message.slice(place.length) : warning.message;
  return text.replace(/: skipped \(\d+ skipped in this read\)/, "");
}
