import { setLogger } from "rxtrade";
import { Terminal } from "./terminal";
import { editDistance, EXIT, UsageError } from "./usage";
import { packageVersion } from "./version";

export const HELP = `rxtrade — run trading strategies live, as RxJS streams

Usage
  rxtrade demo [flags]   the live loop on bundled Binance.US BTC/USDT minutes (prices in USDT),
                         on a fast clock, offline
  rxtrade live [flags]   a strategy live on a real exchange, through ccxt
  rxtrade run <config.json> [flags]
                         many pairs in one process, as a service: /metrics, /health, JSON logs
  rxtrade fleet worker|add|remove|drain|list|tail [flags]
                         a fleet of workers on Redis: each pair live in one worker, taken over
                         on a crash
  rxtrade backtest [flags]
                         a strategy over history (bundled, CSV files, or fetched through ccxt),
                         through the same live loop on a virtual clock
  rxtrade report [flags] the statistics and Markdown report of every run, from a store's journal
  rxtrade replay <journal file> [flags]
                         a recorded live session (journal at level full) through the same loop
                         again, every decision compared with the recorded one
  rxtrade store list     what each key of a store holds, and who holds its lock
  rxtrade store clear    remove one key of a store (a signal left by a killed run)
  rxtrade <command> --help
  rxtrade --version      the installed version of rxtrade

Exit codes
  0 done (a graceful stop), 1 the run failed, 2 a wrong command line, 130 a second Ctrl-C
`;

interface Command {
  run: (args: readonly string[], terminal: Terminal) => Promise<number>;
  help: string;
}

// Each command is loaded when it runs: `rxtrade demo` does not load the service's metrics and
// logs nor the fleet's Redis client, and `rxtrade --help` loads none of them.
const COMMANDS: Record<string, () => Promise<Command>> = {
  demo: async () => import("./demoCommand").then((m) => ({ run: m.demoCommand, help: m.DEMO_HELP })),
  live: async () => import("./liveCommand").then((m) => ({ run: m.liveCommand, help: m.LIVE_HELP })),
  run: async () => import("./runCommand").then((m) => ({ run: m.runCommand, help: m.RUN_HELP })),
  fleet: async () => import("./fleetCommand").then((m) => ({ run: m.fleetCommand, help: m.FLEET_HELP })),
  backtest: async () => import("./backtestCommand").then((m) => ({ run: m.backtestCommand, help: m.BACKTEST_HELP })),
  report: async () => import("./reportCommand").then((m) => ({ run: m.reportCommand, help: m.REPORT_HELP })),
  replay: async () => import("./replayCommand").then((m) => ({ run: m.replayCommand, help: m.REPLAY_HELP })),
  store: async () => import("./storeCommand").then((m) => ({ run: m.storeCommand, help: m.STORE_HELP })),
};
const NAMES = Object.keys(COMMANDS);
const commandNamed = (name: string): (() => Promise<Command>) | undefined => (Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined);

/** The `rxtrade` command line: runs a command and resolves to the process exit code. */
export async function main(argv: readonly string[], terminal = new Terminal(process.stdout, process.stderr, process.stdin)): Promise<number> {
  // The library's own log lines go above the status line, not through it.
  setLogger({ warn: (...args: unknown[]) => terminal.warn(args.join(" ")), error: (...args: unknown[]) => terminal.warn(args.join(" ")) });
  const [name, ...args] = argv;
  try {
    if (name === undefined) throw new UsageError("", `a command is required: ${NAMES.join(", ")}`);
    if (name === "--help" || name === "-h" || name === "help") {
      const topic = name === "help" && args[0] !== undefined ? commandNamed(args[0]) : undefined;
      terminal.line(topic === undefined ? HELP : (await topic()).help);
      return EXIT.ok;
    }
    // -v as node and npm take it; `version` as `help` is taken.
    if (name === "--version" || name === "-v" || name === "version") {
      if (args.length > 0) throw new UsageError("", `${name} takes no arguments, got ${args.map((arg) => JSON.stringify(arg)).join(" ")}`);
      let version: string;
      try {
        version = packageVersion();
      } catch (error) {
        terminal.warn(`rxtrade: cannot tell the version: ${(error as Error).message}; reinstall rxtrade (npm install rxtrade)`);
        return EXIT.failed;
      }
      terminal.line(version);
      return EXIT.ok;
    }
    const load = commandNamed(name);
    if (load === undefined) {
      const near = NAMES.find((candidate) => editDistance(name, candidate) <= 2);
      throw new UsageError("", `unknown command ${JSON.stringify(name)}${near === undefined ? "" : `; did you mean ${near}?`} (commands: ${NAMES.join(", ")})`);
    }
    const command = await load();
    return await command.run(args, terminal);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const prefix = error.command === "" ? "rxtrade" : `rxtrade ${error.command}`;
    terminal.warn(`${prefix}: ${error.message}`);
    terminal.warn(`Run '${prefix} --help' for the flags.`);
    return EXIT.usage;
  }
}
