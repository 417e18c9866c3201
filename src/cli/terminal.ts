import { createInterface } from "node:readline";
import { terminalSafe } from "./format";

/** Where the command writes: a status line that redraws in place on a TTY, plain lines elsewhere. */
export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Where answers to a question come from (stdin). */
export interface Input extends NodeJS.ReadableStream {
  isTTY?: boolean;
}

const REDRAW_EVERY_MS = 80;

/**
 * The command's output. On a TTY the status line is redrawn in place (`\r`, erase line) at most
 * every 80 ms, and permanent lines (trades, warnings) are printed above it. Elsewhere (a pipe, a
 * log file, CI) there is no status line: the caller prints plain status lines now and then, and
 * nothing but whole lines is written.
 *
 * Every text it is given is written with its control characters but the line break escaped
 * (`terminalSafe`: `\u001b`, `\r`, `\t`, C1, bidirectional overrides): the one place that
 * holds for every command, whatever a message quotes (a store key, a symbol, a strategy's name,
 * an error's message). Only the status redraw's own sequences reach the terminal as such. JSON
 * stays valid and exact: JSON.stringify escapes C0 itself, and an escaped DEL or C1 character is
 * the same string to a JSON parser.
 */
export class Terminal {
  readonly tty: boolean;
  private shown = "";
  private pending: string | undefined;
  private lastDraw = 0;

  constructor(
    private readonly out: Output,
    private readonly err: Output,
    /** Answers to `ask`; without one (or when it is not a terminal) nothing can be asked. */
    private readonly input?: Input,
  ) {
    this.tty = out.isTTY === true;
  }

  /** Whether a question can be asked: the input is a terminal, so someone is there to answer. */
  get interactive(): boolean {
    return this.input?.isTTY === true;
  }

  /** Asks `question` on stderr and resolves with the line typed, or `undefined` when the input ends first. */
  ask(question: string): Promise<string | undefined> {
    const input = this.input;
    if (input === undefined) return Promise.resolve(undefined);
    this.hideStatus();
    this.err.write(terminalSafe(question));
    return new Promise((resolve) => {
      const lines = createInterface({ input, terminal: false });
      let answer: string | undefined;
      lines.once("line", (line) => {
        answer = line;
        lines.close();
      });
      lines.once("close", () => resolve(answer));
    });
  }

  /** A permanent line on stdout. */
  line(text = ""): void {
    this.hideStatus();
    this.out.write(`${terminalSafe(text)}\n`);
    this.showStatus();
  }

  /** A permanent line on stderr (warnings, errors). */
  warn(text: string): void {
    this.hideStatus();
    this.err.write(`${terminalSafe(text)}\n`);
    this.showStatus();
  }

  /** Replaces the status line (TTY only; elsewhere it is ignored). */
  status(text: string): void {
    if (!this.tty) return;
    // One line, redrawn in place: a line break in it would leave the rest behind.
    const line = terminalSafe(text).replaceAll("\n", "\\n");
    this.pending = line;
    const now = performance.now();
    if (now - this.lastDraw < REDRAW_EVERY_MS) return;
    this.lastDraw = now;
    this.draw(line);
  }

  /** Removes the status line for good (before the final summary). */
  endStatus(): void {
    this.hideStatus();
    this.pending = undefined;
  }

  private draw(text: string): void {
    // A pseudo-terminal may report 0 columns.
    const width = Math.max(20, (this.out.columns || 100) - 1);
    const fitted = text.length > width ? `${text.slice(0, width - 1)}…` : text;
    this.out.write(`\r\x1b[2K${fitted}`);
    this.shown = fitted;
  }

  private hideStatus(): void {
    if (!this.tty || this.shown === "") return;
    this.out.write("\r\x1b[2K");
    this.shown = "";
  }

  private showStatus(): void {
    if (this.tty && this.pending !== undefined) this.draw(this.pending);
  }
}
