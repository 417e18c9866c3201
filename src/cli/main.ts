import { setLogger } from "rxtrade";
import { BACKTEST_HELP, backtestCommand } from "./backtestCommand";
import { DEMO_HELP, demoCommand } from "./demoCommand";
import { FLEET_HELP, fleetCommand } from "./fleetCommand";
import { LIVE_HELP, liveCommand } from "./liveCommand";
import { RUN_HELP, runCommand } from "./runCommand";
import { REPLAY_HELP, replayCommand } from "./replayCommand";
import { REPORT_HELP, reportCommand } from "./reportCommand";
import { STORE_HELP, storeCommand } from "./storeCommand";
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

const COMMANDS: Record<string, { run: (args: readonly string[], terminal: Terminal) => Promise<number>; help: string }> = {
  demo: { run: demoCommand, help: DEMO_HELP },
  live: { run: liveCommand, help: LIVE_HELP },
  run: { run: runCommand, help: RUN_HELP },
  fleet: { run: fleetCommand, help: FLEET_HELP },
  backtest: { run: backtestCommand, help: BACKTEST_HELP },
  report: { run: reportCommand, help: REPORT_HELP },
  replay: { run: replayCommand, help: REPLAY_HELP },
  store: { run: storeCommand, help: STORE_HELP },
};
const NAMES = Object.keys(COMMANDS);

/** The `rxtrade` command line: runs a command and resolves to the process exit code. */
export async function main(argv: readonly string[], terminal = new Terminal(process.stdout, process.stderr, process.stdin)): Promise<number> {
  // The library's own log lines go above the status line, not through it.
  setLogger({ warn: (...args: unknown[]) => terminal.warn(args.join(" ")), error: (...args: unknown[]) => terminal.warn(args.join(" ")) });
  const [name, ...args] = argv;
  try {
    if (name === undefined) throw new UsageError("", `a command is required: ${NAMES.join(", ")}`);
    if (name === "--help" || name === "-h" || name === "help") {
      const topic = name === "help" && args[0] !== undefined ? COMMANDS[args[0]] : undefined;
      terminal.line(topic?.help ?? HELP);
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
    const command = COMMANDS[name];
    if (command === undefined) {
      const near = NAMES.find((candidate) => editDistance(name, candidate) <= 2);
      throw new UsageError("", `unknown command ${JSON.stringify(name)}${near === undefined ? "" : `; did you mean ${near}?`} (commands: ${NAMES.join(", ")})`);
    }
    return await command.run(args, terminal);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const prefix = error.command === "" ? "rxtrade" : `rxtrade ${error.command}`;
    terminal.warn(`${prefix}: ${error.message}`);
    terminal.warn(`Run '${prefix} --help' for the flags.`);
    return EXIT.usage;
  }
}
