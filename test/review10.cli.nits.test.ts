// Review of issue 10, item 3 (nits of the command line): an unknown flag is echoed as it was
// given; the demo's header gives the tick's wall-clock period in µs when it is under 0.1 ms;
// the demo writes its report to its own folder (./dump/demo), so `rxtrade live` on the same
// symbol and strategy no longer overwrites it; `store clear` without a terminal and without
// --yes is a usage error (exit 2) before the key's lock is looked at.
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { main } from "../src/cli/main";
import { Terminal } from "../src/cli/terminal";

/** `main` in this process; stdin a terminal or not. */
async function inProcess(args: string[], tty = false): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const stdin = Object.assign(new PassThrough(), { isTTY: tty });
  const code = await main(args, new Terminal({ write: (text: string) => (out += text) }, { write: (text: string) => (err += text) }, stdin));
  return { code, out, err };
}

describe("an unknown flag is named as it was given", () => {
  it.each([
    [["store", "clear", "BTCUSDT:momentum", "--yes:m"], "rxtrade store: unknown flag --yes:m; did you mean --yes?"],
    [["store", "list", "--json.pretty"], "rxtrade store: unknown flag --json.pretty; did you mean --json?"],
    [["store", "list", "--yes"], "rxtrade store: unknown flag --yes"],
    [["demo", "--sped=10"], "rxtrade demo: unknown flag --sped; did you mean --speed?"],
    [["demo", "--it's"], "rxtrade demo: unknown flag --it's"],
  ])("rxtrade %j", async (args, message) => {
    expect(await inProcess(args)).toEqual({ code: 2, out: "", err: `${message}\nRun '${message.split(":")[0]} --help' for the flags.\n` });
  });
});
