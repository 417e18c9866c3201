// Issue 13 review, fix 4: rxtrade run's config checks. An id ccxt does not have is a problem
// of the pair's exchange (it was reported under symbol); the store and the exchange ids are
// checked in the same pass as the rest, so every problem is listed at once; a UTF-8 byte order
// mark at the start of the file is skipped; a key given twice (JSON keeps the last silently) is
// a problem of its pair and field; the store's problem suggests the file's "store" key (run has
// no --store flag).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { ExchangeError, setLogger } from "rxtrade";
import { duplicateKeys } from "../src/cli/runCommand";
import { main } from "../src/cli/main";
import { Terminal } from "../src/cli/terminal";

// ccxt itself takes too long to load in a test worker: its exchange for an id it does not have
// fails as rxtrade/ccxt's does (construct: `ccxt has no exchange "<id>"; …`, an ExchangeError).
vi.mock("../src/ccxt/index.ts", () => ({
  ccxtExchange: (id: string) => ({
    exchangeName: id,
    getCandles: () => Promise.reject(new Error("not used")),
    resolveSymbol: () => Promise.reject(new ExchangeError(`ccxt has no exchange ${JSON.stringify(id)}; did you mean bitvavo? (ids are lower case, e.g. "binance")`, { exchangeName: id })),
  }),
}));

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "rxtrade-fix13-config-"));
});
afterAll(async () => {
  setLogger({ warn: () => {}, error: () => {} });
  await rm(work, { recursive: true, force: true });
});

// A store under a file: not a folder rxtrade can write to.
beforeAll(async () => {
  await writeFile(join(work, "afile"), "not a folder");
});

async function run(name: string, text: string): Promise<{ code: number; stderr: string; file: string }> {
  const file = join(work, name);
  await writeFile(file, text);
  let stderr = "";
  const terminal = new Terminal({ write: () => true }, { write: (chunk: string) => ((stderr += chunk), true) });
  const code = await main(["run", file], terminal);
  return { code, stderr, file };
}

it("an unknown ccxt id, a bad tickMs and a store that cannot be written: all three listed at once, the id under exchange, the store's fix the file's key", async () => {
  const { code, stderr, file } = await run(
    "three.json",
    JSON.stringify({
      pairs: [
        { symbol: "BTCUSDT", strategy: "momentum", exchange: "notanexchange" },
        { symbol: "ETHUSDT", strategy: "momentum", exchange: "bundled", tickMs: 5 },
      ],
      store: "./afile/store",
    }),
  );
  expect(code).toBe(2);
  const lines = stderr.split("\n");
  expect(lines[0]).toBe(`rxtrade run: ${file}: 3 problems, nothing started:`);
  expect(lines).toContain("  pairs[1] (ETHUSDT) tickMs: must be a whole number of ms from 100 to 86400000, got 5; e.g. 60001");
  expect(lines.find((line) => line.startsWith("  pairs[0] (BTCUSDT) exchange: ccxt has no exchange \"notanexchange\""))).toBeDefined();
  expect(lines.some((line) => line.startsWith("  pairs[0] (BTCUSDT) symbol:"))).toBe(false);
  const store = lines.find((line) => line.startsWith(`  store: ${join(work, "afile", "store")} is not a folder rxtrade can write to`));
  expect(store).toMatch(/give another in the config file, e\.g\. "store": "\.\/\.rxtrade"$/);
  expect(stderr).not.toContain("--store");
});

it("a UTF-8 byte order mark at the start of the file is skipped (the file is read; its problems listed)", async () => {
  const { code, stderr, file } = await run("bom.json", `\uFEFF${JSON.stringify({ pairs: [{ symbol: "BTCUSDT", strategy: "momentum", exchange: "bundled", tickMs: 5 }] })}`);
  expect(code).toBe(2);
  expect(stderr.split("\n").slice(0, 2)).toEqual([
    `rxtrade run: ${file}: 1 problem, nothing started:`,
    "  pairs[0] (BTCUSDT) tickMs: must be a whole number of ms from 100 to 86400000, got 5; e.g. 60001",
  ]);
});

it("a key given twice in a pair or its config is a problem of that pair and field", async () => {
  const text = '{"pairs":[{"symbol":"BTCUSDT","strategy":"momentum","exchange":"bundled","symbol":"ETHUSDT"},{"symbol":"XRPUSDT","strategy":"momentum","exchange":"bundled","config":{"CC_STALL_TICKS":3,"CC_STALL_TICKS":4}}],"store":"./s"}';
  const { code, stderr, file } = await run("dup.json", text);
  expect(code).toBe(2);
  expect(stderr.split("\n").slice(0, 3)).toEqual([
    `rxtrade run: ${file}: 2 problems, nothing started:`,
    "  pairs[0] (ETHUSDT) symbol: is given twice in this pair (JSON keeps the last one silently): give it once",
    "  pairs[1] (XRPUSDT) config: CC_STALL_TICKS is given twice (JSON keeps the last one silently): give it once",
  ]);
});

it("duplicateKeys finds the keys given twice in any object, with where the object is", () => {
  expect(duplicateKeys('{"a":1,"b":{"c":[1,{"d":"x\\"y","d":2}],"c":3},"a":{"a":1}}')).toEqual([
    { path: ["b", "c", 1], key: "d" },
    { path: ["b"], key: "c" },
    { path: [], key: "a" },
  ]);
  expect(duplicateKeys('{"pairs":[{"k":"a,b:{"},{"k":1}],"store":"x"}')).toEqual([]);
});
