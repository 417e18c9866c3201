// Issue 9, item 3a: a lock file names its holder by more than hostname + pid (boot id, PID
// namespace, process start time), and is taken over only when that holder is proven gone.
// Lock files are written by hand here, with the identity read from /proc by the test itself;
// real processes (children) stand for live holders. Item 12: takeover guards left by killed
// processes are swept when the store opens.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readFileSync, readlinkSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StoreLockedError } from "rxtrade";
import { fileStore } from "rxtrade/node";
import { judgeHolder, type ProcessIdentity, type ProcessProbe } from "../src/node/processIdentity";

const KEY = "BTCUSDT:momentum";
const BOOT_ID = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
const PID_NAMESPACE = readlinkSync("/proc/self/ns/pid");

let dir: string;
let lockPath: string;
const children: ChildProcess[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "rxtrade-lock-identity-"));
  lockPath = `${fileStore(dir).pathOf(KEY)}.lock`;
});
afterEach(async () => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

/** Field 3 (state) and field 22 (start time, clock ticks after boot) of /proc/<pid>/stat. */
function procStat(pid: number): { state: string; startTime: number } {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: fields[0] as string, startTime: Number(fields[19]) };
}

/** A pid that is certainly not running: a child that has exited and been reaped. */
function deadPid(): number {
  return spawnSync("true").pid as number;
}

/** A live process (a sleeping child) and its start time. */
async function liveChild(): Promise<{ pid: number; startTime: number }> {
  const child = spawn("sleep", ["30"], { stdio: "ignore" });
  children.push(child);
  await new Promise((resolve) => child.once("spawn", resolve));
  const pid = child.pid as number;
  return { pid, startTime: procStat(pid).startTime };
}

/** A lock file as rxtrade writes it, for `pid`, on this host, boot and PID namespace unless overridden. */
function lockText(pid: number, startTime: number, overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({ pid, hostname: hostname(), bootId: BOOT_ID, pidNamespace: PID_NAMESPACE, startTime, since: "2023-03-01T00:00:00.000Z", token: "theirs", ...overrides });
}

async function lockError(): Promise<StoreLockedError> {
  const error = await fileStore(dir).lock(KEY).then(
    (release) => {
      release();
      return undefined;
    },
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(StoreLockedError);
  return error as StoreLockedError;
}

describe("a lock whose holder cannot be proven gone is never taken over", () => {
  it("same host, a pid that is not running, but another PID namespace (a container sharing the folder): StoreLockedError naming host, pid, path and the fix", async () => {
    const pid = deadPid();
    const text = lockText(pid, 12345, { pidNamespace: "pid:[4026599999]" });
    await writeFile(lockPath, text);
    const error = await lockError();
    expect(error).toMatchObject({ key: KEY, pid, hostname: hostname(), path: lockPath });
    expect(error.message).toContain(`${KEY} is locked by process ${pid}; stop that stream first`);
    expect(error.message).toContain(`The lock file ${lockPath} names process ${pid} on host ${hostname()}, which cannot be proven gone from here`);
    expect(error.message).toContain("another PID namespace (pid:[4026599999]");
    expect(error.message).toContain(`if that process is gone, delete ${lockPath}`);
    expect(await readFile(lockPath, "utf8")).toBe(text);
  });

  it("same host and PID namespace, a pid that is not running, but another boot id: not taken over", async () => {
    const pid = deadPid();
    const text = lockText(pid, 12345, { bootId: "00000000-0000-4000-8000-000000000000" });
    await writeFile(lockPath, text);
    const error = await lockError();
    expect(error).toMatchObject({ key: KEY, pid, hostname: hostname(), path: lockPath });
    expect(error.message).toContain("another boot of this host");
    expect(error.message).toContain(`if that process is gone, delete ${lockPath}`);
    expect(await readFile(lockPath, "utf8")).toBe(text);
  });

  it("a lock file of rxtrade 0.1.0 ({ pid, hostname, since, token }, no boot id) naming a pid that is not running: not taken over", async () => {
    const pid = deadPid();
    const text = JSON.stringify({ pid, hostname: hostname(), since: "2023-03-01T00:00:00.000Z", token: "old" });
    await writeFile(lockPath, text);
    const error = await lockError();
    expect(error).toMatchObject({ key: KEY, pid, hostname: hostname(), path: lockPath });
    expect(error.message).toContain("rxtrade 0.1.0");
    expect(error.message).toContain(`if that process is gone, delete ${lockPath}`);
    expect(await readFile(lockPath, "utf8")).toBe(text);
  });

  it("a live holder with its own start time is refused, and the error says it is running", async () => {
    const holder = await liveChild();
    const text = lockText(holder.pid, holder.startTime);
    await writeFile(lockPath, text);
    const error = await lockError();
    expect(error).toMatchObject({ key: KEY, pid: holder.pid, hostname: hostname(), path: lockPath });
    expect(error.message).toBe(
      `rxtrade: ${KEY} is locked by process ${holder.pid}; stop that stream first (one stream per symbol and strategy per store). ` +
        `The lock file ${lockPath} names process ${holder.pid} on host ${hostname()}, which is running; if that process is gone, delete ${lockPath}`,
    );
    expect(await readFile(lockPath, "utf8")).toBe(text);
  });
});

describe("a lock whose holder is proven gone is taken over", () => {
  it("same host, boot and PID namespace, and no process with that pid; the new lock file records this process's boot id, namespace and start time", async () => {
    await writeFile(lockPath, lockText(deadPid(), 12345));
    const release = await fileStore(dir).lock(KEY);
    expect(JSON.parse(await readFile(lockPath, "utf8"))).toMatchObject({
      pid: process.pid,
      hostname: hostname(),
      bootId: BOOT_ID,
      pidNamespace: PID_NAMESPACE,
      startTime: procStat(process.pid).startTime,
    });
    release();
    expect(await readdir(dir)).toEqual([]);
  });

  it("the pid is running but started at another time than the holder (the pid was reused)", async () => {
    const other = await liveChild();
    await writeFile(lockPath, lockText(other.pid, other.startTime - 1));
    const release = await fileStore(dir).lock(KEY);
    expect(JSON.parse(await readFile(lockPath, "utf8"))).toMatchObject({ pid: process.pid, bootId: BOOT_ID });
    release();
  });

  it("the holder has exited but was never reaped (a zombie)", async () => {
    // sh starts a short sleep in the background and replaces itself by a long one, which never
    // reaps it. (A background `true` could exit, and be reaped by sh, before the exec.)
    const parent = spawn("sh", ["-c", "sleep 0.3 & echo $!; exec sleep 30"], { stdio: ["ignore", "pipe", "ignore"] });
    children.push(parent);
    const zombie = Number(await new Promise<string>((resolve) => parent.stdout?.setEncoding("utf8").once("data", resolve)));
    const deadline = Date.now() + 5_000;
    while (procStat(zombie).state !== "Z" && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(procStat(zombie).state).toBe("Z");
    await writeFile(lockPath, lockText(zombie, procStat(zombie).startTime));
    const release = await fileStore(dir).lock(KEY);
    expect(JSON.parse(await readFile(lockPath, "utf8")).pid).toBe(process.pid);
    release();
  });

  it("this pid, this process's start time, but a token this process does not hold (a lock it released but could not delete)", async () => {
    await writeFile(lockPath, lockText(process.pid, procStat(process.pid).startTime, { token: "released-earlier" }));
    const release = await fileStore(dir).lock(KEY);
    expect(JSON.parse(await readFile(lockPath, "utf8")).token).not.toBe("released-earlier");
    release();
  });
});

describe("without /proc (macOS), judged conservatively", () => {
  const self: ProcessIdentity = { pid: 500, hostname: "mac", bootTime: 1_700_000_000 };
  const mac = (running: boolean): ProcessProbe => ({
    self: () => self,
    hasProc: () => false,
    startTimeOf: () => null,
    isRunning: () => running,
    platform: "darwin",
  });

  it("a holder of this host and boot whose pid is not running is gone; a running pid is alive (a reused pid cannot be told)", () => {
    expect(judgeHolder({ pid: 77, hostname: "mac", bootTime: 1_700_000_001 }, mac(false))).toEqual({ kind: "gone" });
    expect(judgeHolder({ pid: 77, hostname: "mac", bootTime: 1_700_000_001 }, mac(true))).toEqual({ kind: "alive" });
  });

  it("another boot, another host, a lock file without a boot time, or one written with PID namespaces: unknown", () => {
    expect(judgeHolder({ pid: 77, hostname: "mac", bootTime: 1_690_000_000 }, mac(false)).kind).toBe("unknown");
    expect(judgeHolder({ pid: 77, hostname: "other", bootTime: 1_700_000_000 }, mac(false)).kind).toBe("unknown");
    expect(judgeHolder({ pid: 77, hostname: "mac" }, mac(false)).kind).toBe("unknown");
    expect(judgeHolder({ pid: 77, hostname: "mac", bootTime: 1_700_000_000, pidNamespace: "pid:[1]" }, mac(false)).kind).toBe("unknown");
  });

  it("Linux with /proc unreadable, and other platforms, judge nothing", () => {
    for (const platform of ["linux", "win32", "freebsd"]) {
      const probe = { ...mac(false), platform };
      expect(judgeHolder({ pid: 77, hostname: "mac", bootTime: 1_700_000_000 }, probe).kind).toBe("unknown");
    }
  });
});

describe("takeover debris", () => {
  it("guards (<lock>.takeover-<hash>) of writers proven gone are swept when the store opens; a live writer's and an unjudgeable one are kept", async () => {
    const live = await liveChild();
    const gone = `${lockPath}.takeover-0123456789abcdef`;
    const nested = `${lockPath}.takeover-0123456789abcdef.takeover-fedcba9876543210`;
    const kept = `${lockPath}.takeover-aaaaaaaaaaaaaaaa`;
    const old = `${fileStore(dir).pathOf("ETHUSDT:momentum")}.lock.takeover-bbbbbbbbbbbbbbbb`;
    await writeFile(gone, lockText(deadPid(), 1));
    await writeFile(nested, lockText(deadPid(), 1));
    await writeFile(kept, lockText(live.pid, live.startTime));
    await writeFile(old, JSON.stringify({ pid: deadPid(), hostname: hostname(), since: "2023-03-01T00:00:00.000Z" }));

    const store = fileStore(dir);
    expect(await store.read(KEY)).toBeNull(); // the first use opens the store
    expect((await readdir(dir)).sort()).toEqual([kept, old].map((path) => path.slice(dir.length + 1)).sort());
  });
});
