// The `rxtrade` bin (dist/cli.js; tsup adds the #! line). Node only: nothing in the library imports it.
import { main } from "./main";

// `rxtrade demo | head`: the reader went away; stop quietly (what is open stays in the store).
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

let code: number;
try {
  code = await main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`rxtrade: unexpected error: ${(error as Error)?.stack ?? String(error)}\n`);
  code = 1;
}
// Exit explicitly once the output is flushed: an exchange client may keep sockets open.
process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
