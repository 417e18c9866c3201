// Types for scripts/check-browser.mjs (imported by test/browserCheck.test.ts).
export interface BrowserCheckResult {
  name: string;
  ok: boolean;
  /** One line per problem, each naming the entry and the offending import or global. */
  problems: string[];
}
export interface BrowserEntry {
  name: string;
  file: string;
}
export const BROWSER_ENTRIES: BrowserEntry[];
export function checkBrowserEntry(file: string, options?: { name?: string; load?: boolean }): Promise<BrowserCheckResult>;
export function checkBrowserEntries(entries?: BrowserEntry[], log?: Pick<Console, "log" | "error">): Promise<boolean>;
