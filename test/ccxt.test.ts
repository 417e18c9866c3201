// rxtrade/ccxt against the ccxt this repository develops with (devDependencies), on canned
// binance responses: the suite is test/fixtures/ccxtAdapter/suite.ts.
import ccxt from "ccxt";
import { ccxtAdapterSuite } from "./fixtures/ccxtAdapter/suite";

ccxtAdapterSuite(ccxt);
