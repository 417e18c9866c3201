import type { Candle } from "rxtrade";

/**
 * The bundled one-minute BTCUSDT candles, in the browser: fetched, gunzipped with
 * `DecompressionStream` (unless the server already decoded them) and parsed. `rxtrade/node`'s
 * `csvCandles` reads files with node:fs, so the page has its own small parser of the same
 * format: a header naming `open_time` (or `timestamp`), `open`, `high`, `low`, `close`, `volume`.
 */
export async function fetchCandles(url: string): Promise<Candle[]> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`cannot load ${url}: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const gzipped = bytes[0] === 0x1f && bytes[1] === 0x8b;
  const text = gzipped
    ? await new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"))).text()
    : new TextDecoder().decode(bytes);
  return parseCsv(text);
}

export function parseCsv(text: string): Candle[] {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? "").split(",").map((name) => name.trim().toLowerCase());
  const column = (name: string): number => {
    const index = header.indexOf(name);
    if (index < 0) throw new Error(`the CSV header ${JSON.stringify(lines[0])} lacks ${name}`);
    return index;
  };
  const time = header.includes("open_time") ? column("open_time") : column("timestamp");
  const [open, high, low, close, volume] = ["open", "high", "low", "close", "volume"].map(column) as [number, number, number, number, number];
  const candles: Candle[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === "") continue;
    const fields = line.split(",");
    const raw = (fields[time] ?? "").trim();
    const timestamp = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw.includes("T") ? raw : raw.replace(" ", "T"));
    const candle: Candle = {
      timestamp,
      open: Number(fields[open]),
      high: Number(fields[high]),
      low: Number(fields[low]),
      close: Number(fields[close]),
      volume: Number(fields[volume]),
    };
    if (!Object.values(candle).every(Number.isFinite)) throw new Error(`line ${i + 1} is not a candle: ${JSON.stringify(line)}`);
    candles.push(candle);
  }
  return candles;
}
