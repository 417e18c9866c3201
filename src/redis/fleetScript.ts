import { createHash } from "node:crypto";
import type { LuaScript } from "./redisScripts";

/** A fleet script, run with `runScript` as the store's are. */
export function script(name: string, source: string): LuaScript {
  return { name, source, sha: createHash("sha1").update(source).digest("hex") };
}
