import { createInterface } from "node:readline";
import { parentPort, Worker, workerData } from "node:worker_threads";

/** What the pool posts to a worker: a task to run, the end (no task is left), or a stop (Ctrl-C: end the task under way now). */
export type PoolRequest<Task> = { kind: "task"; index: number; task: Task } | { kind: "done" } | { kind: "stop" };

/** What a worker posts back about the task it runs: progress now and then, then its result or why it failed. */
export type PoolReply<Result, Progress> =
  | { kind: "progress"; index: number; progress: Progress }
  | { kind: "result"; index: number; result: Result }
  | { kind: "failed"; index: number; message: string; interrupted?: boolean };

/**
 * How one task ended: its result, a failure the worker reported, a crash (the worker died
 * running it), or never started (`notRun`: the pool was stopped first).
 */
export type PoolOutcome<Result> = { ok: true; result: Result } | { ok: false; crashed: boolean; message: string; notRun?: boolean; interrupted?: boolean };

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
  /**
   * Stops the pool (Ctrl-C): each worker is told to end the task it runs now (its result says
   * how far it got), and no further task starts (each is `notRun`). A worker that has not
   * answered `stopGraceMs` later (stuck in a synchronous loop) is terminated, its task failed.
   */
  signal?: AbortSignal;
  /**
   * A worker whose heartbeat (stamped by `servePool` every 100 ms while its event loop is free,
   * and by the task's `beat`) is older than this while it runs a task is stuck — a synchronous
   * loop its event loop never comes back from: it is terminated and the task fails with
   * `stalled(index, ms)`'s message; a new worker takes the tasks left. Default: never.
   */
  stallMs?: number;
  /** The message of a task whose worker was terminated as stuck after `ms`. */
  stalled?(index: number, ms: number): string;
  /** After `signal`, how long a worker has to answer before it is terminated. Default 1000 ms. */
  stopGraceMs?: number;
}

/** Where a worker stamps its heartbeat (`Date.now()`): index 0 of a shared Float64Array. */
const HEARTBEAT = "rxtradePoolHeartbeat";

/**
 * Runs tasks on `threads` worker threads and resolves to their outcomes in task order. Each
 * worker runs one task at a time and takes the next when it is done, so it loads its modules
 * and warms up once, not once per task. A worker that throws, exits or is killed while it runs
 * a task fails that task (`crashed`); a new worker takes over the tasks left, and the other
 * tasks go on. `signal` stops them all early.
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
    const running = new Set<Worker>();
    // Each worker's heartbeat, and what ends it when it is stuck.
    const hearts = new Map<Worker, { stamp: Float64Array; stuck: (message: string) => void }>();
    const watchdog =
      options.stallMs === undefined
        ? undefined
        : setInterval(() => {
            for (const [, heart] of hearts) if (Date.now() - (heart.stamp[0] as number) > (options.stallMs as number)) heart.stuck("");
          }, Math.min(100, Math.max(10, options.stallMs / 10)));
    const done = () => {
      if (watchdog !== undefined) clearInterval(watchdog);
      resolve(outcomes);
    };
    const notRun = () => {
      for (; next < tasks.length; next++) {
        outcomes[next] = { ok: false, crashed: false, message: "not run: the backtest was interrupted first", notRun: true };
        settled++;
      }
    };
    options.signal?.addEventListener(
      "abort",
      () => {
        notRun();
        for (const worker of running) worker.postMessage({ kind: "stop" } satisfies PoolRequest<Task>);
        // One that does not answer (stuck in a synchronous loop) is terminated.
        setTimeout(() => {
          for (const worker of running) hearts.get(worker)?.stuck("it did not stop within a second of the interrupt (a synchronous loop?); terminated");
        }, options.stopGraceMs ?? 1000).unref?.();
      },
      { once: true },
    );
    const start = () => {
      workers++;
      let current: number | undefined;
      let crash: string | undefined;
      let stalled = false;
      let interrupted = false;
      const stamp = new Float64Array(new SharedArrayBuffer(Float64Array.BYTES_PER_ELEMENT));
      stamp[0] = Number.POSITIVE_INFINITY; // armed by the worker's first stamp
      const worker = new Worker(options.entry, {
        argv: options.argv ?? [],
        workerData: { ...(options.workerData as object | undefined), [HEARTBEAT]: stamp.buffer },
        stdout: true,
        stderr: true,
      });
      running.add(worker);
      hearts.set(worker, {
        stamp,
        stuck: (message) => {
          if (current === undefined || crash !== undefined) return;
          crash = message === "" ? (options.stalled?.(current, options.stallMs as number) ?? `the worker did not answer within ${options.stallMs} ms; terminated`) : message;
          stalled = true;
          // Stopped after the signal (Ctrl-C): the task was interrupted, not failed.
          interrupted = options.signal?.aborted === true;
          void worker.terminate();
        },
      });
      for (const stream of ["stdout", "stderr"] as const) {
        createInterface({ input: worker[stream], crlfDelay: Number.POSITIVE_INFINITY }).on("line", (line) => options.onOutput?.(current, stream, line));
      }
      const settle = (index: number, outcome: PoolOutcome<Result>) => {
        outcomes[index] = outcome;
        settled++;
        options.onDone?.(index, outcome);
      };
      const give = () => {
        if (options.signal?.aborted === true) notRun();
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
        settle(
          reply.index,
          reply.kind === "result" ? { ok: true, result: reply.result } : { ok: false, crashed: false, message: reply.message, ...(reply.interrupted === true ? { interrupted: true } : {}) },
        );
        give();
      });
      // An uncaught exception in the worker: 'error', then 'exit'.
      worker.on("error", (error: Error) => {
        crash ??= `the worker crashed: ${error?.stack?.split("\n")[0] ?? String(error)}`;
      });
      // Messages posted before the worker ended are delivered before 'exit'.
      worker.on("exit", (code) => {
        workers--;
        running.delete(worker);
        hearts.delete(worker);
        if (current !== undefined) {
          settle(current, { ok: false, crashed: !stalled, message: crash ?? `the worker exited (code ${code}) before it reported a result`, ...(interrupted ? { interrupted: true } : {}) });
          current = undefined;
          if (options.signal?.aborted === true) notRun();
          if (next < tasks.length) start();
        }
        if (settled === tasks.length && workers === 0) done();
      });
      give();
    };
    if (options.signal?.aborted === true) {
      notRun();
      done();
      return;
    }
    for (let i = 0; i < Math.max(1, Math.min(options.threads, tasks.length)); i++) start();
  });
}

/**
 * A worker's side of `runPool`: runs each task it is given with `run` (one at a time, in
 * order), posting its progress and then its result or, when `run` rejects, the message. A stop
 * from the pool aborts the `signal` `run` was given. Resolves when the pool has no task left
 * for this worker.
 */
export function servePool<Task, Result, Progress>(
  run: (task: Task, progress: (value: Progress) => void, signal: AbortSignal, beat: () => void) => Promise<Result>,
  describe: (error: unknown) => string,
): Promise<void> {
  const port = parentPort;
  if (port === null) return Promise.reject(new Error("servePool runs in a worker thread"));
  const buffer = (workerData as Record<string, unknown> | null)?.[HEARTBEAT];
  const stamp = buffer instanceof SharedArrayBuffer ? new Float64Array(buffer) : new Float64Array(1);
  const beat = () => {
    stamp[0] = Date.now();
  };
  beat();
  const heartbeat = setInterval(beat, 100);
  return new Promise((resolve) => {
    let queue = Promise.resolve();
    const stop = new AbortController();
    port.on("message", (request: PoolRequest<Task>) => {
      // At once, not after the task under way: it is the one to end.
      if (request.kind === "stop") {
        stop.abort();
        return;
      }
      queue = queue.then(async () => {
        if (request.kind === "done") {
          clearInterval(heartbeat);
          port.close();
          resolve();
          return;
        }
        const { index } = request;
        const post = (reply: PoolReply<Result, Progress>) => port.postMessage(reply);
        try {
          beat();
          const result = await run(request.task, (progress) => post({ kind: "progress", index, progress }), stop.signal, beat);
          post({ kind: "result", index, result });
        } catch (error) {
          // A task that failed once stopped (Ctrl-C: its file's check stopped) was interrupted.
          post({ kind: "failed", index, message: describe(error), ...(stop.signal.aborted ? { interrupted: true } : {}) });
        }
      });
    });
  });
}
