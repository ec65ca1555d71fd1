import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { runCli } from "./helpers/capture.js";
import { tempRepo } from "./helpers/temp-repo.js";

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const c of cleanups) c();
});

/** Whether this machine lets a test make a file immutable (root on ext4 and the like). */
function canMakeImmutable(dir: string): boolean {
  const probe = join(dir, "probe");
  try {
    writeFileSync(probe, "");
    execFileSync("chattr", ["+i", probe], { stdio: "ignore" });
    execFileSync("chattr", ["-i", probe], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { force: true });
  }
}

const WORKFLOW = `
on: push
jobs:
  first:
    runs-on: ubuntu-latest
    outputs:
      ws: \${{ github.workspace }}
    steps:
      - run: |
          echo stuck > stuck
          chattr +i stuck
          echo "$PWD/stuck" > "$RUNNER_TEMP/../../../stuck-path"
  second:
    needs: first
    runs-on: ubuntu-latest
    steps:
      - run: test ! -e stuck
      - run: test "\${{ needs.first.outputs.ws }}" != "\${{ github.workspace }}"
`;

test("a job directory the last job left unremovable is not reused: the next job gets a new one", async (context) => {
  const repo = tempRepo({ ".github/workflows/ci.yml": WORKFLOW }, { git: true });
  cleanups.push(repo.cleanup);
  if (!canMakeImmutable(repo.dir)) context.skip("chattr +i is not available here");
  const runDir = join(repo.dir, ".run");
  // The immutable file is made mutable again before the repository is removed, even when
  // the test fails midway.
  cleanups.unshift(() => {
    if (existsSync(join(runDir, "stuck-path"))) {
      execFileSync("chattr", ["-i", readFileSync(join(runDir, "stuck-path"), "utf8").trim()]);
    }
  });
  const result = await runCli(["run", "-C", repo.dir, "--run-dir", runDir, "--jobs", "1"]);
  expect(result.stdout + result.stderr).toMatch(/second/);
  expect(result.code).toBe(0);
  // The run could not remove the first job's directory, and said so.
  expect(result.stderr).toContain("could not remove the run's job directories");
});
