// `rxtrade fleet list|tail`: the pairs as a table (or JSON), and the event stream followed line
// by line until Ctrl-C.
import type { FleetPairView } from "rxtrade/redis";
import { cell, terminalSafe } from "./format";
import { COMMON, CONNECT_TIMEOUT_MS, connection, EXAMPLES, help, loadRedis, maskUrl, redisCause, redisFailed } from "./fleetUsage";
import type { Terminal } from "./terminal";
import { EXIT, parseCommandLine } from "./usage";

/** `rxtrade fleet list [--json]`. */
export async function listCommand(args: readonly string[], terminal: Terminal): Promise<number> {
  const { flags, positionals } = parseCommandLine("fleet", args, { ...COMMON, json: { type: "boolean" } }, EXAMPLES, false);
  void positionals;
  if (flags.help) return help(terminal);
  const { url, prefix } = connection(flags);
  const { fleetAdmin } = await loadRedis();
  const admin = fleetAdmin({ url }, { prefix, callTimeoutMs: CONNECT_TIMEOUT_MS });
  try {
    const { pairs, workers } = await admin.list();
    if (flags.json === true) {
      terminal.line(JSON.stringify(pairs.map(({ pair, owner, status, signalId, lastTickAt, token, error }) => ({ pair, owner, status, signalId, lastTickAt, token, ...(error === undefined ? {} : { error }) }))));
      return EXIT.ok;
    }
    terminal.line(`${pairs.length} pair${pairs.length === 1 ? "" : "s"}, ${workers.length} live worker${workers.length === 1 ? "" : "s"}${workers.length === 0 ? "" : ` (${workers.join(", ")})`}`);
    if (pairs.length > 0) terminal.line(table(pairs));
    // Why a pair cannot start, in full (the table's cells are cut at 40 characters).
    for (const pair of pairs) if (pair.error !== undefined) terminal.line(`${terminalSafe(pair.pair)}: error: ${terminalSafe(pair.error)}`);
    return EXIT.ok;
  } catch (error) {
    return redisFailed("list", url, terminal, error);
  } finally {
    await admin.close();
  }
}

function table(pairs: readonly FleetPairView[]): string {
  const rows = [["PAIR", "OWNER", "STATUS", "SIGNAL", "LAST TICK", "TOKEN"], ...pairs.map((p) => [p.pair, p.owner ?? "-", p.status, p.signalId ?? "-", p.lastTickAt ?? "-", p.token === null ? "-" : String(p.token)])];
  const widths = rows[0]?.map((_, column) => Math.min(40, Math.max(...rows.map((row) => (row[column] as string).length)))) ?? [];
  return rows.map((row) => row.map((text, column) => cell(terminalSafe(text), widths[column] as number).padEnd(widths[column] as number)).join("  ").trimEnd()).join("\n");
}

/** `rxtrade fleet tail [--json] [--from-start]`: until SIGINT or SIGTERM. */
export async function tailCommand(args: readonly string[], terminal: Terminal): Promise<number> {
  const { flags } = parseCommandLine("fleet", args, { ...COMMON, json: { type: "boolean" }, "from-start": { type: "boolean" } }, EXAMPLES, false);
  if (flags.help) return help(terminal);
  const { url, prefix } = connection(flags);
  const { fleetAdmin, fleetEvents$ } = await loadRedis();
  // Redis reachable at the start, or one line and exit 1 (as the other subcommands).
  const probe = fleetAdmin({ url }, { prefix, callTimeoutMs: CONNECT_TIMEOUT_MS });
  try {
    await probe.events(undefined, 1);
  } catch (error) {
    return redisFailed("tail", url, terminal, error);
  } finally {
    await probe.close();
  }
  const onError = (error: Error) => {
    const cause = redisCause(error) ?? error.message.replace(/^rxtrade: /, "");
    terminal.warn(`rxtrade fleet tail: lost Redis at ${maskUrl(url)}: ${cause}; reconnecting with backoff (0.5 s doubling to 5 s)`);
  };
  const onRecover = () => terminal.warn(`rxtrade fleet tail: reconnected to Redis at ${maskUrl(url)}; following the events again (none missed)`);
  await new Promise<void>((done) => {
    const subscription = fleetEvents$({ url }, { prefix, onError, onRecover, ...(flags["from-start"] === true ? { from: "0" } : {}) }).subscribe((event) => {
      if (flags.json === true) terminal.line(JSON.stringify(event));
      else {
        const extra = Object.entries(event)
          .filter(([field]) => !["id", "action", "pair", "worker", "token", "signalId", "at"].includes(field))
          .map(([field, value]) => `${field}=${terminalSafe(String(value))}`);
        terminal.line([event.at, event.pair, event.action, `worker=${event.worker}`, `token=${event.token}`, ...(event.signalId === "" ? [] : [`signal=${event.signalId}`]), ...extra].join(" "));
      }
    });
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      subscription.unsubscribe();
      done();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  return EXIT.ok;
}
