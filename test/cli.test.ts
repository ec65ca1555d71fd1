import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { paletteFor } from "../src/cli/terminal.js";
import { runCli } from "./helpers/capture.js";
import { tempRepo } from "./helpers/temp-repo.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});
function repo(files: Record<string, string>, options: { git?: boolean } = {}) {
  const r = tempRepo(files, options);
  cleanups.push(r.cleanup);
  return r;
}

const GOOD =
  "name: Good\non: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps: [{ run: echo }]\n";
const BAD =
  "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: zz\n    steps:\n      - run: echo ${{ nope }}\n";
const SHA = "c".repeat(40);

describe("trunkline validate", () => {
  test("reports every problem as file:line:col and fails", async () => {
    const { dir } = repo({ ".github/workflows/good.yml": GOOD, ".github/workflows/bad.yml": BAD });
    const result = await runCli(["validate", "-C", dir]);
    expect(result.stdout.split("\n")).toEqual([
      ".github/workflows/bad.yml:5:12: Job 'a' depends on unknown job 'zz'.",
      ".github/workflows/bad.yml:7:19: Unrecognized named-value: 'nope'",
      "✗ 2 errors in 1 of 2 workflow files",
    ]);
    expect(result.code).toBe(1);
  });

  test("--json gives the diagnostics as data", async () => {
    const { dir } = repo({ ".github/workflows/bad.yml": BAD });
    const result = await runCli(["validate", "-C", dir, "--json"]);
    const json = JSON.parse(result.stdout);
    expect(json.valid).toBe(false);
    expect(json.files).toEqual([".github/workflows/bad.yml"]);
    expect(json.diagnostics[0]).toEqual({
      file: ".github/workflows/bad.yml",
      line: 5,
      column: 12,
      severity: "error",
      code: "workflow/unknown-need",
      message: "Job 'a' depends on unknown job 'zz'.",
    });
  });

  test("warnings alone do not fail", async () => {
    const inject =
      "on: issues\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo ${{ github.event.issue.body }}\n";
    const { dir } = repo({ ".github/workflows/w.yaml": inject });
    const result = await runCli(["validate", "-C", dir]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^\.github\/workflows\/w\.yaml:6:19: warning: 'github\.event\.issue\.body'/,
    );
    expect(result.stdout).toMatch(/✓ 1 workflow file valid, 1 warning$/);
  });

  test("named files, a missing file, and the config file", async () => {
    const { dir } = repo({
      "ci.yml": GOOD,
      ".trunkline/config.yml": "environments:\n  prod:\n    wait-timer: -1\n",
    });
    const result = await runCli(["validate", "-C", dir, "ci.yml", "nope.yml"]);
    expect(result.stdout.split("\n")).toEqual([
      ".trunkline/config.yml:3:17: environments.prod.wait-timer must be a whole number of minutes",
      "nope.yml:1:1: no such file",
      "✗ 2 errors in 2 of 2 workflow files",
    ]);
  });

  test("a directory or an unreadable file in the way is a diagnostic, not a crash", async () => {
    const { dir } = repo({ ".github/workflows/dir.yml/x": "", ".github/workflows/ok.yml": GOOD });
    const result = await runCli(["validate", "-C", dir]);
    expect(result.stdout.split("\n")).toEqual([
      ".github/workflows/dir.yml:1:1: not a regular file",
      "✗ 1 error in 1 of 2 workflow files",
    ]);
  });

  test("a file over the size limit is refused unread", async () => {
    const { dir } = repo({
      ".github/workflows/huge.yml": `${GOOD}${"#".repeat(2 * 1024 * 1024)}\n`,
    });
    const result = await runCli(["validate", "-C", dir]);
    expect(result.stdout.split("\n")[0]).toBe(
      ".github/workflows/huge.yml:1:1: file is 2.0 MiB; the limit is 1.0 MiB",
    );
    expect(result.code).toBe(1);
  });

  test("no workflows directory is a one-line error, not a stack trace", async () => {
    const { dir } = repo({ "README.md": "hi" });
    const result = await runCli(["validate", "-C", dir]);
    expect(result.stderr).toBe(`trunkline: no .github/workflows directory in ${dir}`);
    expect(result.code).toBe(1);
  });
});

describe("trunkline plan", () => {
  const PATHS =
    "name: Api\non:\n  push:\n    paths: ['api/**']\n  pull_request:\n    branches: [main]\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps: [{ run: echo }]\n";

  test("--before diffs commits with git for path filters", async () => {
    const r = repo(
      { ".github/workflows/api.yml": PATHS, "api/a.txt": "1", "web/b.txt": "1" },
      { git: true },
    );
    const first = r.git("rev-parse", "HEAD");
    writeFileSync(join(r.dir, "web/b.txt"), "2");
    r.git("commit", "-qam", "web only");
    const webOnly = await runCli(["plan", "-C", r.dir, "--before", first, "--json"]);
    const plan = JSON.parse(webOnly.stdout);
    expect(plan.event).toEqual({
      name: "push",
      ref: "refs/heads/main",
      sha: r.git("rev-parse", "HEAD"),
    });
    expect(plan.workflows[0]).toMatchObject({
      fires: false,
      reason: "no changed file matches paths [api/**]",
    });
    const apiChanged = await runCli([
      "plan",
      "-C",
      r.dir,
      "--changed-files",
      "api/x,web/y",
      "--json",
    ]);
    expect(JSON.parse(apiChanged.stdout).workflows[0].fires).toBe(true);
  });

  test("a head commit whose message says [skip ci] triggers no push workflow, and run says so", async () => {
    const r = repo(
      {
        ".github/workflows/ci.yml":
          "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps: [{ run: echo }]\n",
      },
      { git: true },
    );
    r.git("commit", "-q", "--allow-empty", "-m", "Only docs [skip ci]");
    const plan = JSON.parse((await runCli(["plan", "-C", r.dir, "--json"])).stdout);
    expect(plan.workflows[0]).toMatchObject({
      fires: false,
      reason: "the head commit's message says [skip ci]",
    });
    const run = await runCli(["run", "-C", r.dir, "--run-dir", join(r.dir, ".run")]);
    expect(run).toMatchObject({ code: 0 });
    expect(run.stdout).toContain("No workflow is triggered by push refs/heads/main");
    r.git("commit", "-q", "--allow-empty", "-m", "Real change");
    // (--sha: the tests' commands share one process, which remembers HEAD per directory.)
    const sha = r.git("rev-parse", "HEAD");
    const next = JSON.parse((await runCli(["plan", "-C", r.dir, "--sha", sha, "--json"])).stdout);
    expect(next.workflows[0].fires).toBe(true);
  });

  test("a bad --before revision is named", async () => {
    const r = repo({ ".github/workflows/api.yml": PATHS }, { git: true });
    const result = await runCli(["plan", "-C", r.dir, "--before", "nosuchrev"]);
    expect(result.stderr).toMatch(
      /^trunkline: --before nosuchrev: git cannot diff it against [0-9a-f]{40}$/,
    );
    expect(result.code).toBe(2);
  });

  test("pull_request with --base and an event payload", async () => {
    const { dir } = repo({
      ".github/workflows/api.yml": PATHS,
      "pr.json": JSON.stringify({
        action: "opened",
        pull_request: { number: 9, base: { ref: "develop" }, head: { ref: "f", sha: SHA } },
      }),
    });
    const fromPayload = JSON.parse(
      (
        await runCli([
          "plan",
          "-C",
          dir,
          "--event",
          "pull_request",
          "--event-file",
          "pr.json",
          "--json",
        ])
      ).stdout,
    );
    expect(fromPayload.event).toEqual({
      name: "pull_request",
      ref: "refs/pull/9/merge",
      sha: SHA,
      action: "opened",
    });
    expect(fromPayload.workflows[0]).toMatchObject({
      fires: false,
      reason: "base branch develop matches none of [main]",
    });
    const toMain = JSON.parse(
      (
        await runCli([
          "plan",
          "-C",
          dir,
          "--event",
          "pull_request",
          "--base",
          "main",
          "--sha",
          SHA,
          "--json",
        ])
      ).stdout,
    );
    expect(toMain.workflows[0].fires).toBe(true);
  });

  test("bad flags and payloads are usage errors that name the flag", async () => {
    const { dir } = repo({ ".github/workflows/g.yml": GOOD, "bad.json": "[1]" });
    expect(await runCli(["plan", "-C", dir, "--input", "novalue"])).toMatchObject({
      code: 2,
      stderr: "trunkline: --input novalue: expected KEY=VALUE",
    });
    expect(await runCli(["plan", "-C", dir, "--event-file", "bad.json"])).toMatchObject({
      code: 2,
      stderr: `trunkline: --event-file ${join(dir, "bad.json")}: not a JSON object`,
    });
    expect(await runCli(["plan", "-C", dir, "--event-file", "none.json"])).toMatchObject({
      code: 2,
      stderr: `trunkline: --event-file ${join(dir, "none.json")}: no such file`,
    });
    const unknown = await runCli(["plan", "--frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("error: unknown option '--frobnicate'");
  });

  test("invalid workflows are reported, valid ones still planned, and the exit code says so", async () => {
    const { dir } = repo({ ".github/workflows/good.yml": GOOD, ".github/workflows/bad.yml": BAD });
    const result = await runCli(["plan", "-C", dir, "--ref", "main", "--sha", SHA]);
    expect(result.stderr).toContain(
      ".github/workflows/bad.yml:5:12: Job 'a' depends on unknown job 'zz'.",
    );
    expect(result.stdout).toContain("Good .github/workflows/good.yml — push to main");
    expect(result.code).toBe(1);
  });

  test("dispatch inputs are checked against their definitions", async () => {
    const wf =
      "on:\n  workflow_dispatch:\n    inputs:\n      n:\n        type: number\njobs:\n  a:\n    runs-on: x\n    steps: [{ run: echo }]\n";
    const { dir } = repo({ ".github/workflows/d.yml": wf });
    const bad = await runCli([
      "plan",
      "-C",
      dir,
      "--event",
      "workflow_dispatch",
      "--input",
      "n=x",
      "--sha",
      SHA,
    ]);
    expect(bad.stdout).toContain("✗ input 'n' must be a number, not 'x'");
    expect(bad.code).toBe(1);
    const good = await runCli([
      "plan",
      "-C",
      dir,
      "--event",
      "workflow_dispatch",
      "--input",
      "n=3",
      "--sha",
      SHA,
      "--var",
      "A=b",
    ]);
    expect(good.code).toBe(0);
  });

  test("--help and --version exit 0", async () => {
    const help = await runCli(["plan", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--changed-files <files...>");
    expect((await runCli(["--version"])).stdout).toBe("0.1.0");
  });
});

describe("terminal colours", () => {
  test("on for a TTY, off for pipes, NO_COLOR and FORCE_COLOR respected", () => {
    expect(paletteFor({ isTTY: true }, {}).red("x")).not.toBe("x");
    expect(paletteFor({ isTTY: false }, {}).red("x")).toBe("x");
    expect(paletteFor({ isTTY: true }, { NO_COLOR: "1" }).red("x")).toBe("x");
    expect(paletteFor({ isTTY: false }, { FORCE_COLOR: "1" }).red("x")).not.toBe("x");
  });
});
