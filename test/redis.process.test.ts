// rxtrade/redis, issue 12 item 1 (new feature): a real process holding a lease is stopped
// (SIGSTOP) past its lease; another process's store takes the key with a higher token and
// writes; the first is continued (SIGCONT): its next write is refused with StoreLockedError
// and the new holder's value stays.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { StoreLockedError } from "rxtrade";
import { redisStore } from "rxtrade/redis";
import { describeRedis, type RedisServer, startRedis } from "./helpers/redisServer";

const root = fileURLToPath(new URL("../", import.meta.url));
const KEY = "BTCUSDT:stopped";
const LEASE_MS = 600;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Bundles the child from the sources (ioredis left external, resolved from this project's node_modules). */
async function bundleChild(): Promise<{ command: string[]; cleanup: () => Promise<void> }> {
  const { build } = await import("esbuild");
  const cache = join(root, "node_modules", ".cache");
  await mkdir(cache, { recursive: true });
  const dir = await mkdtemp(join(cache, "rxtrade-redis-child-"));
  const outfile = join(dir, "redisLeaseChild.mjs");
  await build({
    entryPoints: [join(root, "test/helpers/redisLeaseChild.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile,
    logLevel: "silent",
    tsconfig: join(root, "tsconfig.json"),
    external: ["ioredis"],
  });
  return { command: [process.execPath, outfile], cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Resolves with stdout once `pattern` appears in it. */
function waitFor(child: ChildProcess, output: () => string, pattern: RegExp, ms: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const match = output().match(pattern);
      if (match === null) return;
      clearTimeout(timer);
      child.stdout?.off("data", check);
      resolve(match);
    };
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${ms} ms; output:\n${output()}`)), ms);
    child.stdout?.on("data", check);
    check();
  });
}

describeRedis("a process stopped past its lease", () => {
  let server: RedisServer;
  let child: { command: string[]; cleanup: () => Promise<void> };
  beforeAll(async () => {
    [server, child] = await Promise.all([startRedis(), bundleChild()]);
  });
  afterAll(async () => {
    await child?.cleanup();
    await server?.stop();
  });

  it("SIGSTOP past the lease, another takes the key, SIGCONT: the stopped process's write is refused, the new holder's value stays", async () => {
    const prefix = "proc:";
    const holder = spawn(child.command[0] as string, [...child.command.slice(1), JSON.stringify({ url: server.url, prefix, key: KEY, leaseMs: LEASE_MS })], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    holder.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
    holder.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
    const exited = new Promise<number | null>((resolve) => holder.on("exit", (code) => resolve(code)));
    const store = redisStore({ url: server.url }, { prefix, leaseMs: LEASE_MS });
    try {
      const token = Number((await waitFor(holder, () => stdout, /locked (\d+)/, 10_000))[1]);
      await waitFor(holder, () => stdout, /wrote 2\n/, 5_000);
      await expect(store.lock(KEY)).rejects.toBeInstanceOf(StoreLockedError);

      holder.kill("SIGSTOP");
      const stoppedAt = performance.now();
      let release;
      while (release === undefined) {
        release = await store.lock(KEY).catch(() => undefined);
        if (release === undefined) {
          expect(performance.now() - stoppedAt).toBeLessThan(LEASE_MS + 1_000);
          await sleep(25);
        }
      }
      expect(performance.now() - stoppedAt).toBeLessThan(LEASE_MS + 1_000);
      expect(release.token).toBeGreaterThan(token);
      await store.write(KEY, { by: "parent" });

      holder.kill("SIGCONT");
      const [line] = await waitFor(holder, () => stdout, /refused .*\n/, 5_000);
      expect(line).toContain(`refused StoreLockedError: rxtrade: the stream lost its lease on ${KEY} (Redis key ${prefix}lease:${KEY} at ${server.url}, token ${token}): the lease is now held by process ${process.pid}`);
      expect(await exited).toBe(0);
      expect(await store.read(KEY)).toEqual({ by: "parent" });
      expect(stderr).toBe("");
      release();
    } finally {
      holder.kill("SIGKILL");
      await store.close();
    }
  });
});
