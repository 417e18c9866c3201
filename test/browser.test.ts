// The browser example (examples/browser/) in a real Chromium: Debian's /usr/bin/chromium driven
// by playwright-core. Builds the page with Vite, serves it on 127.0.0.1, starts a run on an
// accelerated clock, reloads the page while a signal is open, and checks that the same signal is
// resumed from IndexedDB and closed exactly once, and that the history — read from the journal
// in IndexedDB — survives the reload. Screenshots go to test-results/.
//
// Without chromium the test fails under CI (CI set; .ci/run installs it) and is skipped elsewhere.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
const inCi = Boolean(process.env.CI) && process.env.CI !== "false";
// 30 simulated minutes per second: the first momentum signal opens about three simulated hours
// into the data (~6 s), and lives at most 60 simulated minutes (2 s).
const SPEED = 1800;

interface LoggedEvent {
  type: "opened" | "closed";
  id: string;
}

let outDir: string;
let server: Server;
let url: string;
let browser: Browser;

const MIME: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".gz": "application/gzip",
  ".map": "application/json",
};

/** A static server for the built page, on a free loopback port. */
function serve(dir: string): Promise<Server> {
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname);
    let file = normalize(join(dir, path));
    if (!file.startsWith(dir + sep) && file !== dir) {
      response.writeHead(403).end();
      return;
    }
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, "index.html");
    if (!existsSync(file)) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "content-type": MIME[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
    response.end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

describe.skipIf(!haveChromium && !inCi)("the browser example in Chromium", () => {
  beforeAll(async () => {
    if (!haveChromium) {
      throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does it) or set CHROMIUM_PATH`);
    }
    outDir = mkdtempSync(join(tmpdir(), "rxtrade-browser-example-"));
    // `vite build --config examples/browser/vite.config.ts --outDir <outDir>`, through Vite's API
    // in this process (a process of its own was ~0.3 s of CPU more to start and load Vite).
    const { build } = await import("vite");
    await build({ configFile: join(root, "examples/browser/vite.config.ts"), build: { outDir, emptyOutDir: true }, logLevel: "warn" });
    server = await serve(outDir);
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
      timeout: 15_000,
    });
  }, 40_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  const events = (page: Page): Promise<LoggedEvent[]> =>
    page.evaluate(() => JSON.parse(localStorage.getItem("rxtrade-example:events") ?? "[]") as LoggedEvent[]);

  it("resumes the open signal after a reload and closes it exactly once", async () => {
    const began = Date.now();
    const context = await browser.newContext({ viewport: { width: 900, height: 1000 } });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    mkdirSync(join(root, "test-results"), { recursive: true });

    try {
      await page.goto(`${url}?speed=${SPEED}`);
      await page.waitForSelector('#status[data-mode="idle"]', { timeout: 10_000 });
      await page.click("#start");

      // A signal opens: it is shown, in the store, and in the event log.
      const id = await (await page.waitForSelector("#open-signal[data-id]", { timeout: 20_000 })).getAttribute("data-id");
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      await page.reload();

      // The history survives the reload: the journal (IndexedDB) still has the open.
      await page.waitForSelector(`#history tr[data-action="opened"][data-id="${id}"]`, { timeout: 10_000 });
      // The new page resumes that signal from IndexedDB (its run's start entry says so: below).
      await page.waitForSelector(`#resumed[data-id="${id}"]`, { timeout: 10_000 });
      expect(await page.textContent("#resumed")).toContain(`resumed ${id}`);
      expect((await events(page)).filter((e) => e.id === id).map((e) => e.type)).toEqual(["opened"]);
      await page.screenshot({ path: join(root, "test-results/browser-example-resumed.png"), fullPage: true });

      // It closes, once; then a graceful stop (which waits for any newer signal to close).
      await page.waitForSelector(`#closed-list tr[data-id="${id}"]`, { timeout: 15_000 });
      await page.click("#stop");
      await page.waitForSelector('#status[data-mode="stopped"]', { timeout: 15_000 });
      await page.screenshot({ path: join(root, "test-results/browser-example.png"), fullPage: true });

      const log = await events(page);
      expect(log.filter((e) => e.id === id).map((e) => e.type)).toEqual(["opened", "closed"]);
      // Every signal of the run: opened once, then closed once; nothing left open after the stop.
      const ids = [...new Set(log.map((e) => e.id))];
      for (const each of ids) expect(log.filter((e) => e.id === each).map((e) => e.type)).toEqual(["opened", "closed"]);
      expect(await page.locator(`#closed-list tr[data-id="${id}"]`).count()).toBe(1);
      expect(await page.locator("#closed-list tbody tr").count()).toBe(ids.length);
      expect(await page.getAttribute("#open-signal", "data-id")).toBeNull();

      // The history from the journal: both runs' trades, each once, and the runs' starts and stop.
      await page.waitForSelector('#history tr[data-kind="run"][data-event="stop"]', { timeout: 10_000 });
      const history = await page.$$eval("#history tbody tr", (rows) =>
        rows.map((row) => ({ ...(row as HTMLElement).dataset })).reverse(),
      );
      const trades = history.filter((row) => row.kind === "trade");
      expect(trades.filter((row) => row.id === id).map((row) => row.action)).toEqual(["opened", "closed"]);
      for (const each of ids) expect(trades.filter((row) => row.id === each).map((row) => row.action)).toEqual(["opened", "closed"]);
      expect(trades).toHaveLength(2 * ids.length);
      expect(history.filter((row) => row.kind === "run").map((row) => [row.event, row.resumed])).toEqual([
        ["start", undefined],
        ["start", id],
        ["stop", undefined],
      ]);
      const stored = await page.evaluate(
        () =>
          new Promise<unknown[]>((resolve, reject) => {
            const request = indexedDB.open("rxtrade-example");
            request.onerror = () => reject(request.error);
            request.onsuccess = () => {
              const keys = request.result.transaction("signals").objectStore("signals").getAllKeys();
              keys.onsuccess = () => resolve(keys.result);
              keys.onerror = () => reject(keys.error);
            };
          }),
      );
      expect(stored).toEqual([]);
      expect(pageErrors).toEqual([]);
      console.log(`browser example: signal ${id} resumed after a reload and closed once, journaled once; ${ids.length} signal(s) in ${((Date.now() - began) / 1000).toFixed(1)} s`);
    } catch (error) {
      await page.screenshot({ path: join(root, "test-results/browser-example-failure.png"), fullPage: true }).catch(() => undefined);
      throw error;
    } finally {
      await context.close();
    }
  }, 40_000);
});
