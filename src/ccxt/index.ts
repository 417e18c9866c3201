// Exchanges
export { ccxtExchange, type CcxtExchange, type CcxtExchangeOptions } from "./ccxtExchange";

// Errors (re-exported so instanceof works from this entry)
export * from "../errors";
