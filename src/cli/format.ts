import { relative } from "node:path";
import { getConfig, pnl, type LiveStatistics, type SignalState, type TickResult } from "rxtrade";

// C0 and C1 control characters, DEL, the line and paragraph separators, and the bidirectional
// overrides and isolates: what can move the cursor, change a terminal's title or state (ESC, OSC),
// break a line, or show text in another order than it is stored.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const SHORT_ESCAPES: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f" };

function escapeCharacter(character: string): string {
  return SHORT_ESCAPES[character] ?? `\\u${(character.codePointAt(0) as number).toString(16).padStart(4, "0")}`;
}

/**
 * A string that came from outside the program (a store key, a symbol, a strategy's name, a
 * signal's id, a host name) as it may be printed on a terminal: its control characters shown as
 * JSON-style escapes (`\n`, `\t`, `\u001b`), so that none of them reaches the terminal as what it
 * does there (an OSC sequence that retitles the window, a line break inside a table row). A
 * backslash is left as it is (Windows paths); `--json` is where a value is exact.
 *
 * @example
 * visible("BTCUSDT\u001b]0;pwned\u0007:x"); // "BTCUSDT\\u001b]0;pwned\\u0007:x"
 */
export function visible(text: string): string {
  return text.replace(UNSAFE, escapeCharacter);
}

/** Text bound for a terminal, line breaks kept: every other control character escaped as `visible` does (see `Terminal`). */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE_BUT_NEWLINE, escapeCharacter);
}

/** `visible(text)`, cut to at most `max` characters with an ellipsis: a table cell. */
export function cell(text: string, max: number): string {
  const shown = visible(text);
  if (shown.length <= max) return shown;
  const characters = Array.from(shown); // never half of a surrogate pair
  return characters.length <= max ? shown : `${characters.slice(0, max - 1).join("")}…`;
}

/** `2023-03-01 14:32` (UTC). */
export function minute(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace("T", " ");
}

/** A price with two decimals, or more when it is small (altcoins). */
export function price(value: number): string {
  return value >= 100 ? value.toFixed(2) : value.toPrecision(6);
}

/** `+1.23 %` / `-0.40 %`. */
export function signedPercent(value: number | null): string {
  if (value === null) return "n/a";
  return `${value > 0 ? "+" : ""}${value.toFixed(2)} %`;
}

/** A short wall-clock period: `250 ms`, `4.2 ms`, `10 µs` (under 0.1 ms, where one decimal of a ms would say 0.0). */
export function wallPeriod(ms: number): string {
  if (ms >= 9.95) return `${Math.round(ms)} ms`;
  if (ms >= 0.095) return `${ms.toFixed(1)} ms`;
  return `${Math.max(1, Math.round(ms * 1000))} µs`;
}

/** A count of minutes as `2 d 4 h`, `5 h 30 min` or `45 min`. */
export function duration(minutes: number): string {
  const m = Math.round(minutes);
  if (m >= 1440) return `${Math.floor(m / 1440)} d${m % 1440 >= 60 ? ` ${Math.floor((m % 1440) / 60)} h` : ""}`;
  if (m >= 60) return `${Math.floor(m / 60)} h${m % 60 > 0 ? ` ${m % 60} min` : ""}`;
  return `${m} min`;
}

/**
 * The line printed for a tick that changes something — a limit entry placed, a position opened,
 * closed or cancelled — or `undefined` for the others (idle, active, a limit entry still waiting).
 * `previous` is what the stream held before this tick: a `scheduled` tick of the signal already
 * held is the entry still waiting (compared by id, not by time: a sped-up clock can give two
 * ticks the same timestamp).
 */
export function eventLine(result: TickResult, previous: SignalState | null): string | undefined {
  const when = minute(result.timestamp);
  switch (result.action) {
    case "scheduled": {
      if (previous?.signal.id === result.signal.id) return undefined;
      const s = result.signal;
      return `${when}  SCHEDULED  ${s.position.padEnd(5)} limit ${price(s.priceOpen)}  TP ${price(s.priceTakeProfit)}  SL ${price(s.priceStopLoss)}  ${visible(s.id)}`;
    }
    case "opened": {
      const s = result.signal;
      return `${when}  OPENED     ${s.position.padEnd(5)} @ ${price(s.priceOpen)}  TP ${price(s.priceTakeProfit)}  SL ${price(s.priceStopLoss)}  ${visible(s.id)}`;
    }
    case "closed": {
      const s = result.signal;
      const pnlText = signedPercent(result.pnl.pnlPercentage);
      return `${when}  CLOSED     ${s.position.padEnd(5)} @ ${price(result.pnl.priceClose)}  ${result.closeReason.padEnd(12)} ${pnlText.padStart(8)}  ${visible(s.id)}`;
    }
    case "cancelled": {
      const s = result.signal;
      return `${when}  CANCELLED  ${s.position.padEnd(5)} limit ${price(s.priceOpen)}  ${result.cancelReason.padEnd(12)}  ${visible(s.id)}`;
    }
    default:
      return undefined;
  }
}

/** What a stream holds after a tick, for the status line and the stop message. */
export function held(result: TickResult): SignalState | null {
  switch (result.action) {
    case "opened":
    case "active":
      return { status: "opened", signal: result.signal };
    case "scheduled":
      return { status: "scheduled", signal: result.signal };
    default:
      return null;
  }
}

/** `signal <id> (long @ 23145.20)` or `limit entry <id> (long @ 23145.20)`. */
export function describeHeld(state: SignalState): string {
  const { signal } = state;
  return `${state.status === "opened" ? "signal" : "limit entry"} ${visible(signal.id)} (${signal.position} @ ${price(signal.priceOpen)})`;
}

/**
 * The status line: time, price, what is held (with its unrealized PnL after fees and
 * slippage), the closed count and the total PnL of the run.
 */
export function statusLine(result: TickResult, symbol: string, stats: Pick<LiveStatistics, "totalClosed" | "totalPnl">): string {
  const state = held(result);
  let position = "no position";
  if (state?.status === "opened") {
    const unrealized = pnl(state.signal.position, state.signal.priceOpen, result.currentPrice, getConfig()).pnlPercentage;
    position = `${state.signal.position.toUpperCase()} @ ${price(state.signal.priceOpen)}, unrealized ${signedPercent(unrealized)} (${visible(state.signal.id.slice(0, 8))})`;
  } else if (state?.status === "scheduled") {
    position = `${state.signal.position.toUpperCase()} limit ${price(state.signal.priceOpen)}, waiting (${visible(state.signal.id.slice(0, 8))})`;
  }
  return `${minute(result.timestamp)}  ${visible(symbol)} ${price(result.currentPrice)} │ ${position} │ closed ${stats.totalClosed} · PnL ${signedPercent(stats.totalPnl)}`;
}

/** The statistics block printed at the end of a run. */
export function statisticsLines(stats: LiveStatistics): string[] {
  const ratio = (value: number | null) => (value === null ? "n/a" : value.toFixed(3));
  const config = getConfig();
  return [
    `  closed signals   ${stats.totalClosed}${stats.totalClosed > 0 ? ` (${stats.winCount} won, ${stats.lossCount} lost, win rate ${stats.winRate?.toFixed(1)} %)` : ""}`,
    `  average PnL      ${signedPercent(stats.avgPnl)}`,
    `  total PnL        ${signedPercent(stats.totalPnl)}  (after ${config.CC_PERCENT_FEE} % fee and ${config.CC_PERCENT_SLIPPAGE} % slippage a side)`,
    `  std deviation    ${stats.stdDev === null ? "n/a" : `${stats.stdDev.toFixed(2)} %`}`,
    `  Sharpe ratio     ${ratio(stats.sharpeRatio)}`,
    `  max drawdown     ${stats.maxDrawdown === null ? "n/a" : `${stats.maxDrawdown.toFixed(2)} %`}`,
  ];
}

/** A directory as the user would type it: relative to the working directory when inside it. */
export function displayPath(dir: string): string {
  const shown = relative(process.cwd(), dir);
  return shown === "" ? "." : shown.startsWith("..") ? dir : shown;
}
