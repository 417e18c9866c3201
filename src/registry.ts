import type { ExchangeSchema, StrategySchema } from "./model";
import { SIGNAL_INTERVALS } from "./model";

// The facade's registries: the one deliberate module-level state besides config and events.
const strategies = new Map<string, StrategySchema>();
const exchanges = new Map<string, ExchangeSchema>();

/** Registers a strategy under its `strategyName`; a name already registered throws. */
export function addStrategy(schema: StrategySchema): void {
  checkStrategy(schema);
  if (strategies.has(schema.strategyName)) {
    throw new Error(`rxtrade: strategy ${schema.strategyName} is already registered; pick another strategyName`);
  }
  strategies.set(schema.strategyName, schema);
}

/** Registers an exchange under its `exchangeName`; a name already registered throws. */
export function addExchange(schema: ExchangeSchema): void {
  checkExchange(schema);
  if (exchanges.has(schema.exchangeName)) {
    throw new Error(`rxtrade: exchange ${schema.exchangeName} is already registered; pick another exchangeName`);
  }
  exchanges.set(schema.exchangeName, schema);
}

/** The strategy registered as `name`; throws `strategy <name> not found`. */
export function getStrategy(name: string): StrategySchema {
  const schema = strategies.get(name);
  if (schema === undefined) throw new Error(`strategy ${name} not found`);
  return schema;
}

/** The exchange registered as `name`; throws `exchange <name> not found`. */
export function getExchange(name: string): ExchangeSchema {
  const schema = exchanges.get(name);
  if (schema === undefined) throw new Error(`exchange ${name} not found`);
  return schema;
}

/** Throws a `TypeError` naming what is missing or wrong in a strategy schema. */
export function checkStrategy(schema: StrategySchema): void {
  const s = schema as Partial<StrategySchema> | null | undefined;
  const problems: string[] = [];
  if (s === null || typeof s !== "object") throw new TypeError(`rxtrade: a strategy schema must be an object, got ${String(s)}`);
  if (typeof s.strategyName !== "string" || s.strategyName.length === 0) {
    problems.push(`strategyName (${JSON.stringify(s.strategyName)}) must be a non-empty string`);
  } else if (s.strategyName.includes(":")) {
    problems.push(`strategyName (${JSON.stringify(s.strategyName)}) must not contain ":" (it is part of the store key)`);
  }
  if (typeof s.getSignal !== "function") problems.push("getSignal must be a function");
  if (!SIGNAL_INTERVALS.includes(s.interval as never)) {
    problems.push(`interval (${JSON.stringify(s.interval)}) must be one of ${SIGNAL_INTERVALS.join(", ")}`);
  }
  if (problems.length > 0) throw new TypeError(`rxtrade: invalid strategy schema: ${problems.join("; ")}`);
}

/** Throws a `TypeError` naming what is missing or wrong in an exchange schema. */
export function checkExchange(schema: ExchangeSchema): void {
  const s = schema as Partial<ExchangeSchema> | null | undefined;
  const problems: string[] = [];
  if (s === null || typeof s !== "object") throw new TypeError(`rxtrade: an exchange schema must be an object, got ${String(s)}`);
  if (typeof s.exchangeName !== "string" || s.exchangeName.length === 0) {
    problems.push(`exchangeName (${JSON.stringify(s.exchangeName)}) must be a non-empty string`);
  }
  if (typeof s.getCandles !== "function") problems.push("getCandles must be a function");
  if (problems.length > 0) throw new TypeError(`rxtrade: invalid exchange schema: ${problems.join("; ")}`);
}
