// Issue 12 review, fix 9 (new feature): rxtrade fleet worker --modules-dir DIR loads the pairs'
// strategy and exchange modules only from within DIR (links resolved): a pair's paths come from
// Redis, so write access to it would otherwise be code execution on every worker.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { main } from "../src/cli/main";
import { checkModulePath, modulesFolder } from "../src/cli/fleetWorkerCommand";
import { Terminal } from "../src/cli/terminal";

const root = mkdtempSync(join(tmpdir(), "rxtrade-modules-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

it("a module inside the folder is allowed; one outside, through .. or through a link is not", () => {
  const dir = join(root, "modules");
  mkdirSync(join(dir, "sub"), { recursive: true });
  writeFileSync(join(dir, "sub", "ok.mjs"), "export default {}");
  writeFileSync(join(root, "evil.mjs"), "export default {}");
  symlinkSync(join(root, "evil.mjs"), join(dir, "link.mjs"));
  const allowed = modulesFolder(dir);
  expect(() => checkModulePath(join(dir, "sub", "ok.mjs"), allowed)).not.toThrow();
  expect(() => checkModulePath(join(root, "evil.mjs"), allowed)).toThrow(`the module ${join(root, "evil.mjs")} is outside --modules-dir ${allowed}`);
  expect(() => checkModulePath(join(dir, "..", "evil.mjs"), allowed)).toThrow("is outside --modules-dir");
  expect(() => checkModulePath(join(dir, "link.mjs"), allowed)).toThrow("is outside --modules-dir");
  // A sibling folder whose name starts with the allowed one's is outside too.
  mkdirSync(join(root, "modules-evil"));
  writeFileSync(join(root, "modules-evil", "x.mjs"), "export default {}");
  expect(() => checkModulePath(join(root, "modules-evil", "x.mjs"), allowed)).toThrow("is outside --modules-dir");
});

it("fleet worker --modules-dir of a folder that does not exist is a usage error (exit 2)", async () => {
  let err = "";
  const terminal = new Terminal({ write: () => undefined }, { write: (text: string) => (err += text) });
  const code = await main(["fleet", "worker", "--modules-dir", join(root, "nope"), "--redis", "redis://127.0.0.1:1"], terminal);
  expect(code).toBe(2);
  expect(err).toContain(`--modules-dir ${join(root, "nope")}: no such folder`);
});
