import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Builds the CLI bundle once, so tests can run the real `trunkline` executable, and gives
 * the run a cache directory of its own (`XDG_CACHE_HOME`, inherited by the test processes
 * and every CLI they start), so tests neither read nor fill the user's cache.
 */
export default function setup(): () => void {
  execFileSync(process.execPath, ["scripts/build.mjs"], { stdio: "inherit" });
  const cache = mkdtempSync(join(tmpdir(), "trunkline-test-cache-"));
  process.env.XDG_CACHE_HOME = cache;
  process.env.TRUNKLINE_ACTIONS_URL = "none";
  return () => rmSync(cache, { recursive: true, force: true });
}
