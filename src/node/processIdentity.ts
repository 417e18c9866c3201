import { readFileSync, readlinkSync } from "node:fs";
import { hostname, uptime } from "node:os";

/**
 * Who holds a lock: enough to prove, from another process, that the holder is gone. A pid
 * alone proves nothing across PID namespaces (containers sharing a volume and a hostname),
 * across reboots, or once the pid is reused; the boot id, the PID namespace and the start
 * time of the process pin it down.
 */
export interface ProcessIdentity {
  pid: number;
  hostname: string;
  /** Linux: /proc/sys/kernel/random/boot_id. */
  bootId?: string;
  /** Linux: readlink /proc/self/ns/pid, e.g. `pid:[4026531836]`. */
  pidNamespace?: string;
  /** Linux: field 22 of /proc/<pid>/stat, clock ticks after boot. */
  startTime?: number;
  /** Without /proc (macOS): boot time in seconds since the epoch, from `os.uptime()` (±1 s). */
  bootTime?: number;
}

/** What can be said of a lock's holder from this process. */
export type HolderState =
  | { kind: "alive" }
  | { kind: "gone" }
  /** `why`: a clause for an error message ("it was written on host db-2"). */
  | { kind: "unknown"; why: string };

/** What `judgeHolder` needs to look at processes; `systemProbe` reads the real ones. */
export interface ProcessProbe {
  /** This process, as a lock file records it. */
  self(): ProcessIdentity;
  /** Whether the pid namespace of this host can be inspected (Linux with /proc readable). */
  hasProc(): boolean;
  /** `undefined`: no process with this pid. `null`: one exists but nothing can be read of it. */
  startTimeOf(pid: number): { startTime: number; exited: boolean } | undefined | null;
  /** Whether a process with this pid exists (`kill(pid, 0)`). */
  isRunning(pid: number): boolean;
  platform: string;
}

// Two readings of the boot time through os.uptime() (whole seconds on macOS) may differ by 1 s;
// two boots are always further apart than this.
const BOOT_TIME_SLACK_S = 2;

/**
 * Judges the holder of a lock: `gone` only when proven (same host, same boot, same PID
 * namespace, and no process with that pid, or one that started at another time: the pid was
 * reused). Everything that cannot be checked from here is `unknown`, never `gone`.
 *
 * Without /proc (macOS, which has no PID namespaces) a holder written on this host and boot by
 * a process that had no /proc either is `gone` when no process has its pid; a running pid
 * counts as `alive` (a reused pid cannot be told apart there). Other platforms without /proc
 * judge nothing.
 */
export function judgeHolder(holder: ProcessIdentity, probe: ProcessProbe = systemProbe): HolderState {
  const self = probe.self();
  if (holder.hostname !== self.hostname) return { kind: "unknown", why: `it was written on host ${holder.hostname} (this is ${self.hostname})` };
  if (probe.hasProc()) {
    if (holder.bootId === undefined || holder.pidNamespace === undefined || holder.startTime === undefined) {
      return {
        kind: "unknown",
        why:
          holder.bootTime === undefined
            ? "the lock file records no boot id, PID namespace or start time for it (written by rxtrade 0.1.0, or where /proc was unreadable)"
            : `it was written on a system without /proc`,
      };
    }
    if (holder.bootId !== self.bootId) return { kind: "unknown", why: `it was written during another boot of this host (boot id ${holder.bootId})` };
    if (holder.pidNamespace !== self.pidNamespace) {
      return { kind: "unknown", why: `it runs in another PID namespace (${holder.pidNamespace}; this process: ${self.pidNamespace}), e.g. a container sharing this folder` };
    }
    const found = probe.startTimeOf(holder.pid);
    const unreadable = { kind: "unknown", why: `a process ${holder.pid} exists, but /proc/${holder.pid}/stat cannot be read to tell whether it is the holder` } as const;
    if (found === undefined) return probe.isRunning(holder.pid) ? unreadable : { kind: "gone" };
    if (found === null) return unreadable;
    if (found.startTime !== holder.startTime) return { kind: "gone" }; // the pid was reused
    // A zombie (exited, not yet reaped) holds nothing: its code no longer runs.
    return found.exited ? { kind: "gone" } : { kind: "alive" };
  }
  if (probe.platform === "linux") return { kind: "unknown", why: "/proc cannot be read here, so its PID namespace cannot be checked" };
  if (probe.platform !== "darwin") return { kind: "unknown", why: `a holder cannot be proven gone on ${probe.platform}` };
  if (holder.pidNamespace !== undefined || holder.bootTime === undefined || self.bootTime === undefined) {
    return { kind: "unknown", why: holder.bootTime === undefined ? "the lock file does not record the boot it was written in" : "it was written on a system with PID namespaces" };
  }
  if (Math.abs(holder.bootTime - self.bootTime) > BOOT_TIME_SLACK_S) return { kind: "unknown", why: "it was written during another boot of this host" };
  return probe.isRunning(holder.pid) ? { kind: "alive" } : { kind: "gone" };
}

/** The real processes of this host. */
export const systemProbe: ProcessProbe = {
  self: () => selfIdentity(),
  hasProc: () => selfIdentity().pidNamespace !== undefined,
  startTimeOf,
  isRunning,
  platform: process.platform,
};

let self: ProcessIdentity | undefined;

/** This process's identity, read once (none of it changes while the process runs). */
export function selfIdentity(): ProcessIdentity {
  if (self !== undefined && self.pid === process.pid) return self;
  const identity: ProcessIdentity = { pid: process.pid, hostname: hostname() };
  const proc = readProc();
  if (proc !== undefined) Object.assign(identity, proc);
  else if (process.platform === "darwin") identity.bootTime = Math.round(Date.now() / 1000 - uptime());
  self = identity;
  return identity;
}

function readProc(): Pick<ProcessIdentity, "bootId" | "pidNamespace" | "startTime"> | undefined {
  if (process.platform !== "linux") return undefined;
  try {
    // /proc must be the one of this process's PID namespace, or the pids it shows are not ours.
    if (readlinkSync("/proc/self") !== String(process.pid)) return undefined;
    const bootId = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    const pidNamespace = readlinkSync("/proc/self/ns/pid");
    const stat = parseStat(readFileSync("/proc/self/stat", "utf8"));
    if (bootId === "" || stat === undefined) return undefined;
    return { bootId, pidNamespace, startTime: stat.startTime };
  } catch {
    return undefined;
  }
}

function startTimeOf(pid: number): { startTime: number; exited: boolean } | undefined | null {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch (error) {
    // ENOENT also when /proc hides other users' processes (hidepid): the caller asks kill(pid, 0).
    return (error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "ESRCH" ? undefined : null;
  }
  const stat = parseStat(text);
  return stat === undefined ? null : { startTime: stat.startTime, exited: stat.state === "Z" || stat.state === "X" };
}

/** Fields of /proc/<pid>/stat: the command (field 2) may hold spaces and parentheses, so fields are counted after its last `)`. */
function parseStat(text: string): { state: string; startTime: number } | undefined {
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state), so field 22 (starttime) is fields[19].
  const state = fields[0];
  const startTime = Number(fields[19]);
  if (state === undefined || !Number.isSafeInteger(startTime)) return undefined;
  return { state, startTime };
}

/** Whether a process with this pid exists (on this host, in this PID namespace). */
export function isRunning(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
