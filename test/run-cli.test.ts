import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { runCli } from "./helpers/capture.js";
import { tempRepo } from "./helpers/temp-repo.js";

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const c of cleanups) c();
});

const WORKFLOW = `
name: flags
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: test "\${{ secrets.FROM_ENV }}" = from-the-environment
  test:
    needs: build
    runs-on: ubuntu-latest
    steps:
      - run: echo testing
  lint:
    runs-on: ubuntu-latest
    steps:
      - run: echo linting
  deploy:
    needs: test
    runs-on: ubuntu-latest
    environment: staging
    steps:
      - run: echo deploying
`;
const CONFIG = "environments:\n  staging:\n    reviewers: [ana]\n";

function repo() {
  const r = tempRepo(
    { ".github/workflows/flags.yml": WORKFLOW, ".trunkline/config.yml": CONFIG },
    { git: true },
  );
  cleanups.push(r.cleanup);
  return r;
}

interface Finished {
  type: string;
  job: string;
  status: string;
  reason?: string;
}

async function run(args: string[]) {
  const r = repo();
  const result = await runCli([
    "run",
    "-C",
    r.dir,
    "--json",
    "--run-dir",
    join(r.dir, ".run"),
    ...args,
  ]);
  const events = result.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Finished);
  const jobs = Object.fromEntries(
    events
      .filter((e) => e.type === "job.finished")
      .map((e) => [e.job.replace(/^.* \/ /, ""), e.status]),
  );
  return { ...result, events, jobs };
}

describe("trunkline run flags", () => {
  test("-j runs a job and what it needs, nothing else", async () => {
    process.env.FROM_ENV = "from-the-environment";
    const result = await run(["-j", "test", "--secret", "FROM_ENV"]);
    expect(result.jobs).toEqual({ build: "success", test: "success" });
    expect(result.code).toBe(0);
  });

  test("a protected environment waits for --approve", async () => {
    process.env.FROM_ENV = "from-the-environment";
    const held = await run(["--secret", "FROM_ENV"]);
    expect(held.jobs.deploy).toBe("skipped");
    expect(
      held.events.find((e) => e.type === "job.finished" && e.job.endsWith("deploy"))?.reason,
    ).toContain("--approve staging");
    const approved = await run(["--secret", "FROM_ENV", "--approve", "staging"]);
    expect(approved.jobs).toEqual({
      build: "success",
      test: "success",
      lint: "success",
      deploy: "success",
    });
  });

  test("--json streams the run's events in order", async () => {
    process.env.FROM_ENV = "from-the-environment";
    const result = await run(["--secret", "FROM_ENV", "-j", "lint"]);
    expect(result.events.map((e) => e.type)).toEqual([
      "run.started",
      "job.queued",
      "job.started",
      "step.started",
      "log",
      "step.finished",
      "job.finished",
      "run.finished",
    ]);
  });

  test("mistakes in flags are named", async () => {
    const r = repo();
    expect(await runCli(["run", "-C", r.dir, "-j", "nope"])).toMatchObject({
      code: 2,
      stderr: "trunkline: -j nope: no such job in the workflows this event triggers",
    });
    expect(await runCli(["run", "-C", r.dir, "--jobs", "0"])).toMatchObject({
      code: 2,
      stderr: "trunkline: --jobs 0: expected a whole number of at least 1",
    });
    delete process.env.NOT_SET_ANYWHERE;
    expect(await runCli(["run", "-C", r.dir, "--secret", "NOT_SET_ANYWHERE"])).toMatchObject({
      code: 2,
      stderr: "trunkline: --secret NOT_SET_ANYWHERE: no such environment variable",
    });
    expect(await runCli(["run", "-C", r.dir, "--secret-file", "missing.env"])).toMatchObject({
      code: 2,
      stderr: "trunkline: --secret-file missing.env: no such file",
    });
  });

  test("an event no workflow listens to runs nothing and succeeds", async () => {
    const r = repo();
    const result = await runCli(["run", "-C", r.dir, "--event", "issues"]);
    expect(result).toMatchObject({
      code: 0,
      stdout: "No workflow is triggered by issues refs/heads/main.",
    });
  });
});
