import type { Candle, SignalRow } from "rxtrade";
import type { LoggedEvent } from "./session";

const WIDTH = 760;
const HEIGHT = 260;
const PAD = { left: 64, right: 12, top: 12, bottom: 24 };
const WINDOW_MS = 6 * 60 * 60_000; // the last six simulated hours
const SVG = "http://www.w3.org/2000/svg";

/** Index of the first candle with timestamp >= time. */
function lowerBound(candles: readonly Candle[], time: number): number {
  let lo = 0;
  let hi = candles.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((candles[mid] as Candle).timestamp < time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const element = (name: string, attributes: Record<string, string | number>, text?: string): SVGElement => {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
};

/**
 * Draws the closes of the candles that have closed by `now` over the last six simulated hours,
 * entries (▲ long, ▼ short) and exits (● green for a profit, red for a loss) from the event
 * log, and the open signal's take profit and stop loss.
 */
export function drawChart(svg: SVGSVGElement, candles: readonly Candle[], now: number, events: readonly LoggedEvent[], open: SignalRow | null): void {
  svg.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
  svg.replaceChildren();
  const from = now - WINDOW_MS;
  const shown = candles.slice(lowerBound(candles, from), lowerBound(candles, now - 60_000 + 1));
  if (shown.length < 2) {
    svg.append(element("text", { x: WIDTH / 2, y: HEIGHT / 2, "text-anchor": "middle", class: "muted" }, "no candles yet"));
    return;
  }
  const marks = events.filter((e) => e.at >= from && e.at <= now);
  const prices = [...shown.map((c) => c.close), ...marks.map((e) => e.price)];
  if (open !== null) prices.push(open.priceTakeProfit, open.priceStopLoss);
  let low = Math.min(...prices);
  let high = Math.max(...prices);
  const margin = (high - low) * 0.05 || 1;
  low -= margin;
  high += margin;
  const x = (t: number) => PAD.left + ((t - from) / WINDOW_MS) * (WIDTH - PAD.left - PAD.right);
  const y = (p: number) => PAD.top + ((high - p) / (high - low)) * (HEIGHT - PAD.top - PAD.bottom);

  for (let i = 0; i <= 4; i++) {
    const price = low + ((high - low) * i) / 4;
    svg.append(element("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(price), y2: y(price), class: "grid" }));
    svg.append(element("text", { x: PAD.left - 6, y: y(price) + 4, "text-anchor": "end", class: "axis" }, price.toFixed(0)));
  }
  for (let hour = Math.ceil(from / 3_600_000) * 3_600_000; hour <= now; hour += 3_600_000) {
    svg.append(element("text", { x: x(hour), y: HEIGHT - 6, "text-anchor": "middle", class: "axis" }, new Date(hour).toISOString().slice(11, 16)));
  }
  const points = shown.map((c) => `${x(c.timestamp + 60_000).toFixed(1)},${y(c.close).toFixed(1)}`).join(" ");
  svg.append(element("polyline", { points, class: "price" }));

  if (open !== null) {
    for (const [price, kind] of [
      [open.priceTakeProfit, "tp"],
      [open.priceStopLoss, "sl"],
      [open.priceOpen, "entry"],
    ] as const) {
      svg.append(element("line", { x1: Math.max(PAD.left, x(open.pendingAt)), x2: WIDTH - PAD.right, y1: y(price), y2: y(price), class: `level ${kind}` }));
    }
  }
  for (const event of marks) {
    const cx = x(event.at);
    const cy = y(event.price);
    if (event.type === "opened") {
      const d = event.position === "long" ? `M${cx},${cy - 7} l6,11 h-12 z` : `M${cx},${cy + 7} l6,-11 h-12 z`;
      svg.append(element("path", { d, class: `entry ${event.position}`, "data-id": event.id }));
    } else {
      svg.append(element("circle", { cx, cy, r: 5, class: `exit ${(event.pnlPercentage ?? 0) >= 0 ? "win" : "loss"}`, "data-id": event.id }));
    }
  }
}
