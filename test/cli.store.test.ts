// `rxtrade store list` / `rxtrade store clear` (issue 10, item 7): on real store folders written
// by fileStore, with real second processes holding keys — a child that takes a key's lock
// through fileStore, and an `rxtrade demo` run killed with SIGKILL, the stuck key of the issue.
// The command runs as a real process (bundled by test/fixtures/processHarness.ts), and in this
// process where a terminal that answers a question is needed.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { encodeState, type SignalRow } from "rxtrade";
import { fileStore } from "rxtrade/node";
import { main } from "../src/cli/main";
import { Terminal } from "../src/cli/terminal";
import { bundle, Child, type Exit, run } from "./fixtures/processHarness";

const root = fileURLToPath(new URL("../", import.meta.url));
const hold = fileURLToPath(new URL("./fixtures/cliHoldStrategy.mjs", import.meta.url));
const ID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const HOST = hostname();
const T = Date.parse("2023-03-01T03:23:00Z");

let cli: string[];
let holder: string[];
let work: string;
const children: ChildProcess[] = [];

// Takes the lock of a key through fileStore, as a stream does, says so, and holds it until killed.
const HOLDER_SOURCE = `
import { fileStore } from ${JSON.stringify(join(root, "src/node/index.ts"))};
const [dir, key] = process.argv.slice(2);
const release = await fileStore(dir).lock(key);
process.on("SIGTERM", () => { release(); process.exit(0); });
setInterval(() => undefined, 60_000);
process.stdout.write("locked\\n");
`;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "rxtrade-store-test-"));
  await writeFile(join(work, "holder.ts"), HOLDER_SOURCE);
  [cli, holder] = await Promise.all([bundle("src/cli/index.ts"), bundle(relative(root, join(work, "holder.ts")))]);
}, 30_000);

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
  for (const command of [cli, holder]) if (command !== undefined) await rm(dirname(command[1] as string), { recursive: true, force: true });
});

const newDir = (name: string) => mkdtemp(join(work, `${name}-`));

function signal(symbol: string, strategyName: string, fields: Partial<SignalRow> = {}): SignalRow {
  return {
    id: "e7be98dd-5c1a-4b9e-9f3e-2d7c1a0b4e61",
    position: "long",
    priceOpen: 23423.17,
    priceTakeProfit: 23657.4,
    priceStopLoss: 23188.94,
    minuteEstimatedTime: 60,
    note: "",
    symbol,
    strategyName,
    exchangeName: "replay",
    scheduledAt: T,
    pendingAt: T,
    ...fields,
  };
}

/** A child process holding `key` of the store in `dir`; resolves once it holds it. */
async function holdKey(dir: string, key: string): Promise<ChildProcess & { pid: number }> {
  const child = spawn(holder[0] as string, [...holder.slice(1), dir, key], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => {
      out += text;
      if (out.includes("locked\n")) resolve();
    });
    child.stderr.setEncoding("utf8").on("data", (text: string) => reject(new Error(text)));
    child.on("exit", (code) => reject(new Error(`holder exited with ${code}`)));
  });
  return child as ChildProcess & { pid: number };
}

async function killed(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

/** A store with an opened signal, a scheduled limit entry, an unrecognised value and a corrupt file. */
async function seededStore(): Promise<string> {
  const dir = await newDir("store");
  const store = fileStore(dir);
  await store.write("BTCUSDT:momentum", encodeState({ status: "opened", signal: signal("BTCUSDT", "momentum") }));
  await store.write(
    "ETH/USDT:USDT:breakout",
    encodeState({
      status: "scheduled",
      signal: signal("ETH/USDT:USDT", "breakout", { id: "0b7c0f7e-41a2-4d3b-8a53-7e0d6f1c9a20", position: "short", priceOpen: 1612.5, priceTakeProfit: 1590, priceStopLoss: 1630, scheduledAt: T + 3_600_000, pendingAt: T + 3_600_000 }),
    }),
  );
  await store.write("BTCUSDT:notes", { hello: "world" });
  // Not the store's own file for its name (another key's envelope), and a copy moved aside earlier.
  await writeFile(join(dir, "ADAUSDT_grid-0123456789abcdef.json"), JSON.stringify({ rxtrade: 1, key: "XRPUSDT:grid", value: null }));
  await writeFile(join(dir, "ADAUSDT_grid-0123456789abcdef.json.corrupt-2023-03-02T10-00-00-000Z"), "{");
  return dir;
}

interface ListedJson {
  store: string;
  exists: boolean;
  keys: Array<{ key: string | null; file: string; state: string; reason?: string; signal: SignalRow | null; since: string | null; lock: Record<string, unknown> | null }>;
  quarantined: string[];
}

async function listJson(dir: string): Promise<ListedJson> {
  const exit = await here(["store", "list", "--store", dir, "--json"]);
  expect(exit).toMatchObject({ code: 0, stderr: "" });
  return JSON.parse(exit.stdout) as ListedJson;
}

/**
 * `rxtrade <args>` through `main` in this process, with paths given absolute (what it prints
 * does not depend on the working directory): `store list` and `store clear` start nothing a
 * process of their own would show; the tests of a real process use `run(cli, …)`.
 */
async function here(args: string[]): Promise<Exit> {
  const { code, out, err } = await inProcess(args, { tty: false });
  return { code, signal: null, stdout: out, stderr: err };
}

/** `main` in this process, on a terminal whose stdin answers `answer` (or is not a terminal). */
async function inProcess(args: string[], input: { tty: boolean; answer?: string }): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const stdin = Object.assign(new PassThrough(), { isTTY: input.tty });
  if (input.answer !== undefined) stdin.end(input.answer);
  const terminal = new Terminal({ write: (text: string) => (out += text) }, { write: (text: string) => (err += text) }, stdin);
  const code = await main(args, terminal);
  return { code, out, err };
}

describe("rxtrade store list", () => {
  it("prints each key with its state, signal and since when, the holder of its lock (a running process: pid and host), corrupt files with the reason", async () => {
    const dir = await seededStore();
    const idle = await holdKey(dir, "SOLUSDT:idle");
    const exit = await here(["store", "list", "--store", dir]);
    expect(exit.stderr).toBe("");
    expect(exit.code).toBe(0);
    const lines = exit.stdout.split("\n");
    expect(lines[0]).toBe(`Store ${dir}: 5 keys`);
    expect(lines[2]).toMatch(/^KEY +STATE +SINCE \(UTC\) +SIGNAL +LOCK$/);
    const row = (key: string) => lines.find((line) => line.startsWith(`${key} `))?.replace(/ {2,}/g, " | ");
    expect(row("BTCUSDT:momentum")).toBe("BTCUSDT:momentum | opened | 2023-03-01 03:23 | e7be98dd-5c1a-4b9e-9f3e-2d7c1a0b4e61 | long @ 23423.17 on replay | -");
    expect(row("ETH/USDT:USDT:breakout")).toBe("ETH/USDT:USDT:breakout | scheduled | 2023-03-01 04:23 | 0b7c0f7e-41a2-4d3b-8a53-7e0d6f1c9a20 | short @ 1612.50 on replay | -");
    expect(row("BTCUSDT:notes")).toBe("BTCUSDT:notes | unrecognised | - | - | -");
    expect(row("SOLUSDT:idle")).toBe(`SOLUSDT:idle | nothing | - | - | held by pid ${idle.pid} on host ${HOST} (running)`);
    expect(lines.find((line) => line.startsWith("? "))?.replace(/ {2,}/g, " | ")).toBe(`? (${dir}/ADAUSDT_grid-0123456789abcdef.json) | corrupt | - | - | -`);
    expect(exit.stdout).toContain(
      'BTCUSDT:notes: unrecognised: a value rxtrade does not recognise (expected { version: 1, status, signal }): {"hello":"world"}; a run on this key stops with StoreConflictError; rxtrade store clear BTCUSDT:notes removes it.\n',
    );
    expect(exit.stdout).toContain(
      `? (${dir}/ADAUSDT_grid-0123456789abcdef.json): corrupt: the file belongs to key "XRPUSDT:grid", whose file is XRPUSDT_grid-`,
    );
    expect(exit.stdout).toContain(`its key is unknown: delete ${dir}/ADAUSDT_grid-0123456789abcdef.json by hand if it is not needed.\n`);
    expect(exit.stdout).toContain(`Corrupt files moved aside earlier (inspect, then delete by hand): ${dir}/ADAUSDT_grid-0123456789abcdef.json.corrupt-2023-03-02T10-00-00-000Z\n`);
  });

  it("--json: the same for scripts; a lock left by a killed process is `gone`; nothing is changed by listing", async () => {
    const dir = await seededStore();
    const idle = await holdKey(dir, "SOLUSDT:idle");
    const before = (await readdir(dir)).sort();
    const listed = await listJson(dir);
    expect(listed.store).toBe(dir);
    expect(listed.exists).toBe(true);
    expect(listed.keys.map((k) => [k.key, k.state])).toEqual([
      ["BTCUSDT:momentum", "opened"],
      ["BTCUSDT:notes", "unrecognised"],
      ["ETH/USDT:USDT:breakout", "scheduled"],
      ["SOLUSDT:idle", "nothing"],
      [null, "corrupt"],
    ]);
    const [momentum, , breakout, solana, corrupt] = listed.keys;
    expect(momentum).toMatchObject({ file: fileStore(dir).pathOf("BTCUSDT:momentum"), since: "2023-03-01T03:23:00.000Z", lock: null });
    expect(momentum?.signal).toEqual(signal("BTCUSDT", "momentum"));
    expect(breakout).toMatchObject({ since: "2023-03-01T04:23:00.000Z", signal: { id: "0b7c0f7e-41a2-4d3b-8a53-7e0d6f1c9a20", position: "short" } });
    expect(solana?.lock).toMatchObject({ file: `${fileStore(dir).pathOf("SOLUSDT:idle")}.lock`, pid: idle.pid, hostname: HOST, holder: "running" });
    expect(Date.parse(solana?.lock?.since as string)).toBeGreaterThan(Date.now() - 60_000);
    expect(corrupt?.reason).toMatch(/^the file belongs to key "XRPUSDT:grid", whose file is XRPUSDT_grid-[0-9a-f]{16}\.json$/);
    expect(listed.quarantined).toEqual([join(dir, "ADAUSDT_grid-0123456789abcdef.json.corrupt-2023-03-02T10-00-00-000Z")]);
    // Read-only: the corrupt file is not moved aside, the lock is not touched.
    expect((await readdir(dir)).sort()).toEqual(before);

    await killed(idle);
    const after = await listJson(dir);
    expect(after.keys.find((k) => k.key === "SOLUSDT:idle")?.lock).toMatchObject({ pid: idle.pid, hostname: HOST, holder: "gone" });
    const table = await here(["store", "list", "--store", dir]);
    expect(table.stdout).toMatch(new RegExp(`^SOLUSDT:idle +nothing +- +- +left by pid ${idle.pid} on host ${HOST} \\(gone; taken over at the next start\\)$`, "m"));
  });

  it("an empty store, a missing folder (with where the demo's store is), and a file given as the folder", async () => {
    const empty = await newDir("empty");
    expect(await here(["store", "list", "--store", empty])).toMatchObject({ code: 0, stdout: `Store ${empty} holds no keys.\n`, stderr: "" });
    const cwd = await newDir("fresh");
    expect(await run(cli, ["store", "list"], { cwd })).toMatchObject({
      code: 0,
      stdout: "No store folder at ./.rxtrade: nothing is stored there. (the demo keeps its own store: rxtrade store list --store ./.rxtrade-demo)\n",
    });
    expect(JSON.parse((await run(cli, ["store", "list", "--json"], { cwd })).stdout)).toEqual({ store: join(cwd, ".rxtrade"), exists: false, keys: [], quarantined: [] });
    await writeFile(join(cwd, "afile"), "");
    const file = await run(cli, ["store", "list", "--store", "afile"], { cwd });
    expect(file.code).toBe(2);
    expect(file.stderr).toBe("rxtrade store: --store afile is a file, not a store folder; e.g. --store ./.rxtrade\nRun 'rxtrade store --help' for the flags.\n");
  });
});

describe("rxtrade store clear", () => {
  it("refused while a running process holds the key: exit 1, naming its pid and host and what to do; nothing removed", async () => {
    const dir = await seededStore();
    const store = fileStore(dir);
    const momentum = await holdKey(dir, "BTCUSDT:momentum");
    const exit = await here(["store", "clear", "BTCUSDT:momentum", "--store", dir, "--yes"]);
    expect(exit.code).toBe(1);
    expect(exit.stdout).toBe("");
    expect(exit.stderr).toBe(
      `rxtrade store: cannot clear BTCUSDT:momentum: it is locked by process ${momentum.pid} on host ${HOST}, which is running — an rxtrade run trades this key now. ` +
        `Stop that run first (Ctrl-C in its terminal, or kill -TERM ${momentum.pid}: a graceful stop lets an open signal run to its close), then clear the key if it still holds something.\n`,
    );
    expect(existsSync(store.pathOf("BTCUSDT:momentum"))).toBe(true);

    // Once that process is gone (killed: its lock is left behind), the key is cleared and the stale lock with it.
    await killed(momentum);
    const cleared = await here(["store", "clear", "BTCUSDT:momentum", "--store", dir, "--yes"]);
    expect(cleared).toMatchObject({ code: 0, stderr: "" });
    expect(cleared.stdout).toBe(
      `Removed BTCUSDT:momentum from ${dir} (it held opened signal e7be98dd-5c1a-4b9e-9f3e-2d7c1a0b4e61 (long @ 23423.17 on replay, since 2023-03-01 03:23 UTC), and the lock left by process ${momentum.pid}).\n`,
    );
    expect(existsSync(store.pathOf("BTCUSDT:momentum"))).toBe(false);
    expect(existsSync(`${store.pathOf("BTCUSDT:momentum")}.lock`)).toBe(false);
    // The other keys are untouched.
    expect((await listJson(dir)).keys.map((k) => k.key)).toEqual(["BTCUSDT:notes", "ETH/USDT:USDT:breakout", null]);
  });

  it("without a terminal and without --yes: exit 2, saying to pass --yes; with --yes: removed", async () => {
    const dir = await seededStore();
    const refused = await here(["store", "clear", "ETH/USDT:USDT:breakout", "--store", dir]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(
      `rxtrade store: not asking for a confirmation without a terminal: pass --yes to remove ETH/USDT:USDT:breakout from ${dir}; it holds scheduled (limit entry) signal 0b7c0f7e-41a2-4d3b-8a53-7e0d6f1c9a20 (short @ 1612.50 on replay, since 2023-03-01 04:23 UTC)\n` +
        "Run 'rxtrade store --help' for the flags.\n",
    );
    expect(await fileStore(dir).read("ETH/USDT:USDT:breakout")).toMatchObject({ status: "scheduled" });

    const removed = await here(["store", "clear", "ETH/USDT:USDT:breakout", "--store", dir, "-y"]);
    expect(removed.code).toBe(0);
    expect(await fileStore(dir).read("ETH/USDT:USDT:breakout")).toBeNull();
    // An unrecognised value is cleared the same way; so is a corrupt file, by the key a run names it with.
    expect((await here(["store", "clear", "BTCUSDT:notes", "--store", dir, "--yes"])).code).toBe(0);
    const corrupt = fileStore(dir).pathOf("DOGEUSDT:grid");
    await writeFile(corrupt, "{");
    const cleared = await here(["store", "clear", "DOGEUSDT:grid", "--store", dir, "--yes"]);
    expect(cleared).toMatchObject({ code: 0, stdout: expect.stringContaining("(it held a corrupt file (the file is not JSON (") });
    expect(existsSync(corrupt)).toBe(false);
    expect((await listJson(dir)).keys.map((k) => k.key)).toEqual(["BTCUSDT:momentum", null]);
  });

  it("on a terminal it asks first: anything but y/yes keeps the key (exit 1), yes removes it", async () => {
    const dir = await seededStore();
    const args = ["store", "clear", "BTCUSDT:momentum", "--store", dir];
    const question = `Remove BTCUSDT:momentum from ${relative(process.cwd(), dir).startsWith("..") ? dir : relative(process.cwd(), dir)}? It holds opened signal e7be98dd-5c1a-4b9e-9f3e-2d7c1a0b4e61 (long @ 23423.17 on replay, since 2023-03-01 03:23 UTC); rxtrade will no longer monitor that signal. [y/N] `;

    const no = await inProcess(args, { tty: true, answer: "n\n" });
    expect(no).toMatchObject({ code: 1, err: question });
    expect(no.out).toBe("Not removed: BTCUSDT:momentum still holds opened signal e7be98dd-5c1a-4b9e-9f3e-2d7c1a0b4e61 (long @ 23423.17 on replay, since 2023-03-01 03:23 UTC).\n");
    // The input ends without an answer (Ctrl-D): no.
    expect(await inProcess(args, { tty: true, answer: "" })).toMatchObject({ code: 1, err: question });
    expect(await fileStore(dir).read("BTCUSDT:momentum")).toMatchObject({ status: "opened" });

    const yes = await inProcess(args, { tty: true, answer: "yes\n" });
    expect(yes).toMatchObject({ code: 0, err: question });
    expect(yes.out).toMatch(/^Removed BTCUSDT:momentum from .* \(it held opened signal e7be98dd-5c1a-4b9e-9f3e-2d7c1a0b4e61 /);
    expect(await fileStore(dir).read("BTCUSDT:momentum")).toBeNull();

    // Not a signal: no word of monitoring.
    expect(await inProcess(["store", "clear", "BTCUSDT:notes", "--store", dir], { tty: true, answer: "no\n" })).toMatchObject({
      code: 1,
      err: question.replace(/^Remove BTCUSDT:momentum/, "Remove BTCUSDT:notes").replace(/It holds .*$/, "It holds a value rxtrade does not recognise. [y/N] "),
    });

    // stdin not a terminal: nothing is asked, nothing is read.
    expect(await inProcess(["store", "clear", "BTCUSDT:notes", "--store", dir], { tty: false, answer: "y\n" })).toMatchObject({ code: 2 });
    expect(await fileStore(dir).read("BTCUSDT:notes")).toEqual({ hello: "world" });
  });

  it.each([
    [["store"], "rxtrade store: a subcommand is required: list or clear, e.g. rxtrade store list"],
    [["store", "lsit"], 'rxtrade store: unknown subcommand "lsit"; did you mean list? (subcommands: list, clear)'],
    [["store", "clear"], "rxtrade store: store clear needs the key to remove, e.g. rxtrade store clear BTCUSDT:momentum (rxtrade store list shows the keys)"],
    [["store", "clear", "a:b", "c:d"], 'rxtrade store: store clear removes one key at a time, got 2: "a:b" "c:d"'],
    [["store", "list", "--yes"], "rxtrade store: unknown flag --yes"],
    [["store", "clear", "BTCUSDT:momentum", "--store", "./nowhere", "--yes"], 'rxtrade store: --store ./nowhere: no such folder, so no key "BTCUSDT:momentum" to clear'],
  ])("rxtrade %j: exit 2 with the fix", async (args, message) => {
    expect(await inProcess(args, { tty: false })).toEqual({ code: 2, out: "", err: `${message}\nRun 'rxtrade store --help' for the flags.\n` });
  });

  it("an unknown key: exit 2 with the keys there and the closest one", async () => {
    const dir = await seededStore();
    const exit = await inProcess(["store", "clear", "BTCUSDT:momentom", "--store", dir, "--yes"], { tty: false });
    expect(exit.code).toBe(2);
    expect(exit.err).toBe(
      `rxtrade store: no key "BTCUSDT:momentom" in ${dir}; did you mean BTCUSDT:momentum? (keys: BTCUSDT:momentum, BTCUSDT:notes, ETH/USDT:USDT:breakout)\nRun 'rxtrade store --help' for the flags.\n`,
    );
  });
});

describe("the stuck key of issue 10: a demo killed with a position open", () => {
  it("store list shows the demo's signal, held while the demo runs and left once it is killed; store clear frees the key", async () => {
    const cwd = await newDir("demo");
    const demo = new Child(cli, ["demo", "--strategy", hold, "--speed", "1", "--store", "store"], { cwd });
    const [, opened, id] = (await demo.waitFor(new RegExp(`^(\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d)  OPENED +long +@ [\\d.]+ .*  (${ID})$`, "m"))) as [string, string, string];
    const pid = (demo as unknown as { process: ChildProcess }).process.pid as number;

    const running = await listJson(join(cwd, "store"));
    expect(running.keys).toHaveLength(1);
    expect(running.keys[0]).toMatchObject({ key: "BTCUSDT:hold", state: "opened", signal: { id, exchangeName: "replay" }, lock: { pid, hostname: HOST, holder: "running" } });
    expect(running.keys[0]?.since?.slice(0, 16).replace("T", " ")).toBe(opened);
    const locked = await run(cli, ["store", "clear", "BTCUSDT:hold", "--store", "store", "--yes"], { cwd });
    expect(locked.code).toBe(1);
    expect(locked.stderr).toContain(`it is locked by process ${pid} on host ${HOST}, which is running`);

    demo.kill("SIGKILL");
    await demo.exited;
    const left = await run(cli, ["store", "list", "--store", "store"], { cwd });
    expect(left.stdout).toMatch(new RegExp(`^BTCUSDT:hold +opened +${opened} +${id}  long @ [\\d.]+ on replay +left by pid ${pid} on host ${HOST} \\(gone; taken over at the next start\\)$`, "m"));

    const cleared = await run(cli, ["store", "clear", "BTCUSDT:hold", "--store", "store", "--yes"], { cwd });
    expect(cleared).toMatchObject({ code: 0, stderr: "" });
    expect(cleared.stdout).toMatch(new RegExp(`^Removed BTCUSDT:hold from store \\(it held opened signal ${id} \\(long @ [\\d.]+ on replay, since ${opened} UTC\\), and the lock left by process ${pid}\\)\\.\\n$`));
    expect(await run(cli, ["store", "list", "--store", "store"], { cwd })).toMatchObject({ code: 0, stdout: "Store store holds no keys.\n" });
    // The demo's own clock file is not a key, and stays.
    expect(JSON.parse(await readFile(join(cwd, "store", "demo-clock.json"), "utf8"))).toHaveProperty("clocks");
  });
});
