// rxtrade in a browser page: the live loop on replayed BTCUSDT minutes, on an accelerated
// clock, with the open signal in IndexedDB and every trade in a journal in IndexedDB (its
// history survives a reload). Served by `npm run example:browser`; driven in Chromium by
// test/browser.test.ts.
import { Subject, type SchedulerLike, type Subscription } from "rxjs";
import {
  acceleratedScheduler,
  type Candle,
  getConfig,
  listenError,
  liveTicks$,
  pnl,
  replayExchange,
  type SignalRow,
  StoreLockedError,
  type JournalEntry,
  type StoredState,
  type TickResult,
} from "rxtrade";
import { indexedDbJournal, indexedDbStore } from "rxtrade/browser";
import csvUrl from "../../data/BTCUSDT_1m_2023-03-01_2023-03-21.csv.gz?url";
import { momentumStrategy } from "../strategies/momentum";
import { fetchCandles } from "./candles";
import { drawChart } from "./chart";
import { type LoggedEvent, session } from "./session";

const SYMBOL = "BTCUSDT";
const KEY = `${SYMBOL}:momentum`; // the store key: symbol:strategyName
const SPEEDS = [60, 600, 1800, 3000, 6000]; // simulated ms per real ms
const store = indexedDbStore("rxtrade-example", "signals");
// Every scheduled, opened, closed and cancelled result, and each run's start and stop.
const JOURNAL_DB = "rxtrade-example-journal";
let journal = indexedDbJournal({ dbName: JOURNAL_DB });

const $ = <T extends Element = HTMLElement>(selector: string): T => document.querySelector(selector) as T;
const ui = {
  start: $<HTMLButtonElement>("#start"),
  stop: $<HTMLButtonElement>("#stop"),
  reset: $<HTMLButtonElement>("#reset"),
  speed: $<HTMLSelectElement>("#speed"),
  status: $("#status"),
  simTime: $("#sim-time"),
  price: $("#price"),
  summary: $("#summary"),
  resumed: $("#resumed"),
  open: $("#open-signal"),
  chart: $<SVGSVGElement>("#chart"),
  closed: $("#closed-list tbody"),
  history: $("#history tbody"),
  errors: $("#errors"),
};

// ?speed=3000 in the address wins; else the select's last choice (kept in the address on change).
const params = new URLSearchParams(location.search);
let speed = Number(params.get("speed")) || 600;
for (const s of new Set([...SPEEDS, speed])) ui.speed.append(new Option(`${s}× (${(s / 60).toFixed(s < 60 ? 2 : 0)} min/s)`, String(s), false, s === speed));

let candles: Candle[] = [];
let run: { clock: SchedulerLike; stop$: Subject<void>; subscription: Subscription } | undefined;
let last: TickResult | undefined;
let open: SignalRow | null = null;
/** The signal found in the store at start, until the engine reports it (then it is "resumed"). */
let resuming: string | undefined;

const fmt = (n: number, digits = 2) => n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const time = (ms: number) => new Date(ms).toISOString().replace("T", " ").slice(0, 19);
const signed = (p: number) => `<span class="${p >= 0 ? "pos" : "neg"}">${p >= 0 ? "+" : ""}${fmt(p, 3)} %</span>`;
const simNow = () => (run !== undefined ? run.clock.now() : (session.clock() ?? candles[0]?.timestamp ?? 0));

function setStatus(mode: string, text: string): void {
  ui.status.dataset.mode = mode;
  ui.status.textContent = text;
  ui.start.disabled = mode === "loading" || run !== undefined;
  ui.stop.disabled = mode !== "running";
  ui.reset.disabled = mode === "loading" || run !== undefined;
  ui.speed.disabled = run !== undefined;
}

async function start(stopAtOnce = false, attempt = 1): Promise<void> {
  if (run !== undefined || candles.length === 0) return;
  const first = candles[0] as Candle;
  const origin = session.clock() ?? first.timestamp + 5 * 60_000; // five closed minutes for the VWAP
  // Peek at the store before the stream takes its lock, to say what it resumes.
  const stored = (await store.read(KEY).catch(() => null)) as StoredState | null; // a corrupt entry: the stream reports it
  resuming = stored?.signal.id;
  const clock = acceleratedScheduler({ origin, speed });
  const stop$ = new Subject<void>();
  const end = (candles.at(-1) as Candle).timestamp + 2 * 60_000;
  session.setMode(stopAtOnce ? "stopping" : "running");
  const subscription = liveTicks$(SYMBOL, momentumStrategy(), { exchange: replayExchange(candles, clock), store, journal, scheduler: clock, stop$ }).subscribe({
    next: (result) => {
      onTick(result);
      if (clock.now() > end && run !== undefined) {
        run.subscription.unsubscribe();
        run = undefined;
        session.setMode("idle");
        setStatus("ended", "end of the data: stopped");
      }
    },
    error: (error: unknown) => {
      run = undefined;
      // A reload can start before the previous document's Web Lock is released: try again.
      if (error instanceof StoreLockedError && attempt < 40) {
        setStatus("waiting", "waiting for the previous page's lock…");
        setTimeout(() => void start(stopAtOnce, attempt + 1), 250);
        return;
      }
      session.setMode("idle");
      setStatus("error", `stopped by an error: ${(error as Error).message}`);
    },
    complete: () => {
      session.saveClock(clock.now());
      run = undefined;
      session.setMode("idle");
      setStatus("stopped", "stopped gracefully");
      render();
      void renderHistory(); // the run's stop entry
    },
  });
  if (subscription.closed) return; // ended synchronously (an error, handled above)
  run = { clock, stop$, subscription };
  setStatus("running", "running");
  void renderHistory(); // the run's start entry
  if (stopAtOnce) stop();
  requestAnimationFrame(frame);
}

function stop(): void {
  if (run === undefined) return;
  session.setMode("stopping");
  setStatus("stopping", open === null ? "stopping…" : `stopping: no new signal; waiting for ${open.id} to close`);
  run.stop$.next(); // with nothing open, the stream completes right here
}

function onTick(result: TickResult): void {
  last = result;
  session.saveClock(result.timestamp);
  if (resuming !== undefined) {
    if (result.signal?.id === resuming) {
      ui.resumed.textContent = `resumed ${resuming}`;
      ui.resumed.dataset.id = resuming;
    }
    resuming = undefined;
  }
  // A trade is in the journal before the stream emits it: show the history as the journal has it.
  if (result.action !== "idle" && result.action !== "active" && !(result.action === "scheduled" && open?.id === result.signal.id)) void renderHistory();
  if (result.action === "opened") {
    const { id, position, priceOpen } = result.signal;
    session.log({ type: "opened", id, position, at: result.timestamp, price: priceOpen, priceOpen });
  } else if (result.action === "closed") {
    session.log({
      type: "closed",
      id: result.signal.id,
      position: result.signal.position,
      at: result.closeTimestamp,
      price: result.pnl.priceClose,
      priceOpen: result.signal.priceOpen,
      reason: result.closeReason,
      pnlPercentage: result.pnl.pnlPercentage,
    });
  }
  const wasOpen = open;
  open = result.action === "opened" || result.action === "active" || result.action === "scheduled" ? result.signal : null;
  if (wasOpen !== null && open === null && ui.status.dataset.mode === "stopping") setStatus("stopping", "stopping…");
  if (open === null && ui.resumed.dataset.id !== undefined && result.action === "closed") ui.resumed.textContent += " (closed)";
  render();
}

function render(): void {
  ui.simTime.textContent = time(simNow());
  if (last !== undefined) ui.price.textContent = fmt(last.currentPrice);
  const events = session.events();
  const closed = events.filter((e): e is LoggedEvent & { type: "closed" } => e.type === "closed");
  const total = closed.reduce((sum, e) => sum + (e.pnlPercentage ?? 0), 0);
  ui.summary.innerHTML = `${closed.length} / ${signed(total)}`;

  if (open === null) {
    ui.open.textContent = "none";
    delete ui.open.dataset.id;
  } else {
    ui.open.dataset.id = open.id;
    const price = last?.currentPrice ?? open.priceOpen;
    const unrealized = pnl(open.position, open.priceOpen, price, getConfig()).pnlPercentage;
    const progress = last?.action === "active" ? `${fmt(last.percentTp, 0)} % to TP, ${fmt(last.percentSl, 0)} % to SL` : "—";
    ui.open.innerHTML =
      `<table><tr><th>id</th><th>side</th><th>entry</th><th>take profit</th><th>stop loss</th><th>unrealized PnL</th><th>progress</th></tr>` +
      `<tr><td class="id">${open.id}</td><td>${open.position}</td><td>${fmt(open.priceOpen)}</td><td>${fmt(open.priceTakeProfit)}</td>` +
      `<td>${fmt(open.priceStopLoss)}</td><td class="upnl">${signed(unrealized)}</td><td>${progress}</td></tr></table>`;
  }

  const opened = new Map(events.filter((e) => e.type === "opened").map((e) => [e.id, e]));
  ui.closed.replaceChildren(
    ...closed
      .slice()
      .reverse()
      .map((e) => {
        const row = document.createElement("tr");
        row.dataset.id = e.id;
        const at = opened.get(e.id)?.at;
        row.innerHTML =
          `<td title="${e.id}">${e.id.slice(0, 8)}</td><td>${e.position}</td><td>${at === undefined ? "—" : time(at).slice(5, 16)}</td>` +
          `<td>${time(e.at).slice(5, 16)}</td><td>${fmt(e.priceOpen)} → ${fmt(e.price)}</td><td>${e.reason}</td><td>${signed(e.pnlPercentage ?? 0)}</td>`;
        return row;
      }),
  );
  drawChart(ui.chart, candles, simNow(), events, open);
}

// The history, read from the journal (IndexedDB): after a reload it shows every earlier run too.
let historyRead = 0;
async function renderHistory(): Promise<void> {
  const reading = ++historyRead;
  const entries: JournalEntry[] = [];
  try {
    for await (const entry of journal.read(KEY)) entries.push(entry);
  } catch (error) {
    ui.errors.textContent = `cannot read the journal: ${(error as Error).message}`;
    return;
  }
  if (reading !== historyRead) return; // a later read is under way
  ui.history.replaceChildren(
    ...entries
      .filter((e) => e.kind !== "tick")
      .reverse()
      .map((e) => {
        const row = document.createElement("tr");
        row.dataset.kind = e.kind;
        let what: string;
        let detail = "";
        if (e.kind === "trade") {
          const r = e.result;
          row.dataset.action = r.action;
          row.dataset.id = r.signal.id;
          what = r.action.toUpperCase();
          detail =
            r.action === "closed"
              ? `${r.closeReason} @ ${fmt(r.pnl.priceClose)} ${signed(r.pnl.pnlPercentage)}`
              : r.action === "cancelled"
                ? r.cancelReason
                : `${r.signal.position} @ ${fmt(r.signal.priceOpen)}${e.recovered ? " (recovered from the store)" : ""}`;
        } else if (e.kind === "run") {
          row.dataset.event = e.event;
          what = `RUN ${e.event.toUpperCase()}`;
          if (e.resumedSignalId !== undefined) row.dataset.resumed = e.resumedSignalId;
          detail =
            e.event === "start"
              ? [e.resumedSignalId === undefined ? "" : `resumed ${e.resumedSignalId.slice(0, 8)}`, e.recovery?.unfinishedRun ? "the previous run did not stop (a reload)" : ""].filter(Boolean).join("; ")
              : (e.reason ?? "");
        } else what = "TICK";
        const id = row.dataset.id === undefined ? "" : row.dataset.id.slice(0, 8);
        row.innerHTML = `<td>${time(e.at).slice(5, 16)}</td><td>${what}</td><td title="${row.dataset.id ?? ""}">${id}</td><td>${detail}</td>`;
        return row;
      }),
  );
  ui.history.dataset.entries = String(entries.length);
}

// Between ticks the clock moves on: keep the time and the chart current while running.
function frame(): void {
  if (run === undefined) return;
  ui.simTime.textContent = time(run.clock.now());
  requestAnimationFrame(frame);
}

listenError((error) => {
  const line = `${time(simNow())} ${error.name}: ${error.message}`;
  ui.errors.textContent = [line, ...(ui.errors.textContent ?? "").split("\n").filter(Boolean)].slice(0, 5).join("\n");
});

ui.start.addEventListener("click", () => void start());
ui.stop.addEventListener("click", stop);
ui.reset.addEventListener("click", async () => {
  if (run !== undefined) return;
  await store.write(KEY, null);
  // A fresh history too: the journal's database goes.
  await journal.close();
  await new Promise((resolve) => {
    const request = indexedDB.deleteDatabase(JOURNAL_DB);
    request.onsuccess = request.onerror = request.onblocked = resolve;
  });
  journal = indexedDbJournal({ dbName: JOURNAL_DB });
  void renderHistory();
  session.clear();
  open = null;
  last = undefined;
  ui.resumed.textContent = "";
  delete ui.resumed.dataset.id;
  setStatus("idle", "reset: press Start");
  render();
});
ui.speed.addEventListener("change", () => {
  speed = Number(ui.speed.value);
  params.set("speed", String(speed));
  history.replaceState(null, "", `?${params}`);
});
// Keep the clock's exact position when the page goes away mid-run.
addEventListener("pagehide", () => {
  if (run !== undefined) session.saveClock(run.clock.now());
});

try {
  candles = await fetchCandles(csvUrl);
} catch (error) {
  setStatus("error", `cannot load the candles: ${(error as Error).message}`);
  throw error;
}
setStatus("idle", `${candles.length.toLocaleString("en-US")} candles loaded: press Start`);
render();
await renderHistory();
// A run that was going when the page was left (reloaded, closed) goes on where it was.
const mode = session.mode();
if (mode !== "idle") await start(mode === "stopping");
