// The rxtrade service dashboard (GET / of rxtrade/service): plain JavaScript, no build step.
// It reads api/pairs (state, open signals, equity curves) and health, follows api/events
// (Server-Sent Events) for the latest events, and drains pairs with POST api/pairs/<id>/drain
// and POST api/drain, sending the token the operator types (kept for this tab only).
"use strict";

(() => {
  const POLL_MS = 5000;
  const MAX_EVENTS = 200;
  const TOKEN_KEY = "rxtrade-service-token";
  const drainOn = document.body.dataset.drain === "on";
  const tbody = document.querySelector("#pairs tbody");
  const eventList = document.getElementById("events");
  const tokenInput = document.getElementById("token");
  /** id -> { pair, tr, cells, chart, equity: [xs (s), ys] } */
  const rows = new Map();

  // Without a token configured on the service the drain controls are not on the page at all.
  if (!drainOn) for (const element of document.querySelectorAll(".drain-only")) element.remove();
  else {
    tokenInput.value = sessionStorage.getItem(TOKEN_KEY) ?? "";
    document.getElementById("drain-all").addEventListener("click", () => drain("api/drain", "every pair (the service stops once they have)"));
  }

  // ---- formatting ----
  const number = (value, digits) =>
    value === null || value === undefined || !Number.isFinite(value) ? "–" : value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const price = (value) => (value === null || value === undefined ? "–" : number(value, Math.abs(value) >= 100 ? 2 : Math.abs(value) >= 1 ? 4 : 8));
  const percent = (value) => (value === null || value === undefined ? "–" : `${value > 0 ? "+" : value < 0 ? "−" : ""}${number(Math.abs(value), 2)}\u00a0%`);
  const time = (iso) => (iso ? iso.replace("T", " ").replace(/\.\d+Z$|Z$/, "") : "");
  const sign = (value) => (value > 0 ? "up" : value < 0 ? "down" : "none");

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function show(text, kind) {
    const message = document.getElementById("message");
    message.textContent = text;
    message.dataset.kind = kind ?? "info";
    message.hidden = false;
  }

  /** What the status column says: running, stalled, draining, drained (a pair's done), failed. */
  function statusOf(pair) {
    if (pair.status === "done") return "drained";
    if (pair.status === "failed") return "failed";
    if (pair.draining) return "draining";
    return pair.status;
  }

  // ---- the pairs table ----
  function rowFor(pair) {
    let row = rows.get(pair.id);
    if (row !== undefined) return row;
    const tr = element("tr");
    tr.dataset.pair = pair.id;
    const cells = {
      pair: element("td", "pair"),
      status: element("td"),
      price: element("td", "num"),
      signal: element("td", "signal"),
      toTp: element("td", "num"),
      toSl: element("td", "num"),
      closed: element("td", "num"),
      pnl: element("td", "num"),
      equity: element("td", "equity"),
    };
    cells.pair.append(element("strong", "", pair.symbol), element("small", "", `${pair.strategy} · ${pair.exchange}`));
    cells.status.append(element("span", "badge"));
    for (const cell of Object.values(cells)) tr.append(cell);
    if (drainOn) {
      const button = element("button", "danger drain", "Drain");
      button.type = "button";
      button.title = `Drain ${pair.id}: no new signal; what is open runs to its close`;
      button.addEventListener("click", () => drain(`api/pairs/${encodeURIComponent(pair.id)}/drain`, pair.id));
      const cell = element("td");
      cell.append(button);
      tr.append(cell);
      cells.drain = button;
    }
    tbody.append(tr);
    row = { pair, tr, cells, chart: undefined, visible: false, equity: [[], []] };
    rows.set(pair.id, row);
    chartWatch.observe(cells.equity);
    return row;
  }

  function render(row) {
    const { pair, tr, cells } = row;
    const status = statusOf(pair);
    tr.dataset.status = status;
    tr.dataset.position = pair.position;
    const badge = cells.status.firstChild;
    badge.dataset.status = status;
    badge.textContent = status;
    badge.title = pair.error ? `${pair.error.kind}: ${pair.error.message}` : pair.lastTickAt ? `last tick ${time(pair.lastTickAt)} (${number(pair.lastTickAgeSeconds, 1)} s ago)` : "no tick yet";
    cells.price.textContent = price(pair.price);
    cells.signal.replaceChildren();
    const signal = pair.signal;
    if (signal) {
      const side = element("span", "side", `${signal.position} ${signal.status}`);
      side.dataset.position = signal.position;
      cells.signal.append(side, ` @ ${price(signal.priceOpen)} · TP ${price(signal.priceTakeProfit)} · SL ${price(signal.priceStopLoss)}`);
      cells.signal.title = `${signal.id}${signal.note ? ` — ${signal.note}` : ""}`;
    } else cells.signal.append(element("span", "none", "none"));
    // The sign says which way the price must move; the colour, which target it is.
    for (const [cell, value, kind] of [
      [cells.toTp, signal?.toTakeProfitPercent, "up"],
      [cells.toSl, signal?.toStopLossPercent, "down"],
    ]) {
      cell.textContent = percent(value);
      cell.className = `num ${value === undefined ? "none" : kind}`;
    }
    const stats = pair.statistics;
    cells.closed.textContent = stats.totalClosed === 0 ? "0" : `${stats.totalClosed} (${number(stats.winRate, 0)} % won)`;
    cells.pnl.textContent = percent(stats.totalPnl);
    cells.pnl.className = `num ${sign(stats.totalPnl)}`;
    if (cells.drain) cells.drain.disabled = status === "drained" || status === "failed" || status === "draining";
  }

  // ---- equity charts (uPlot), made when their cell first scrolls into view ----
  const chartWatch = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      chartWatch.unobserve(entry.target);
      const row = rows.get(entry.target.parentElement.dataset.pair);
      if (row) {
        row.visible = true;
        drawEquity(row);
      }
    }
  });

  function setEquity(row, points) {
    row.equity = [points.map((point) => point[0] / 1000), points.map((point) => point[1])];
    drawEquity(row);
  }

  function drawEquity(row) {
    const cell = row.cells.equity;
    const [xs] = row.equity;
    if (xs.length === 0) {
      row.chart?.destroy();
      row.chart = undefined;
      cell.replaceChildren(element("span", "empty", "no close yet"));
      return;
    }
    if (row.chart) {
      row.chart.setData(row.equity);
      return;
    }
    if (!row.visible || typeof uPlot !== "function") return;
    cell.replaceChildren();
    row.chart = new uPlot(
      {
        width: 260,
        height: 70,
        legend: { show: false },
        cursor: { show: false },
        axes: [{ show: false }, { size: 48, gap: 2, space: 18, ticks: { show: false }, font: "10px system-ui", values: (_, ticks) => ticks.map((tick) => `${Number(tick.toFixed(2))}%`) }],
        // The curve against its zero line: the range always holds 0, with a margin.
        scales: {
          x: { time: true },
          y: {
            range: (_, min, max) => {
              const low = Math.min(0, min);
              const high = Math.max(0, max);
              const margin = (high - low) * 0.12 || 1;
              return [low - margin, high + margin];
            },
          },
        },
        series: [{}, { stroke: "#2f5fd0", width: 1.5, fill: "rgba(47, 95, 208, 0.08)", points: { show: xs.length < 40 } }],
      },
      row.equity,
      cell,
    );
  }

  // ---- state from the service ----
  async function refresh(withEquity) {
    try {
      const [pairs, health] = await Promise.all([
        fetch(withEquity ? "api/pairs" : "api/pairs?equity=false").then((response) => response.json()),
        fetch("health").then((response) => response.json()),
      ]);
      for (const pair of pairs) {
        const row = rowFor(pair);
        row.pair = pair;
        render(row);
        if (withEquity) setEquity(row, pair.equity ?? []);
      }
      const badge = document.getElementById("health");
      badge.dataset.status = health.status;
      const problems = [health.stalled.length ? `${health.stalled.length} stalled` : "", health.failed.length ? `${health.failed.length} failed` : ""].filter(Boolean).join(", ");
      badge.textContent = `health: ${health.status}${problems ? ` (${problems})` : ""}${health.draining ? " · draining" : ""}`;
      const open = pairs.filter((pair) => pair.signal !== null).length;
      document.getElementById("summary").textContent = `${pairs.length} pair${pairs.length === 1 ? "" : "s"}, ${open} holding a signal`;
    } catch (error) {
      document.getElementById("health").dataset.status = "unhealthy";
      document.getElementById("health").textContent = `health: no answer (${error.message})`;
    }
  }

  let refreshTimer;
  /** A refresh soon after events, at most one per half second however many come. */
  function refreshSoon() {
    refreshTimer ??= setTimeout(() => {
      refreshTimer = undefined;
      void refresh(false);
    }, 500);
  }

  // ---- live events ----
  function onEvent(event) {
    const item = element("li");
    item.dataset.kind = event.kind;
    if (event.pair) item.dataset.pair = event.pair;
    item.append(element("time", "", time(event.at)), element("span", "pair", event.pair ?? "service"), element("span", "kind", event.kind), element("span", "detail", detail(event)));
    eventList.prepend(item);
    while (eventList.childElementCount > MAX_EVENTS) eventList.lastElementChild.remove();

    const row = event.pair ? rows.get(event.pair) : undefined;
    if (row) {
      const pair = row.pair;
      if (event.kind === "draining") pair.draining = true;
      if (event.kind === "done") pair.status = "done";
      if (event.kind === "failed") pair.status = "failed";
      if (event.kind === "closed" && Number.isFinite(event.pnlPercent)) {
        // An event seen again (the backlog after a reconnect) is not added twice: one close per time.
        const [xs, ys] = row.equity;
        const at = Date.parse(event.at) / 1000;
        if (xs.length === 0 || at > xs[xs.length - 1]) {
          xs.push(at);
          ys.push((ys.length === 0 ? 0 : ys[ys.length - 1]) + event.pnlPercent);
          drawEquity(row);
        }
      }
      render(row);
    }
    refreshSoon();
  }

  function detail(event) {
    switch (event.kind) {
      case "scheduled":
      case "opened":
        return `${event.position} @ ${price(event.priceOpen)} · TP ${price(event.priceTakeProfit)} · SL ${price(event.priceStopLoss)}`;
      case "closed":
        return `${event.reason} @ ${price(event.priceClose)} · PnL ${percent(event.pnlPercent)}`;
      case "cancelled":
        return event.reason ?? "";
      case "error":
      case "failed":
        return `${event.error?.name}: ${event.error?.message}`;
      case "stalled":
        return event.message ?? "";
      case "stopping":
        return event.reason ?? "";
      default:
        return "";
    }
  }

  function connect() {
    const live = document.getElementById("live");
    const source = new EventSource("api/events");
    let wasOpen = false;
    source.onopen = () => {
      live.dataset.state = "live";
      live.textContent = "events: live";
      // Back after a break: the equity curves are read again (closes may have been missed).
      if (wasOpen) void refresh(true);
      wasOpen = true;
    };
    source.onerror = () => {
      live.dataset.state = source.readyState === EventSource.CLOSED ? "offline" : "connecting";
      live.textContent = source.readyState === EventSource.CLOSED ? "events: offline" : "events: reconnecting…";
    };
    source.onmessage = (message) => {
      try {
        onEvent(JSON.parse(message.data));
      } catch (error) {
        show(`an event could not be read: ${error.message}`, "error");
      }
    };
  }

  // ---- drains ----
  async function drain(path, what) {
    const token = tokenInput.value.trim();
    if (token === "") {
      show("Type the service's token first (rxtrade run --token, or RXTRADE_TOKEN).", "error");
      tokenInput.focus();
      return;
    }
    if (!confirm(`Drain ${what}?\nNo new signals; what is open runs to its close.`)) return;
    try {
      const response = await fetch(path, { method: "POST", headers: { authorization: `Bearer ${token}` } });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        show(`Drain refused (${response.status}): ${body.error ?? response.statusText}`, "error");
        return;
      }
      sessionStorage.setItem(TOKEN_KEY, token);
      show(body.id ? `Draining ${body.id}.` : `Draining ${body.draining.length} pair${body.draining.length === 1 ? "" : "s"}.`);
      await refresh(false);
    } catch (error) {
      show(`Drain failed: ${error.message}`, "error");
    }
  }

  void refresh(true).then(connect);
  setInterval(() => void refresh(false), POLL_MS);
})();
