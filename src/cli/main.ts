import { setLogger } from "rxtrade";
import { DEMO_HELP, demoCommand } from "./demoCommand";
import { LIVE_HELP, liveCommand } from "./liveCommand";
import { Terminal } from "./terminal";
import { editDistance, EXIT, UsageError } from "./usage";

export const HELP = `rxtrade — run trading strategies live, as RxJS streams

Usage
  rxtrade demo [flags]   the live loop on bundled BTCUSDT minutes, on a fast clock, offline
  rxtrade live [flags]   a strategy live on a real exchange, through ccxt
  rxtrade <command> --help

Exit codes
  0 done (a graceful stop), 1 the run failed, 2 a wrong command line, 130 a second Ctrl-C
`;

const COMMANDS: Record<string, { run: (args: readonly string[], terminal: Terminal) => Promise<number>; help: string }> = {
  demo: { run: demoCommand, help: DEMO_HELP },
  live: { run: liveCommand, help: LIVE_HELP },
};

/** The `rxtrade` command line: runs a command and resolves to the process exit code. */
export async function main(argv: readonly string[], terminal = new Terminal(process.stdout, process.stderr)): Promise<number> {
  // The library's own log lines go above the status line, not through it.
  setLogger({ warn: (...args: unknown[]) => terminal.warn(args.join(" ")), error: (...args: unknown[]) => terminal.warn(args.join(" ")) });
  const [name, ...args] = argv;
  try {
    if (name === undefined) throw new UsageError("", "a command is required: demo or live");
    if (name === "--help" || name === "-h" || name === "help") {
      const topic = name === "help" && args[0] !== undefined ? COMMANDS[args[0]] : undefined;
      terminal.line(topic?.help ?? HELP);
      return EXIT.ok;
    }
    const command = COMMANDS[name];
    if (command === undefined) {
      const near = Object.keys(COMMANDS).find((candidate) => editDistance(name, candidate) <= 2);
      throw new UsageError("", `unknown command ${JSON.stringify(name)}${near === undefined ? "" : `; did you mean ${near}?`} (commands: demo, live)`);
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
