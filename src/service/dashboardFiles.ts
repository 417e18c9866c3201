import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/** A file of the dashboard as served: its bytes and Content-Type. */
export interface DashboardFile {
  body: Buffer;
  type: string;
}

// The page's own files ship in the package's assets/dashboard/ (package.json "files"); uPlot's
// come from the installed uplot package. Nothing is built for the user.
const FILES: Record<string, { from: "assets" | "uplot"; path: string; type: string }> = {
  "index.html": { from: "assets", path: "index.html", type: "text/html; charset=utf-8" },
  "dashboard.js": { from: "assets", path: "dashboard.js", type: "text/javascript; charset=utf-8" },
  "dashboard.css": { from: "assets", path: "dashboard.css", type: "text/css; charset=utf-8" },
  "uPlot.iife.min.js": { from: "uplot", path: "uplot/dist/uPlot.iife.min.js", type: "text/javascript; charset=utf-8" },
  "uPlot.min.css": { from: "uplot", path: "uplot/dist/uPlot.min.css", type: "text/css; charset=utf-8" },
};

/** The names `/assets/<name>` serves. */
export const DASHBOARD_ASSETS: readonly string[] = Object.keys(FILES).filter((name) => name !== "index.html");

const cache = new Map<string, Promise<DashboardFile>>();

/**
 * A file of the dashboard (`index.html`, `dashboard.js`, `dashboard.css`, `uPlot.iife.min.js`,
 * `uPlot.min.css`), read once per process; `undefined` for another name. Rejects, saying where
 * it looked, when the file is missing (an incomplete install).
 */
export function dashboardFile(name: string): Promise<DashboardFile> | undefined {
  const file = FILES[name];
  if (file === undefined) return undefined;
  let loading = cache.get(name);
  if (loading === undefined) {
    loading = (async () => {
      let path = file.from === "assets" ? fileURLToPath(new URL(file.path, assetsFolder())) : file.path;
      try {
        if (file.from === "uplot") path = createRequire(import.meta.url).resolve(file.path);
        return { body: await readFile(path), type: file.type };
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? String(error);
        throw new Error(`the dashboard's ${name} cannot be read at ${path} (${code}): the install of rxtrade (or of its dependency uplot) is incomplete; reinstall it (npm install rxtrade)`);
      }
    })();
    // A failed read is tried again at the next request.
    loading.catch(() => cache.delete(name));
    cache.set(name, loading);
  }
  return loading;
}

function assetsFolder(): URL {
  // Source: src/service/ -> ../../assets; built: dist/ -> ../assets. Both resolve from this module.
  const url = import.meta.url;
  return new URL(/\/src\/service\/[^/]+$/.test(url) ? "../../assets/dashboard/" : "../assets/dashboard/", url);
}
