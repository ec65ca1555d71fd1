import { execFileSync } from "node:child_process";

/** Builds the CLI bundle once, so tests can run the real `trunkline` executable. */
export default function setup(): void {
  execFileSync(process.execPath, ["scripts/build.mjs"], { stdio: "inherit" });
}
