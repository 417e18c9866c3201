import type { StrategySchema } from "rxtrade";
import { breakoutStrategy } from "../../examples/strategies/breakout";
import { maCrossStrategy } from "../../examples/strategies/maCross";
import { momentumStrategy } from "../../examples/strategies/momentum";
import { editDistance, UsageError } from "./usage";
import { describeThrown, loadUserExport, looksLikePath } from "./userModule";

/**
 * The strategies of examples/strategies/, by the name `--strategy` takes. They are bundled into
 * the command (dist/cli.js); their sources are not in the package, so the help names no file.
 */
export const EXAMPLE_STRATEGIES: Readonly<Record<string, { create: () => StrategySchema; summary: string }>> = {
  momentum: {
    create: () => momentumStrategy(),
    summary: "a 0.3 % move over 3 minutes -> trade it, TP/SL 1 %, 60 min",
  },
  "ma-cross": {
    create: () => maCrossStrategy(),
    summary: "SMA 9 crosses SMA 21 on 5m candles -> trade it, TP 1 %, SL 0.7 %",
  },
  breakout: {
    create: () => breakoutStrategy(),
    summary: "a 60-minute range breaks -> limit entry on the retest",
  },
};

const SIGNAL_INTERVALS = ["1m", "3m", "5m", "15m", "30m", "1h"];

/**
 * The strategy `--strategy` names: an example's name, or a path to a module whose named export
 * `strategy` or default export is a `StrategySchema` (or a function returning one, or a promise
 * of one). The module gets `timeoutMs` to load (see `loadUserExport`).
 */
export async function resolveStrategy(command: string, value: string, timeoutMs: number): Promise<StrategySchema> {
  const example = EXAMPLE_STRATEGIES[value];
  if (example !== undefined) return example.create();
  if (!looksLikePath(value)) {
    const names = Object.keys(EXAMPLE_STRATEGIES);
    const near = names.find((name) => editDistance(value, name) <= 2);
    throw new UsageError(
      command,
      `--strategy ${JSON.stringify(value)} is neither an example strategy nor a file` +
        `${near === undefined ? "" : `; did you mean ${near}?`} (examples: ${names.join(", ")}; a file: --strategy ./my-strategy.js)`,
    );
  }
  const strategy = await loadUserExport({ command, flag: "strategy", path: value, timeoutMs }, "strategy");
  let problems: string[];
  try {
    problems = strategyProblems(strategy);
  } catch (error) {
    // A getter of the exported object threw.
    throw new UsageError(command, `--strategy ${value}: reading the exported strategy threw: ${describeThrown(error)}`);
  }
  if (problems.length > 0) {
    throw new UsageError(
      command,
      `--strategy ${value}: the module must export a StrategySchema as \`strategy\` or as its default export; ${problems.join("; ")}`,
    );
  }
  return strategy as StrategySchema;
}

function strategyProblems(value: unknown): string[] {
  if (value === null || typeof value !== "object") return [`found ${value === null ? "null" : typeof value}`];
  const schema = value as Partial<StrategySchema>;
  const problems: string[] = [];
  if (typeof schema.strategyName !== "string" || schema.strategyName === "" || schema.strategyName.includes(":")) {
    problems.push(`strategyName (${JSON.stringify(schema.strategyName)}) must be a non-empty string without ":"`);
  }
  if (!SIGNAL_INTERVALS.includes(schema.interval as string)) {
    problems.push(`interval (${JSON.stringify(schema.interval)}) must be one of ${SIGNAL_INTERVALS.join(", ")}`);
  }
  if (typeof schema.getSignal !== "function") problems.push("getSignal must be a function");
  return problems;
}
