// Stores
export { indexedDbStore, type IndexedDbStore } from "./indexedDbStore";

// Errors (re-exported so instanceof works from this entry)
export * from "../errors";
