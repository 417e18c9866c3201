// Global setup: builds the command line once for the whole test run, before any file starts,
// so the twenty-odd files that spawn it share one build (test/fixtures/processHarness.ts
// `bundle` links to it) instead of each running esbuild.
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildInto } from "../fixtures/processHarness";

const cache = join(fileURLToPath(new URL("../../", import.meta.url)), "node_modules", ".cache");

export default async function setup(): Promise<() => Promise<void>> {
  const { mkdir } = await import("node:fs/promises");
  await mkdir(cache, { recursive: true });
  const dir = await mkdtemp(join(cache, "rxtrade-bundles-"));
  await buildInto("src/cli/index.ts", dir);
  process.env.RXTRADE_TEST_BUNDLES = dir;
  return async () => {
    await rm(dir, { recursive: true, force: true });
  };
}
