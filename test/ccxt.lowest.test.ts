// rxtrade/ccxt against the lowest ccxt its peer range admits (package.json peerDependencies:
// ^4.4.33, installed as the devDependency alias ccxt-lowest), on canned binance responses: the
// suite is test/fixtures/ccxtAdapter/suite.ts, with "ccxt" mocked to that version everywhere,
// rxtrade/ccxt's own import of it included. 4.4.33 is the first ccxt with exchange `features`
// (binance's 1000 candles per spot request); `featureValue`, which reads them, came in a later 4.5 release.
import { readFileSync } from "node:fs";
import { expect, it, vi } from "vitest";

vi.mock("ccxt", () => import("ccxt-lowest"));

import ccxt from "ccxt";
import { ccxtExchange } from "rxtrade/ccxt";
import { ccxtAdapterSuite } from "./fixtures/ccxtAdapter/suite";

const json = (path: string) => JSON.parse(readFileSync(new URL(path, import.meta.url), "utf8")) as Record<string, Record<string, string>>;

it("runs on the lowest ccxt of the peer range, also the one rxtrade/ccxt imports for an id", async () => {
  const lowest = json("../node_modules/ccxt-lowest/package.json").version as unknown as string;
  expect(json("../package.json").peerDependencies?.ccxt).toBe(`^${lowest}`);
  expect(ccxt).toBe((await import("ccxt-lowest")).default);
  expect(lowest).not.toBe(json("../node_modules/ccxt/package.json").version);
  expect(await ccxtExchange("binance").instance()).toBeInstanceOf(ccxt.binance);
});

ccxtAdapterSuite(ccxt);
