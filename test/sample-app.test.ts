import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { runCli } from "./helpers/capture.js";

const APP = join(import.meta.dirname, "..", "examples", "orders-app");
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh git repository holding the sample app, as a team's would. */
function checkout(): string {
  const dir = mkdtempSync(join(tmpdir(), "trunkline-orders-"));
  dirs.push(dir);
  cpSync(APP, dir, { recursive: true, filter: (src) => !/\/(node_modules|dist)(\/|$)/.test(src) });
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.email=dev@example.com", "-c", "user.name=dev", ...args], {
      cwd: dir,
    });
  git("init", "-q", "-b", "main");
  git("add", "-A");
  git("commit", "-q", "-m", "orders-api");
  return dir;
}

interface Finished {
  type: string;
  job: string;
  status: string;
  reason?: string;
}

describe("the seed pipeline on the sample app, for real", () => {
  test("a push to main runs quality, tests, security, build and the dev deployment; staging waits for approval", async () => {
    const dir = checkout();
    const runDir = join(dir, ".run");
    const result = await runCli(["run", "-C", dir, "--json", "--run-dir", runDir]);
    const finished = result.stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Finished)
      .filter((e) => e.type === "job.finished");
    const status = Object.fromEntries(
      finished.map((e) => [e.job.replace(/^.* \/ /, ""), e.status]),
    );
    const logs = readdirSync(join(runDir, "logs"));
    expect(
      status,
      `${result.stderr}\n${JSON.stringify(finished, null, 1)}\n${logs.join(", ")}`,
    ).toEqual({
      quality: "success",
      "test-unit": "success",
      "test-integration": "success",
      "test-contracts": "success",
      security: "success",
      build: "success",
      "deploy-dev": "success",
      "deploy-staging": "skipped",
      "deploy-production": "skipped",
    });
    expect(finished.find((e) => e.job.endsWith("deploy-staging"))?.reason).toContain(
      "--approve staging",
    );
    expect(result.code).toBe(0);
    expect(existsSync(join(runDir, "artifacts"))).toBe(true);
    expect(readdirSync(join(runDir, "summaries")).length).toBeGreaterThan(0);
  }, 180_000);
});
