// Runs before every test file. Most files share their worker's process and module graph
// (vitest.config.ts, project "shared"), so each file starts from what a fresh process has:
// real timers, rxjs's and rxtrade's default configuration, no stubs left by the file before.
import { config as rxjsConfig } from "rxjs";
import { afterAll, vi } from "vitest";
import { getDefaultConfig, setConfig } from "../../src/config";

const rxjsDefaults = { ...rxjsConfig };

afterAll(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  vi.unstubAllGlobals();
  Object.assign(rxjsConfig, rxjsDefaults);
  setConfig(getDefaultConfig());
});
