// Stores
export { indexedDbStore, type IndexedDbStore } from "./indexedDbStore";

// Journals
export { indexedDbJournal, type IndexedDbJournal, type IndexedDbJournalOptions, type IndexedDbJournalWarning } from "./indexedDbJournal";

// Errors (re-exported so instanceof works from this entry)
export * from "../errors";
