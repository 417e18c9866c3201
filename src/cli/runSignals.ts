// The signals that come before the service takes them: the first SIGTERM or Ctrl-C stops
// `rxtrade run` at its next step (exit 0), a second one exits at once (130).
import type { Terminal } from "./terminal";
import { EXIT } from "./usage";

/** The signals that come before the service listens for its own: the first one asks to stop. */
export interface EarlySignals {
  readonly requested: NodeJS.Signals | undefined;
  stop(): void;
}

export function earlySignals(terminal: Terminal): EarlySignals {
  let requested: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (requested === undefined) {
      requested = signal;
      return;
    }
    terminal.warn(`rxtrade run: ${signal} again before the pairs started: exiting at once (130); nothing had started`);
    process.exit(EXIT.interrupted);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    get requested() {
      return requested;
    },
    stop() {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}

// The run stops before it starts: said on stderr, exit 0 (what a drain of nothing is).
export function stoppedBeforeStart(terminal: Terminal, signal: NodeJS.Signals): number {
  terminal.warn(`rxtrade run: ${signal} before the pairs started: stopped before start, nothing ran`);
  return EXIT.ok;
}
