import type { Output, Terminal } from "./terminal";
import { EXIT } from "./usage";

/** Lines on stdout and warnings on stderr, each printed with the progress bar out of its way. */
export class Printer {
  constructor(
    readonly terminal: Terminal,
    private readonly bar: ProgressBar,
  ) {}

  line(text: string): void {
    this.bar.hide();
    this.terminal.line(text);
    this.bar.show();
  }

  warn(text: string): void {
    this.bar.hide();
    this.terminal.warn(text);
    this.bar.show();
  }
}

const REDRAW_EVERY_MS = 100;
const BAR_WIDTH = 24;

/**
 * A progress bar on a terminal, redrawn in place (`\r`, erase line) at most every 100 ms: the
 * share done, what the caller says, and the time left at the pace so far. Nothing at all when
 * the output is not a terminal.
 */
export class ProgressBar {
  private enabled: boolean;
  private text = "";
  private shown = false;
  private lastDraw = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly out: Output,
    /** Real time in ms (`performance.now()`): the pace, for the time left. */
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.enabled = out.isTTY === true;
  }

  /** `fraction` of the work done (0 to 1), a note, and when the work started (on `clock`) for the time left. */
  update(fraction: number, note: string, startedAt: number): void {
    if (!this.enabled) return;
    const now = this.clock();
    if (now - this.lastDraw < REDRAW_EVERY_MS) return;
    this.lastDraw = now;
    const share = Math.max(0, Math.min(1, fraction));
    const filled = Math.round(share * BAR_WIDTH);
    const elapsed = (now - startedAt) / 1000;
    const left = share > 0.01 && share < 1 ? ` · ETA ${remaining((elapsed * (1 - share)) / share)}` : "";
    this.text = `${"█".repeat(filled)}${"░".repeat(BAR_WIDTH - filled)} ${String(Math.floor(share * 100)).padStart(3)} % · ${note}${left}`;
    this.draw();
  }

  hide(): void {
    if (!this.shown) return;
    this.out.write("\r\x1b[2K");
    this.shown = false;
  }

  show(): void {
    if (this.enabled && this.text !== "") this.draw();
  }

  /** Removes the bar for good. */
  end(): void {
    this.hide();
    this.enabled = false;
  }

  private draw(): void {
    const width = Math.max(20, (this.out.columns || 100) - 1);
    const fitted = this.text.length > width ? `${this.text.slice(0, width - 1)}…` : this.text;
    this.out.write(`\r\x1b[2K${fitted}`);
    this.shown = true;
  }
}

function remaining(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

/**
 * Warnings of one kind said once: the first in full, the repeats counted (a kind is the text
 * with its numbers and times left out, but for a folder's symbol), and `flush` says each count in one line at the end —
 * a strategy failing on every tick gives two lines, not one per tick.
 */
export class WarningTally {
  private readonly kinds = new Map<string, { first: string; more: number }>();

  constructor(private readonly warn: (text: string) => void) {}

  add(text: string): void {
    // What comes before "error$" (a folder's symbol) is kept as it is: each symbol's errors are their own kind.
    const at = Math.max(0, text.indexOf("error$"));
    const kind = text.slice(0, at) + text.slice(at).replace(/\d+/g, "#");
    const seen = this.kinds.get(kind);
    if (seen !== undefined) {
      seen.more++;
      return;
    }
    this.kinds.set(kind, { first: text, more: 0 });
    this.warn(text);
  }

  /** One line per kind that repeated: how many more there were. */
  flush(): void {
    for (const { first, more } of this.kinds.values()) {
      if (more > 0) this.warn(`${grouped(more)} more like this (${grouped(more + 1)} in all): ${first.length > 160 ? `${first.slice(0, 159)}…` : first}`);
    }
    this.kinds.clear();
  }
}

/**
 * Ctrl-C (SIGINT, or SIGTERM) during a backtest: the first aborts `signal` — the run stops at
 * its current tick and says what it did so far —, a second one exits at once with 130.
 */
export class CtrlC {
  private readonly controller = new AbortController();
  private readonly onSignal = () => {
    if (this.controller.signal.aborted) {
      this.exit(EXIT.interrupted);
      return;
    }
    this.said();
    this.controller.abort();
  };

  constructor(
    /** Told of the first signal (to say the run is stopping). */
    private readonly said: () => void,
    private readonly exit: (code: number) => void = (code) => process.exit(code),
  ) {
    process.on("SIGINT", this.onSignal);
    process.on("SIGTERM", this.onSignal);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get interrupted(): boolean {
    return this.controller.signal.aborted;
  }

  /** Hands Ctrl-C back to Node. */
  dispose(): void {
    process.off("SIGINT", this.onSignal);
    process.off("SIGTERM", this.onSignal);
  }
}

/**
 * `n` as `toLocaleString("en-US")` writes it (`1,234,567`), without loading ICU's locale data for a
 * whole number (~25 ms of a backtest's start, spent on its last line).
 */
export function grouped(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) return n.toLocaleString("en-US");
  return String(n).replace(/\B(?=(\d{3})+$)/g, ",");
}
