import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    // Same public names as tsconfig "paths". Anchored, since a plain "rxtrade" key would
    // also rewrite the "rxtrade/" prefix of the subpath entries.
    alias: [
      { find: /^rxtrade$/, replacement: here("./src/index.ts") },
      { find: /^rxtrade\/operators$/, replacement: here("./operators/index.ts") },
      { find: /^rxtrade\/testing$/, replacement: here("./src/testing/index.ts") },
      { find: /^rxtrade\/node$/, replacement: here("./src/node/index.ts") },
      { find: /^rxtrade\/browser$/, replacement: here("./src/browser/index.ts") },
      { find: /^rxtrade\/ccxt$/, replacement: here("./src/ccxt/index.ts") },
      { find: /^rxtrade\/service$/, replacement: here("./src/service/index.ts") },
      { find: /^rxtrade\/redis$/, replacement: here("./src/redis/index.ts") },
    ],
  },
  test: {
    include: ["test/**/*.test.ts", "examples/**/*.test.ts"],
    environment: "node",
    testTimeout: 20_000,
  },
});
