// A real redis-server for the rxtrade/redis tests: started on a free loopback port in a temp
// folder (AOF on, no RDB snapshots), stopped after; `restart()` stops it (SIGTERM: Redis
// flushes the AOF) and starts it again on the same port and folder. Also a loopback TCP proxy
// that can stall a connection (a holder cut off from Redis), and the suite wrapper that skips
// the tests with a visible message when redis-server is not installed — except under CI (CI
// set), where they fail.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { describe, it } from "vitest";

export const INSTALL = "apt-get install -y redis-server";

/** The redis-server binary: REDIS_SERVER when set (alone), else Debian's /usr/bin/redis-server or one on PATH. */
export function redisServerPath(): string | undefined {
  const given = process.env.REDIS_SERVER;
  if (given !== undefined) return existsSync(given) ? given : undefined;
  const candidates = ["/usr/bin/redis-server", ...(process.env.PATH ?? "").split(delimiter).map((dir) => join(dir, "redis-server"))];
  return candidates.find((path) => existsSync(path));
}

/**
 * `describe(name, body)` when redis-server is installed. Without it: skipped, with a warning
 * naming the install command — or, under CI, one failing test saying so.
 */
export function describeRedis(name: string, body: () => void): void {
  if (redisServerPath() !== undefined) {
    describe(name, body);
    return;
  }
  const why = `redis-server is not installed (${INSTALL}, or set REDIS_SERVER to its path)`;
  if (process.env.CI) {
    describe(name, () => {
      it(`needs redis-server: ${why}`, () => {
        throw new Error(`rxtrade tests: ${why}; CI must run the Redis tests (.ci/run installs it)`);
      });
    });
    return;
  }
  console.warn(`rxtrade tests: SKIPPED "${name}": ${why}`);
  describe.skip(`${name} [skipped: ${why}]`, body);
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** Stops it (SIGTERM, Redis writes its AOF), waits `downMs`, starts it again on the same port and folder. */
  restart(downMs?: number): Promise<void>;
  /** Stops it and deletes its folder. */
  stop(): Promise<void>;
  /** A raw command over a fresh connection (RESP), e.g. `command("GET", key)`; answers as text. */
  command(...args: string[]): Promise<string>;
}

/** Starts a redis-server on a free loopback port, in a new temp folder. */
export async function startRedis(): Promise<RedisServer> {
  const binary = redisServerPath();
  if (binary === undefined) throw new Error(`redis-server is not installed: ${INSTALL}`);
  const dir = await mkdtemp(join(tmpdir(), "rxtrade-redis-"));
  let port = 0;
  let child: ChildProcess | undefined;
  for (let attempt = 0; child === undefined; attempt++) {
    port = await freePort();
    try {
      child = await launch(binary, port, dir);
    } catch (error) {
      if (attempt >= 3) throw error; // another process took the port between the probe and the start
    }
  }
  let current: ChildProcess | undefined = child;
  const url = `redis://127.0.0.1:${port}`;
  return {
    port,
    url,
    dir,
    async restart(downMs = 0) {
      await halt(current);
      current = undefined;
      if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
      current = await launch(binary, port, dir);
    },
    async stop() {
      await halt(current);
      current = undefined;
      await rm(dir, { recursive: true, force: true });
    },
    command: (...args) => command(port, args),
  };
}

async function launch(binary: string, port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(binary, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--dir", dir], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.setEncoding("utf8").on("data", (text: string) => (output = (output + text).slice(-4000)));
  child.stderr?.setEncoding("utf8").on("data", (text: string) => (output = (output + text).slice(-4000)));
  // A test run that dies leaves no server behind: the server goes with this process.
  const reap = () => child.kill("SIGKILL");
  process.once("exit", reap);
  child.once("exit", () => process.off("exit", reap));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited (${child.exitCode}):\n${output}`);
    try {
      // After a restart Redis answers -LOADING while it reads its AOF.
      if ((await command(port, ["PING"])) === "PONG") return child;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`redis-server on port ${port} did not answer PING within 10 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function halt(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Sends one command in RESP and returns the first reply line's text (simple string, error, integer or bulk string). */
function command(port: number, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let data = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to ${args[0]} within 2 s`));
    }, 2_000);
    socket.setEncoding("utf8");
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on("data", (text: string) => {
      data += text;
      const reply = parseReply(data);
      if (reply === undefined) return;
      clearTimeout(timer);
      socket.end();
      if (reply.error) reject(new Error(reply.text));
      else resolve(reply.text);
    });
    socket.write(`*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join("")}`);
  });
}

function parseReply(data: string): { text: string; error?: boolean } | undefined {
  const end = data.indexOf("\r\n");
  if (end < 0) return undefined;
  const head = data.slice(1, end);
  switch (data[0]) {
    case "+":
    case ":":
      return { text: head };
    case "-":
      return { text: head, error: true };
    case "$": {
      const length = Number(head);
      if (length < 0) return { text: "(nil)" };
      const body = Buffer.from(data.slice(end + 2));
      return body.length >= length + 2 ? { text: body.subarray(0, length).toString() } : undefined;
    }
    default:
      return { text: data.trim() };
  }
}

/** A loopback TCP proxy in front of Redis whose traffic can be stalled both ways (a holder cut off, not disconnected). */
export interface StallingProxy {
  readonly url: string;
  /** Stops passing bytes on every connection (they wait in the buffers). */
  stall(): void;
  /** Passes them on again, the waiting ones first. */
  resume(): void;
  close(): Promise<void>;
}

export async function stallingProxy(targetPort: number): Promise<StallingProxy> {
  const sockets = new Set<Socket>();
  // Bytes held back while stalled, in order, with where they go.
  const held: Array<{ to: Socket; chunk: Buffer }> = [];
  let stalled = false;
  const forward = (from: Socket, to: Socket) =>
    from.on("data", (chunk: Buffer) => {
      if (stalled) held.push({ to, chunk });
      else to.write(chunk);
    });
  const server: Server = createServer((inbound) => {
    const outbound = connect(targetPort, "127.0.0.1");
    for (const socket of [inbound, outbound]) sockets.add(socket);
    forward(inbound, outbound);
    forward(outbound, inbound);
    const drop = () => {
      for (const socket of [inbound, outbound]) {
        sockets.delete(socket);
        socket.destroy();
      }
    };
    for (const socket of [inbound, outbound]) socket.on("error", drop).on("close", drop);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${port}`,
    stall() {
      stalled = true;
    },
    resume() {
      stalled = false;
      for (const { to, chunk } of held.splice(0)) if (!to.destroyed) to.write(chunk);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
