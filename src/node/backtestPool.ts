import { Worker } from "node:worker_threads";
import { createInterface } from "node:readline";

/** What a pool worker posts to its parent: progress now and then, then its result or why it failed. */
export type PoolMessage<Result, Progress> =
  | { kind: "progress"; progress: Progress }
  | { kind: "result"; result: Result }
  | { kind: "failed"; message: string };

/** How one task ended: its result, a failure the worker reported, or a crash (the worker died without a word). */
export type PoolOutcome<Result> = { ok: true; result: Result } | { ok: false; crashed: boolean; message: string };

export interface PoolOptions<Task, Progress> {
  /** The module each worker runs (it reads `workerData` and posts `PoolMessage`s). */
  entry: URL;
  /** `process.argv` after the script in each worker. */
  argv?: string[];
  /** At most this many workers at once (>= 1). */
  threads: number;
  /** The `workerData` of a task's worker. */
  workerData(task: Task): unknown;
  onProgress?(index: number, progress: Progress): void;
  /** A line a worker printed (its stdout or stderr), e.g. a strategy's console.log. */
  onOutput?(index: number, stream: "stdout" | "stderr", line: string): void;
  onDone?(index: number, outcome: PoolOutcome<unknown>): void;
}

/**
 * Runs each task in a worker thread of its own, at most `threads` at a time, and resolves to
 * the outcomes in task order. One worker per task, not a long-lived worker per thread: a task
 * starts from freshly loaded modules, so a strategy module that keeps state at its top level
 * cannot carry it from one task into the next. A worker that throws, exits or is killed before
 * it posted a result is that task's failure (`crashed`); the other tasks go on.
 */
export function runPool<Task, Result, Progress>(tasks: readonly Task[], options: PoolOptions<Task, Progress>): Promise<PoolOutcome<Result>[]> {
  const outcomes: PoolOutcome<Result>[] = new Array(tasks.length);
  let next = 0;
  let running = 0;
  return new Promise((resolve) => {
    const startNext = () => {
      while (running < options.threads && next < tasks.length) {
        const index = next++;
        running++;
        runOne<Task, Result, Progress>(index, tasks[index] as Task, options).then((outcome) => {
          outcomes[index] = outcome;
          running--;
          options.onDone?.(index, outcome);
          if (next >= tasks.length && running === 0) resolve(outcomes);
          else startNext();
        });
      }
    };
    if (tasks.length === 0) resolve(outcomes);
    else startNext();
  });
}

function runOne<Task, Result, Progress>(index: number, task: Task, options: PoolOptions<Task, Progress>): Promise<PoolOutcome<Result>> {
  return new Promise((resolve) => {
    let outcome: PoolOutcome<Result> | undefined;
    let crash: string | undefined;
    const worker = new Worker(options.entry, { argv: options.argv ?? [], workerData: options.workerData(task), stdout: true, stderr: true });
    for (const stream of ["stdout", "stderr"] as const) {
      createInterface({ input: worker[stream], crlfDelay: Infinity }).on("line", (line) => options.onOutput?.(index, stream, line));
    }
    worker.on("message", (message: PoolMessage<Result, Progress>) => {
      if (outcome !== undefined) return;
      if (message.kind === "progress") options.onProgress?.(index, message.progress);
      else if (message.kind === "result") outcome = { ok: true, result: message.result };
      else if (message.kind === "failed") outcome = { ok: false, crashed: false, message: message.message };
    });
    // An uncaught exception in the worker: 'error', then 'exit'.
    worker.on("error", (error: Error) => {
      crash ??= `the worker crashed: ${error?.stack?.split("\n")[0] ?? String(error)}`;
    });
    // Messages posted before the worker ended are delivered before 'exit'.
    worker.on("exit", (code) => {
      resolve(outcome ?? { ok: false, crashed: true, message: crash ?? `the worker exited (code ${code}) before it reported a result` });
    });
  });
}
