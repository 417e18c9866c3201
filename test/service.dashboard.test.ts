// The service dashboard (GET / of rxtrade/service) in a real Chromium: Debian's /usr/bin/chromium
// driven by playwright-core, against a service in this process on the bundled exchange at
// --speed 600 (rxtrade run's paced clocks). The page loads with every pair; a trade appears
// without a reload (its closed event over Server-Sent Events, in the events list, the pair's
// row and its equity chart); a drain click with a wrong token is refused and changes nothing;
// with the right token the pair drains (draining, then drained once its signal has closed).
// Without a token the page has no drain controls. Screenshot: test-results/dashboard.png.
//
// Without chromium the test fails under CI (CI set; .ci/run installs it) and is skipped elsewhere.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Candle, memoryStore, type StrategySchema } from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandles } from "rxtrade/node";
import { bundledExchange, pacedScheduler, type PacedScheduler, type Service, startService } from "rxtrade/service";

const root = fileURLToPath(new URL("..", import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
const inCi = Boolean(process.env.CI) && process.env.CI !== "false";
const TOKEN = "dashboard-test-token-0123456789abcdef";
const MINUTE = 60_000;

if (!haveChromium && !inCi) {
  console.warn(`service.dashboard.test.ts: skipped, ${CHROMIUM} is missing (apt-get install -y chromium, or set CHROMIUM_PATH)`);
}

let browser: Browser;
let candles: Candle[];
let service: Service | undefined;
let clocks: PacedScheduler[] = [];

/** Every third ask a long with TP +0.6 % and SL -0.6 %, living at most 30 simulated minutes. */
function everyThird(): StrategySchema {
  let asked = 0;
  return {
    strategyName: "dash",
    interval: "1m",
    getSignal: (_symbol, _when, context) =>
      ++asked % 3 === 0 ? { position: "long", priceTakeProfit: context.currentPrice * 1.006, priceStopLoss: context.currentPrice * 0.994, minuteEstimatedTime: 30 } : null,
  };
}

/** BTCUSDT and ETHUSDT on the bundled exchange, each on its own clock at 600 simulated minutes per second. */
async function start(token?: string): Promise<string> {
  const symbols = ["BTCUSDT", "ETHUSDT"];
  clocks = symbols.map(() => pacedScheduler({ origin: Date.parse("2023-03-08T12:00Z"), speed: (600 * MINUTE) / 1000 }));
  const strategy = everyThird();
  service = await startService({
    pairs: symbols.map((symbol, i) => ({ symbol, strategy, exchange: bundledExchange(candles, clocks[i]), scheduler: clocks[i] })),
    store: memoryStore(),
    http: { host: "127.0.0.1", port: 0, ...(token === undefined ? {} : { token }) },
    logger: false,
    defaultMetrics: false,
  });
  return `${service.url}/`;
}

/** A page that records its script errors and every answer of 400 or more. */
async function open(url: string): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 820 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("response", (response) => {
    if (response.status() >= 400 && !response.url().includes("/drain")) problems.push(`${response.status()} ${response.url()}`);
  });
  await page.goto(url);
  return { page, problems };
}

describe.skipIf(!haveChromium && !inCi)("the service dashboard in Chromium", () => {
  beforeAll(async () => {
    if (!haveChromium) {
      throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does it) or set CHROMIUM_PATH`);
    }
    candles = await csvCandles(BUNDLED_BTCUSDT_1M);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
      timeout: 15_000,
    });
  }, 30_000);

  afterEach(async () => {
    if (service !== undefined) {
      service.drainAll("test over");
      await service.done;
      service = undefined;
    }
    for (const clock of clocks) clock.stop();
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("shows the pairs, a trade arrives without a reload, and a drain click with the token drains the pair", async () => {
    const url = await start(TOKEN);
    const { page, problems } = await open(url);
    mkdirSync(join(root, "test-results"), { recursive: true });
    try {
      await page.waitForSelector('tr[data-pair="BTCUSDT:dash"]', { timeout: 10_000 });
      await page.waitForSelector('tr[data-pair="ETHUSDT:dash"]');
      await page.waitForSelector('#live[data-state="live"]', { timeout: 10_000 });
      await page.waitForSelector('#health[data-status="ok"]');
      expect(await page.textContent('tr[data-pair="BTCUSDT:dash"] td.pair')).toBe("BTCUSDTdash · bundled");
      // This document stays the same one from here on: nothing below reloads it.
      await page.evaluate(() => ((window as unknown as { loadedOnce: number }).loadedOnce = 1));

      // A trade arrives: a new closed event of BTCUSDT in the list, its row and equity chart follow.
      const closedBefore = await page.locator('#events li[data-kind="closed"][data-pair="BTCUSDT:dash"]').count();
      await page.waitForFunction(
        (before) => document.querySelectorAll('#events li[data-kind="closed"][data-pair="BTCUSDT:dash"]').length > before,
        closedBefore,
        { timeout: 15_000 },
      );
      const event = await page.textContent('#events li[data-kind="closed"][data-pair="BTCUSDT:dash"] .detail');
      expect(event).toMatch(/^(take_profit|stop_loss|time_expired) @ [\d,]+\.\d\d · PnL [+−]?\d+\.\d\d\s%$/);
      await page.waitForSelector('tr[data-pair="BTCUSDT:dash"] td.equity canvas', { timeout: 5000 });
      await page.waitForFunction(() => /^\d+ \(\d+ % won\)$/.test(document.querySelector('tr[data-pair="BTCUSDT:dash"] td:nth-child(7)')?.textContent ?? ""), undefined, {
        timeout: 10_000,
      });
      expect(await page.evaluate(() => (window as unknown as { loadedOnce?: number }).loadedOnce)).toBe(1);

      // An open signal shows its entry, TP and SL, and the distances to them from the last price.
      const holding = page.locator('tr[data-position="opened"]').first();
      await holding.waitFor({ timeout: 10_000 });
      expect(await holding.locator("td.signal").textContent()).toMatch(/^long opened @ [\d,]+\.\d\d · TP [\d,]+\.\d\d · SL [\d,]+\.\d\d$/);

      // A wrong token: refused, said on the page, nothing drains.
      page.on("dialog", (dialog) => void dialog.accept());
      await page.fill("#token", "not-the-token");
      await page.click('tr[data-pair="BTCUSDT:dash"] button.drain');
      await page.waitForSelector('#message[data-kind="error"]');
      expect(await page.textContent("#message")).toBe(
        "Drain refused (403): wrong token: send the service's --token (or RXTRADE_TOKEN) as Authorization: Bearer <token>",
      );
      expect(service!.list({ equity: false }).map((pair) => pair.draining)).toEqual([false, false]);

      // The token: ETHUSDT drains — draining while its signal runs to its close, then drained.
      await page.fill("#token", TOKEN);
      await page.click('tr[data-pair="ETHUSDT:dash"] button.drain');
      await page.waitForSelector('tr[data-pair="ETHUSDT:dash"]:is([data-status="draining"], [data-status="drained"])', { timeout: 5000 });
      expect(await page.textContent("#message")).toBe("Draining ETHUSDT:dash.");
      expect(service!.list({ equity: false }).map((pair) => [pair.id, pair.draining])).toEqual([
        ["BTCUSDT:dash", false],
        ["ETHUSDT:dash", true],
      ]);
      await page.waitForSelector('tr[data-pair="ETHUSDT:dash"][data-status="drained"]', { timeout: 10_000 });
      await page.waitForSelector('#events li[data-kind="done"][data-pair="ETHUSDT:dash"]');
      expect(await page.locator('#events li[data-kind="draining"][data-pair="ETHUSDT:dash"]').count()).toBe(1);
      expect(await page.isDisabled('tr[data-pair="ETHUSDT:dash"] button.drain')).toBe(true);
      expect(service!.list({ equity: false }).map((pair) => pair.status)).toEqual(["running", "done"]);
      expect(await page.getAttribute('tr[data-pair="BTCUSDT:dash"]', "data-status")).toBe("running");

      await page.screenshot({ path: join(root, "test-results/dashboard.png"), fullPage: true });
      expect(problems).toEqual([]);
    } catch (error) {
      await page.screenshot({ path: join(root, "test-results/dashboard-failure.png"), fullPage: true }).catch(() => undefined);
      throw error;
    } finally {
      await page.context().close();
    }
  }, 40_000);

  it("has no drain controls when the service has no token", async () => {
    const url = await start();
    const { page, problems } = await open(url);
    try {
      await page.waitForSelector('tr[data-pair="BTCUSDT:dash"]', { timeout: 10_000 });
      await page.waitForSelector('#live[data-state="live"]', { timeout: 10_000 });
      expect(await page.locator("button").count()).toBe(0);
      expect(await page.locator("#token, #drain-all, .drain-only").count()).toBe(0);
      expect(problems).toEqual([]);
    } finally {
      await page.context().close();
    }
  }, 30_000);
});
