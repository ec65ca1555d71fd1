import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, test } from "vitest";

const ROOT = join(import.meta.dirname, "..");
const BIN = join(ROOT, "dist", "trunkline.js");
const SEED = join(ROOT, "test", "fixtures", "seed");

function trunkline(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
}

// The bundled executable (built by the global setup) runs under plain Node 20, where the
// official parser's JSON import would otherwise fail.
describe("the built trunkline executable", () => {
  test("validates the seed workflows", () => {
    const result = trunkline("validate", "-C", SEED);
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe("✓ 3 workflow files valid\n");
    expect(result.status).toBe(0);
  });

  test("plans a tag push as JSON", () => {
    const result = trunkline(
      "plan",
      "-C",
      SEED,
      "--ref",
      "refs/tags/v1.2.3",
      "--sha",
      "f".repeat(40),
      "--json",
    );
    expect(result.status).toBe(0);
    const plan = JSON.parse(result.stdout);
    const prod = plan.workflows[2].jobs.find((j: { id: string }) => j.id === "deploy-production");
    expect(prod).toMatchObject({ state: "waits-for-approval", environment: "production" });
  });

  test("a user mistake is one line on stderr and exit code 2, no stack trace", () => {
    const result = trunkline("plan", "-C", SEED, "--var", "oops");
    expect(result.stderr).toBe("trunkline: --var oops: expected KEY=VALUE\n");
    expect(result.status).toBe(2);
  });
});
