// `rxtrade fleet <subcommand>`: which module runs each (fleetUsage has what they share).
import { addCommand, drainCommand, removeCommand } from "./fleetAdminCommands";
import { listCommand, tailCommand } from "./fleetListTail";
import { FLEET_HELP } from "./fleetUsage";
import { fleetWorkerCommand } from "./fleetWorkerCommand";
import type { Terminal } from "./terminal";
import { EXIT, UsageError } from "./usage";

export { FLEET_HELP };

const SUBCOMMANDS = ["worker", "add", "remove", "drain", "list", "tail"];

/** `rxtrade fleet <subcommand>`. */
export async function fleetCommand(args: readonly string[], terminal: Terminal): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === "--help" || sub === "-h") {
    if (sub === undefined) throw new UsageError("fleet", `a subcommand is required: ${SUBCOMMANDS.join(", ")}`);
    terminal.line(FLEET_HELP);
    return EXIT.ok;
  }
  switch (sub) {
    case "worker":
      return fleetWorkerCommand(rest, terminal);
    case "add":
      return addCommand(rest, terminal);
    case "remove":
      return removeCommand(rest, terminal);
    case "drain":
      return drainCommand(rest, terminal);
    case "list":
      return listCommand(rest, terminal);
    case "tail":
      return tailCommand(rest, terminal);
    default:
      throw new UsageError("fleet", `unknown subcommand ${JSON.stringify(sub)} (subcommands: ${SUBCOMMANDS.join(", ")})`);
  }
}
