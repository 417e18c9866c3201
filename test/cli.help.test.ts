// The help of every command (issue 10, items 5 and 6): every file it names is one the published
// package holds (`npm pack --dry-run --json`: package.json `files` plus what npm always adds),
// not a file of this repository that a user of the package does not have; and the bundled data
// is named for what it is, Binance.US BTC/USDT with prices in USDT. The commands and
// subcommands are read from the top-level help, so a new one is checked too.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/cli/main";
import { Terminal } from "../src/cli/terminal";

const root = fileURLToPath(new URL("../", import.meta.url));
const exec = promisify(execFile);

/** What `rxtrade <args>` prints on stdout (run in this process: help starts nothing). */
async function output(args: string[]): Promise<string> {
  let out = "";
  let err = "";
  const code = await main(args, new Terminal({ write: (text: string) => (out += text) }, { write: (text: string) => (err += text) }));
  expect({ args, code, err }).toEqual({ args, code: 0, err: "" });
  return out;
}

/** Every help text: `rxtrade --help`, and for each command of its Usage, `<command> --help` and `help <command>`. */
async function helps(): Promise<Array<[string, string]>> {
  const top = await output(["--help"]);
  const usage = [...top.matchAll(/^ {2}rxtrade ((?:[a-z][\w-]* ?)+)/gm)].map((match) => (match[1] as string).trim().split(" "));
  const texts: Array<[string, string]> = [["rxtrade --help", top]];
  for (const words of usage) {
    texts.push([`rxtrade ${words.join(" ")} --help`, await output([...words, "--help"])]);
    if (words.length === 1) texts.push([`rxtrade help ${words[0]}`, await output(["help", words[0] as string])]);
  }
  return texts;
}

/**
 * The words of a text that name a file or folder: anything with a `/` (market symbols such as
 * BTC/USDT:USDT aside) or a file name with an extension.
 */
function pathMentions(text: string): string[] {
  const found = new Set<string>();
  for (const raw of text.split(/[\s,;()`'"[\]{}<>]+/)) {
    const word = raw.replace(/[.:!?]+$/, "");
    if (word === "" || /^[A-Z0-9]+\/[A-Z0-9]+(:[A-Z0-9]+)?$/.test(word) || word === "N/A") continue;
    if (word.includes("/") || /[\w-]\.(?:[cm]?[jt]sx?|json|md|csv|gz|txt|html)$/.test(word)) found.add(word);
  }
  return [...found];
}

let packaged: string[];
let repository: string[];

beforeAll(async () => {
  const [pack, tracked] = await Promise.all([
    exec("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root, maxBuffer: 64 * 1024 * 1024 }),
    exec("git", ["ls-files"], { cwd: root, maxBuffer: 64 * 1024 * 1024 }),
  ]);
  packaged = (JSON.parse(pack.stdout) as Array<{ files: Array<{ path: string }> }>)[0]?.files.map((file) => file.path) ?? [];
  repository = tracked.stdout.split("\n").filter((line) => line !== "");
}, 60_000);

/** Whether the package holds `path` (a file, or a folder with files in it). */
const inPackage = (path: string) => packaged.some((file) => file === path || file.startsWith(`${path.replace(/\/$/, "")}/`));
/** Whether `path` names a file or folder of this repository (as given, or as the tail of one: strategies/momentum.ts). */
const inRepository = (path: string) => repository.some((file) => file === path || file.startsWith(`${path.replace(/\/$/, "")}/`) || file.endsWith(`/${path}`));

describe("rxtrade help texts", () => {
  it("the path finder finds the mentions that matter and skips market symbols", () => {
    expect(pathMentions("an example (examples/strategies/momentum.ts); e.g. --store ./.rxtrade, BTC/USDT or BTC/USDT:USDT, a .ts file, see momentum.ts.")).toEqual([
      "examples/strategies/momentum.ts",
      "./.rxtrade",
      "momentum.ts",
    ]);
  });

  it("name only files that the published package holds (the others are the user's own paths, not files of this repository)", async () => {
    expect(packaged).toContain("package.json");
    expect(packaged.some((file) => file.startsWith("data/"))).toBe(true);
    const texts = await helps();
    // demo, live and store with its two subcommands, each two ways where it can be.
    expect(texts.map(([name]) => name)).toEqual(
      expect.arrayContaining(["rxtrade demo --help", "rxtrade help live", "rxtrade store list --help", "rxtrade store clear --help"]),
    );
    const missing: string[] = [];
    for (const [name, text] of texts) {
      for (const mention of pathMentions(text)) {
        const path = mention.replace(/^\.\//, "");
        if (!inPackage(path) && inRepository(path)) missing.push(`${name}: ${mention}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("rxtrade --help names the demo's data for what it is: Binance.US BTC/USDT minutes, prices in USDT", async () => {
    expect(await output(["--help"])).toContain(
      "  rxtrade demo [flags]   the live loop on bundled Binance.US BTC/USDT minutes (prices in USDT),\n                         on a fast clock, offline\n",
    );
  });

  it("no help text calls the data Binance's, or its prices USD", async () => {
    const wrong = (await helps()).filter(([, text]) => /Binance(?!\.US)|\bUSD\b/.test(text)).map(([name, text]) => `${name}: ${/.*(?:Binance(?!\.US)|\bUSD\b).*/.exec(text)?.[0]}`);
    expect(wrong).toEqual([]);
  });
});
