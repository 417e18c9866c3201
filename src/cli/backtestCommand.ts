import { stat } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { isMainThread, workerData } from "node:worker_threads";
import { arraySource, bundledSource, CheckStopped, fileSource, folderJobs, listed, symbolOfFile } from "./backtestData";
import { fetchHistory, resolveExchange } from "./backtestFetch";
import { BACKTEST_HELP, DEFAULT_REPORT_DIR, parseBacktestArgs } from "./backtestFlags";
import { runFolder, serveJobs, WORKER_JOBS } from "./backtestFolder";
import { CtrlC, Printer, ProgressBar } from "./backtestProgress";
import { isolationEntry, probeStrategy, serveProbe, serveSingle, WORKER_PROBE, WORKER_SINGLE } from "./backtestIsolated";
import { runSingle } from "./backtestSingle";
import { EXAMPLE_STRATEGIES, resolveStrategy } from "./strategies";
import type { Output, Terminal } from "./terminal";
import { EXIT, UsageError } from "./usage";
import { checkWritableFolder } from "./writableFolder";

export { BACKTEST_HELP } from "./backtestFlags";
export { ProgressBar } from "./backtestProgress";
export { symbolOfFile } from "./backtestData";

/**
 * `rxtrade backtest`: a strategy over history, through the live loop on a virtual clock. In a
 * worker thread started by a folder's run, the same entry runs that worker's file instead.
 * The pieces: backtestFlags (the command line), backtestData (candles: bundled, a file, a
 * folder; the window), backtestFetch (--exchange), backtestSingle / backtestFolder (the runs),
 * backtestRun (runBacktest as both use it), backtestOutput and backtestProgress (what is shown).
 *
 * @param progressOut where the progress bar goes (stderr); drawn only when it is a terminal
 */
export async function backtestCommand(args: readonly string[], terminal: Terminal, progressOut: Output = process.stderr): Promise<number> {
  if (!isMainThread && (workerData as { kind?: unknown } | null)?.kind === WORKER_JOBS) return serveJobs();
  if (!isMainThread && (workerData as { kind?: unknown } | null)?.kind === WORKER_SINGLE) return serveSingle();
  if (!isMainThread && (workerData as { kind?: unknown } | null)?.kind === WORKER_PROBE) return serveProbe();

  const parsed = parseBacktestArgs(args);
  if (parsed === "help") {
    terminal.line(BACKTEST_HELP);
    return EXIT.ok;
  }
  const { window, json, reportDir } = parsed;
  const bar = new ProgressBar(progressOut);
  const out = new Printer(terminal, bar);
  // A strategy file is loaded on a throwaway worker thread first: one that loops at import
  // cannot hold this thread (--module-timeout stops it; Ctrl-C is heard meanwhile).
  const entry = EXAMPLE_STRATEGIES[parsed.strategy] === undefined ? isolationEntry() : undefined;
  if (entry !== undefined) await probeStrategy(entry, parsed.strategy, parsed.moduleTimeoutMs);
  const strategy = await resolveStrategy("backtest", parsed.strategy, parsed.moduleTimeoutMs);
  // From here on Ctrl-C stops the run at its current tick and reports what it did; a second one exits.
  // The file being checked before the run, if any: Ctrl-C then stops the check.
  let checking: string | undefined;
  const ctrlC = new CtrlC(() =>
    out.warn(
      checking === undefined
        ? "rxtrade backtest: Ctrl-C: stopping at the current tick; the statistics so far follow (Ctrl-C again exits at once)"
        : `rxtrade backtest: Ctrl-C: stopping the check of ${checking}; nothing has run (Ctrl-C again exits at once)`,
    ),
  );
  try {
    if (parsed.exchange !== undefined) {
      const symbol = parsed.symbol?.trim();
      if (symbol === undefined || symbol === "") throw new UsageError("backtest", `--exchange needs --symbol, e.g. --exchange ${parsed.exchange} --symbol BTC/USDT`);
      if (window.from === undefined) throw new UsageError("backtest", `--exchange needs --from (the window to fetch), e.g. --from 2024-05-01T00:00Z`);
      const exchange = await resolveExchange(parsed.exchange, parsed.moduleTimeoutMs);
      await checkWritableFolder("backtest", "report-dir", reportDir, DEFAULT_REPORT_DIR);
      const fetched = await fetchHistory(exchange, symbol, { from: window.from, to: window.to }, out, bar, ctrlC.signal);
      if (typeof fetched === "number") return fetched;
      if (ctrlC.interrupted) {
        out.warn(`rxtrade backtest: interrupted (Ctrl-C) while fetching, after ${fetched.candles.length} candles; nothing ran`);
        return EXIT.interrupted;
      }
      const source = arraySource(fetched.candles, (range) => `${exchange.exchangeName} ${fetched.market} one-minute candles ${range}, fetched`);
      return await runSingle({ symbol, strategy, strategySpec: parsed.strategy, moduleTimeoutMs: parsed.moduleTimeoutMs, source, window, json, reportDir, out, bar, ctrlC });
    }

    const data = parsed.data ?? "bundled";
    if (data === "bundled") {
      const symbol = parsed.symbol?.trim() || "BTCUSDT";
      return await runSingle({ symbol, strategy, strategySpec: parsed.strategy, moduleTimeoutMs: parsed.moduleTimeoutMs, source: await bundledSource(), window, json, reportDir, out, bar, ctrlC });
    }
    const info = await stat(data).catch((error: NodeJS.ErrnoException) => {
      throw new UsageError("backtest", `--data ${data}: ${error.code === "ENOENT" ? "no such file or folder" : error.message}; give bundled, a .csv or .csv.gz file, or a folder of them`);
    });
    if (info.isDirectory()) {
      if (parsed.symbol !== undefined) throw new UsageError("backtest", `--symbol goes with one file or --exchange; the files of a folder are named after their symbols (--data ${data})`);
      const { jobs, skipped } = await folderJobs(data, parsed.strategy, parsed.moduleTimeoutMs, window);
      if (skipped.length > 0) out.warn(`rxtrade backtest: skipping ${skipped.length} entr${skipped.length === 1 ? "y" : "ies"} of ${data} that ${skipped.length === 1 ? "is" : "are"} not a .csv or .csv.gz file: ${listed(skipped)}`);
      await checkWritableFolder("backtest", "report-dir", reportDir, DEFAULT_REPORT_DIR);
      const threads = parsed.threads ?? Math.min(jobs.length, availableParallelism());
      return await runFolder({ data, jobs, strategy, threads, window, json, reportDir, out, bar, ctrlC });
    }
    const symbol = parsed.symbol?.trim() || symbolOfFile(data);
    checking = data;
    const source = await fileSource(data, ctrlC.signal);
    checking = undefined;
    return await runSingle({ symbol, strategy, strategySpec: parsed.strategy, moduleTimeoutMs: parsed.moduleTimeoutMs, source, window, json, reportDir, out, bar, ctrlC });
  } catch (error) {
    if (!(error instanceof CheckStopped)) throw error;
    out.warn(`rxtrade backtest: interrupted (Ctrl-C): ${error.message}; nothing ran`);
    return EXIT.interrupted;
  } finally {
    ctrlC.dispose();
  }
}
