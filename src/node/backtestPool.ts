import { createInterface } from "node:readline";
import { parentPort, Worker } from "node:worker_threads";

/** What the pool posts to a worker: a task to run, or the end (no task is left). */
export type PoolRequest<Task> = { kind: "task"; index: number; task: Task } | { kind: "done" };

/** What a worker posts back about the task it runs: progress now and then, then its result or why it failed. */
export type PoolReply<Result, Progress> =
  | { kind: "progress"; index: number; progress: Progress }
  | { kind: "result"; index: number; result: Result }
  | { kind: "failed"; index: number; message: string };

/** How one task ended: its result, a failure the worker reported, or a crash (the worker died running it). */
export type PoolOutcome<Result> = { ok: true; result: Result } | { ok: false; crashed: boolean; message: string };

export interface PoolOptions<Progress> {
  /** The module each worker runs: it serves tasks with `servePool`. */
  entry: URL;
  /** `process.argv` after the script in each worker. */
  argv?: string[];
  /** `workerData` of every worker. */
  workerData?: unknown;
  /** Workers at once (>= 1). */
  threads: number;
  onProgress?(index: number, progress: Progress): void;
  /** A line a worker printed on its stdout or stderr (e.g. a strategy's console.log), with the task it was running. */
  onOutput?(index: number | undefined, stream: "stdout" | "stderr", line: string): void;
  onDone?(index: number, outcome: PoolOutcome<unknown>): void;
}

/**
 * Runs tasks on `threads` worker threads and resolves to their outcomes in task order. Each
 * worker runs one task at a time and takes the next when it is done, so it loads its modules
 * and warms up once, not once per task. A worker that throws, exits or is killed while it runs
 * a task fails that task (`crashed`); a new worker takes over the tasks left, and the other
 * tasks go on.
 */
export function runPool<Task, Result, Progress>(tasks: readonly Task[], options: PoolOptions<Progress>): Promise<PoolOutcome<Result>[]> {
  const outcomes: PoolOutcome<Result>[] = new Array(tasks.length);
  let next = 0;
  let settled = 0;
  let workers = 0;
  return new Promise((resolve) => {
    if (tasks.length === 0) {
      resolve(outcomes);
      return;
    }
    const start = () => {
      workers++;
      let current: number | undefined;
      let crash: string | undefined;
      const worker = new Worker(options.entry, { argv: options.argv ?? [], workerData: options.workerData, stdout: true, stderr: true });
      for (const stream of ["stdout", "stderr"] as const) {
        createInterface({ input: worker[stream], crlfDelay: Number.POSITIVE_INFINITY }).on("line", (line) => options.onOutput?.(current, stream, line));
      }
      const settle = (index: number, outcome: PoolOutcome<Result>) => {
        outcomes[index] = outcome;
        settled++;
        options.onDone?.(index, outcome);
      };
      const give = () => {
        if (next < tasks.length) {
          current = next++;
          worker.postMessage({ kind: "task", index: current, task: tasks[current] as Task } satisfies PoolRequest<Task>);
        } else {
          current = undefined;
          worker.postMessage({ kind: "done" } satisfies PoolRequest<Task>);
        }
      };
      worker.on("message", (reply: PoolReply<Result, Progress>) => {
        if (reply.index !== current) return;
        if (reply.kind === "progress") {
          options.onProgress?.(reply.index, reply.progress);
          return;
        }
        settle(reply.index, reply.kind === "result" ? { ok: true, result: reply.result } : { ok: false, crashed: false, message: reply.message });
        give();
      });
      // An uncaught exception in the worker: 'error', then 'exit'.
      worker.on("error", (error: Error) => {
        crash ??= `the worker crashed: ${error?.stack?.split("\n")[0] ?? String(error)}`;
      });
      // Messages posted before the worker ended are delivered before 'exit'.
      worker.on("exit", (code) => {
        workers--;
        if (current !== undefined) {
          settle(current, { ok: false, crashed: true, message: crash ?? `the worker exited (code ${code}) before it reported a result` });
          current = undefined;
          if (next < tasks.length) start();
        }
        if (settled === tasks.length && workers === 0) resolve(outcomes);
      });
      give();
    };
    for (let i = 0; i < Math.max(1, Math.min(options.threads, tasks.length)); i++) start();
  });
}

/**
 * A worker's side of `runPool`: runs each task it is given with `run` (one at a time, in
 * order), posting its progress and then its result or, when `run` rejects, the message.
 * Resolves when the pool has no task left for this worker.
 */
export function servePool<Task, Result, Progress>(run: (task: Task, progress: (value: Progress) => void) => Promise<Result>, describe: (error: unknown) => string): Promise<void> {
  const port = parentPort;
  if (port === null) return Promise.reject(new Error("servePool runs in a worker thread"));
  return new Promise((resolve) => {
    let queue = Promise.resolve();
    port.on("message", (request: PoolRequest<Task>) => {
      queue = queue.then(async () => {
        if (request.kind === "done") {
          port.close();
          resolve();
          return;
        }
        const { index } = request;
        const post = (reply: PoolReply<Result, Progress>) => port.postMessage(reply);
        try {
          const result = await run(request.task, (progress) => post({ kind: "progress", index, progress }));
          post({ kind: "result", index, result });
        } catch (error) {
          post({ kind: "failed", index, message: describe(error) });
        }
      });
    });
  });
}
