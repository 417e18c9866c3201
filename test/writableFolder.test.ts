// The check of a folder given on the command line (--store, --report-dir) is bounded in time: a
// folder on a hung mount, or under /proc (where Node's recursive mkdir never answers), is
// refused with a UsageError naming it and the limit instead of hanging the start.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { checkWritableFolder } from "../src/cli/writableFolder";

it("refuses a folder whose creation does not answer within the limit, naming it, the limit and the fix", async () => {
  const started = Date.now();
  const hung = () => new Promise<void>(() => undefined);
  await expect(checkWritableFolder("run", "store", "/mnt/hung/store", "./.rxtrade", { seconds: 0.2, create: hung })).rejects.toThrow(
    "--store /mnt/hung/store is not a folder rxtrade can write to: the file system did not answer within 0.2 s (a hung mount, or a special file system such as /proc?) (ETIMEDOUT); give another, e.g. --store ./.rxtrade",
  );
  expect(Date.now() - started).toBeLessThan(2_000);
});

it("still creates and accepts a folder it can write", async () => {
  const work = await mkdtemp(join(tmpdir(), "rxtrade-writable-"));
  try {
    expect(await checkWritableFolder("run", "store", join(work, "a", "b"), "./.rxtrade")).toBe(join(work, "a", "b"));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
