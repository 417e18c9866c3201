import { RegistryError, SchemaError } from "./errors";
import type { ExchangeSchema, StrategySchema } from "./model";
import { SIGNAL_INTERVALS } from "./model";

// The facade's registries: the one deliberate module-level state besides config and events.
const strategies = new Map<string, StrategySchema>();
const exchanges = new Map<string, ExchangeSchema>();

/** Registers a strategy under its `strategyName`; a broken schema is a `SchemaError`, a name already registered a `RegistryError`. */
export function addStrategy(schema: StrategySchema): void {
  checkStrategy(schema);
  const name = schema.strategyName;
  if (strategies.has(name)) {
    throw new RegistryError(
      `strategy ${name} is already registered; pick another strategyName (a registered strategy cannot be replaced)`,
      { strategyName: name },
      [...strategies.keys()],
    );
  }
  strategies.set(name, schema);
}

/** Registers an exchange under its `exchangeName`; a broken schema is a `SchemaError`, a name already registered a `RegistryError`. */
export function addExchange(schema: ExchangeSchema): void {
  checkExchange(schema);
  const name = schema.exchangeName;
  if (exchanges.has(name)) {
    throw new RegistryError(
      `exchange ${name} is already registered; pick another exchangeName (a registered exchange cannot be replaced)`,
      { exchangeName: name },
      [...exchanges.keys()],
    );
  }
  exchanges.set(name, schema);
}

/** The strategy registered as `name`; otherwise a `RegistryError`: `strategy <name> not found`. */
export function getStrategy(name: string): StrategySchema {
  const schema = strategies.get(name);
  if (schema === undefined) throw notFound("strategy", name, [...strategies.keys()]);
  return schema;
}

/** The exchange registered as `name`; otherwise a `RegistryError`: `exchange <name> not found`. */
export function getExchange(name: string): ExchangeSchema {
  const schema = exchanges.get(name);
  if (schema === undefined) throw notFound("exchange", name, [...exchanges.keys()]);
  return schema;
}

function notFound(kind: "strategy" | "exchange", name: string, registered: string[]): RegistryError {
  const add = kind === "strategy" ? "addStrategy" : "addExchange";
  const known = registered.length === 0 ? `no ${kind} is registered` : `registered: ${registered.join(", ")}`;
  return new RegistryError(
    `${kind} ${name} not found (${known}); register it with ${add}({ ${kind}Name: ${JSON.stringify(name)}, … }) before using it by name`,
    kind === "strategy" ? { strategyName: name } : { exchangeName: name },
    registered,
  );
}

/** Throws a `SchemaError` (a `TypeError`) naming what is missing or wrong in a strategy schema. */
export function checkStrategy(schema: StrategySchema): void {
  const s = schema as Partial<StrategySchema> | null | undefined;
  if (s === null || typeof s !== "object") {
    throw new SchemaError("strategy", [`a strategy schema must be an object, got ${describe(s)}`], s);
  }
  const problems: string[] = [];
  const name = s.strategyName;
  if (typeof name !== "string" || name.length === 0) {
    problems.push(`strategyName (${JSON.stringify(name)}) must be a non-empty string`);
  } else if (name.includes(":")) {
    problems.push(`strategyName (${JSON.stringify(name)}) must not contain ":" (it is part of the store key)`);
  }
  if (typeof s.getSignal !== "function") problems.push(`getSignal (${describe(s.getSignal)}) must be a function`);
  if (!SIGNAL_INTERVALS.includes(s.interval as never)) {
    problems.push(`interval (${JSON.stringify(s.interval)}) must be one of ${SIGNAL_INTERVALS.join(", ")}`);
  }
  if (problems.length > 0) throw new SchemaError("strategy", problems, s, typeof name === "string" && name !== "" ? name : undefined);
}

/** Throws a `SchemaError` (a `TypeError`) naming what is missing or wrong in an exchange schema. */
export function checkExchange(schema: ExchangeSchema): void {
  const s = schema as Partial<ExchangeSchema> | null | undefined;
  if (s === null || typeof s !== "object") {
    throw new SchemaError("exchange", [`an exchange schema must be an object, got ${describe(s)}`], s);
  }
  const problems: string[] = [];
  const name = s.exchangeName;
  if (typeof name !== "string" || name.length === 0) {
    problems.push(`exchangeName (${JSON.stringify(name)}) must be a non-empty string`);
  }
  if (typeof s.getCandles !== "function") problems.push(`getCandles (${describe(s.getCandles)}) must be a function`);
  if (problems.length > 0) throw new SchemaError("exchange", problems, s, typeof name === "string" && name !== "" ? name : undefined);
}

/** A value as a message shows it: a string quoted, anything else by its type or text. */
function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" && value !== null ? "an object" : String(value);
}
