import { ArgumentError } from "../errors";

/** A pair of a fleet as `<prefix>pairs` holds it (JSON, by pair id `<symbol>:<strategyName>`). */
export interface FleetPairSpec {
  symbol: string;
  /** An example strategy's name or a module's path, as the workers' `resolve` takes it. */
  strategy: string;
  /** A ccxt id, an exchange module's path, or `bundled`, as the workers' `resolve` takes it. */
  exchange: string;
  /** ms between ticks; default 60 001. */
  tickMs?: number;
  /** A drain was requested (`fleet drain`): no new signals; what is open closes, then the pair stops for good. */
  drain?: boolean;
}

/**
 * `unowned` (no lease: a worker will claim it), `running`, `draining` (asked to drain, not done),
 * `drained` (stopped for good), `error` (no worker could start it: its spec does not resolve —
 * see `error`; the workers retry with a growing delay, up to a minute; `fleet add` it again fixed).
 */
export type FleetPairStatus = "unowned" | "running" | "draining" | "drained" | "error";

/** A pair as `fleet list` shows it. */
export interface FleetPairView {
  pair: string;
  spec: FleetPairSpec;
  /** The worker holding its lease, or null. */
  owner: string | null;
  status: FleetPairStatus;
  /** The signal it holds (scheduled or opened) as its holder last said, or null. */
  signalId: string | null;
  /** Its last tick (its clock's time, ISO 8601) as its holder last said, or null. */
  lastTickAt: string | null;
  /** The fencing token of its last holder, or null (never claimed). */
  token: number | null;
  /** With status `error`: why the last worker that tried could not start it. */
  error?: string;
}

/** One entry of the `<prefix>events` stream. */
export interface FleetEvent {
  /** The stream entry's id, e.g. `1700000000000-0`. */
  id: string;
  /**
   * `scheduled`, `opened`, `closed`, `cancelled`, `resumed` (a signal taken over), `claimed`,
   * `released`, `lost`, `drained`, `error`; `ended` (late=1): a signal the pair's last holder
   * ended in the store (closed or cancelled) but died before announcing, announced by the next
   * holder — as an `opened`/`scheduled` with late=1 announces a signal its holder stored but
   * never announced.
   */
  action: string;
  pair: string;
  worker: string;
  /** The fencing token the worker held when it wrote the event. */
  token: number;
  /** The signal's id, or "" when there is none. */
  signalId: string;
  /** The pair's clock's time, ISO 8601. */
  at: string;
  /** Any further fields (`message` of an error, `pnl` of a close). */
  [field: string]: string | number;
}

/** The spec as stored, checked; throws `ArgumentError` naming the field. */
export function checkSpec(value: unknown, where: string): FleetPairSpec {
  const spec = value as Partial<FleetPairSpec> | null;
  const bad = (field: string, rule: string) =>
    new ArgumentError(`${where}: ${field} ${rule}, got ${JSON.stringify(spec?.[field as keyof FleetPairSpec])}`, { argument: field, value: spec?.[field as keyof FleetPairSpec] });
  if (spec === null || typeof spec !== "object") throw new ArgumentError(`${where} must be an object { symbol, strategy, exchange, tickMs? }, got ${JSON.stringify(value)}`, { argument: "spec", value });
  if (typeof spec.symbol !== "string" || spec.symbol === "" || spec.symbol.includes(":")) throw bad("symbol", 'must be a non-empty string without ":", e.g. "BTCUSDT"');
  if (typeof spec.strategy !== "string" || spec.strategy === "") throw bad("strategy", 'must be an example name or a module path, e.g. "momentum"');
  if (typeof spec.exchange !== "string" || spec.exchange === "") throw bad("exchange", 'must be a ccxt id, a module path or "bundled"');
  if (spec.tickMs !== undefined && !(Number.isInteger(spec.tickMs) && spec.tickMs >= 100 && spec.tickMs <= 86_400_000)) throw bad("tickMs", "must be a whole number of ms from 100 to 86400000");
  if (spec.drain !== undefined && typeof spec.drain !== "boolean") throw bad("drain", "must be a boolean");
  return { symbol: spec.symbol, strategy: spec.strategy, exchange: spec.exchange, ...(spec.tickMs === undefined ? {} : { tickMs: spec.tickMs }), ...(spec.drain ? { drain: true } : {}) };
}

/** A pair of the snapshot script's answer. */
export interface SnapshotPair {
  id: string;
  /** The spec, or why it is not one. */
  spec: FleetPairSpec | undefined;
  problem: string | undefined;
  leased: boolean;
  status: string;
  owner: string;
  signalId: string;
  lastTickAt: string;
  token: string;
  /** Why the last worker that tried could not start it ("" when none did). */
  error: string;
}

export function parseSnapshot(answer: unknown): { live: string[]; pairs: SnapshotPair[] } {
  const [live, flat] = answer as [string[], Array<string | number>];
  const pairs: SnapshotPair[] = [];
  for (let i = 0; i + 8 < flat.length; i += 9) {
    const id = String(flat[i]);
    let spec: FleetPairSpec | undefined;
    let problem: string | undefined;
    try {
      spec = checkSpec(JSON.parse(String(flat[i + 1])), `pair ${id}`);
    } catch (error) {
      problem = error instanceof Error ? error.message : String(error);
    }
    pairs.push({
      id,
      spec,
      problem,
      leased: Number(flat[i + 2]) === 1,
      status: String(flat[i + 3]),
      owner: String(flat[i + 4]),
      signalId: String(flat[i + 5]),
      lastTickAt: String(flat[i + 6]),
      token: String(flat[i + 7]),
      error: String(flat[i + 8]),
    });
  }
  return { live: [...live].sort(), pairs: pairs.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) };
}

/** `fleet list`'s view of a snapshot pair. */
export function viewOf(pair: SnapshotPair): FleetPairView {
  const drained = pair.status === "drained";
  const failed = !drained && !pair.leased && pair.status === "error";
  // Draining: asked to (fleet drain), or its holder drains it where its data ends (its status says so).
  const draining = pair.spec?.drain === true || (pair.leased && pair.status === "draining");
  const status: FleetPairStatus = drained ? "drained" : failed ? "error" : draining ? "draining" : pair.leased ? "running" : "unowned";
  return {
    pair: pair.id,
    spec: pair.spec ?? ({ symbol: "", strategy: "", exchange: "" } as FleetPairSpec),
    owner: pair.leased && pair.owner !== "" ? pair.owner : null,
    status,
    signalId: pair.signalId === "" ? null : pair.signalId,
    lastTickAt: pair.lastTickAt === "" ? null : pair.lastTickAt,
    token: pair.token === "" ? null : Number(pair.token),
    ...(failed ? { error: pair.error } : {}),
  };
}

/** A stream entry's fields as a `FleetEvent`. */
export function eventOf(id: string, fields: readonly string[]): FleetEvent {
  const event: Record<string, string | number> = { id };
  for (let i = 0; i + 1 < fields.length; i += 2) event[fields[i] as string] = fields[i + 1] as string;
  event.token = Number(event.token ?? 0);
  for (const field of ["action", "pair", "worker", "signalId", "at"]) event[field] ??= "";
  return event as FleetEvent;
}
