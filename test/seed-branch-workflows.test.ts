import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { runCli } from "./helpers/capture.js";

const SEED = join(import.meta.dirname, "fixtures", "seed");
const SHA = "4f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39";

const CHECKS = ["quality", "test", "test-unit", "test-integration", "test-contracts", "security"];

/**
 * The seed guide's "Branch Workflows" table, job by job. Hotfix branches also get a
 * "fast-track review", which is a pull request review (branch protection), not a job.
 */
const GUIDE: Record<string, { run: string[]; approval: string[]; skipped: string[] }> = {
  "refs/heads/feature/x": {
    run: CHECKS,
    approval: [],
    skipped: ["build", "deploy-dev", "deploy-staging", "deploy-production"],
  },
  "refs/heads/main": {
    run: [...CHECKS, "build", "deploy-dev"],
    approval: ["deploy-staging"],
    skipped: ["deploy-production"],
  },
  "refs/tags/v1.2.3": {
    run: [...CHECKS, "build"],
    approval: ["deploy-production"],
    skipped: ["deploy-dev", "deploy-staging"],
  },
  "refs/heads/hotfix/x": {
    run: CHECKS,
    approval: [],
    skipped: ["build", "deploy-dev", "deploy-staging", "deploy-production"],
  },
};

interface JsonPlan {
  workflows: {
    name: string;
    fires: boolean;
    jobs: { id: string; state: string; reason: string }[];
  }[];
}

describe("trunkline plan reproduces the seed guide's Branch Workflows table", () => {
  test.each(Object.keys(GUIDE))("push %s", async (ref) => {
    const result = await runCli([
      "plan",
      "-C",
      SEED,
      "--event",
      "push",
      "--ref",
      ref,
      "--sha",
      SHA,
      "--json",
    ]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const plan = JSON.parse(result.stdout) as JsonPlan;
    expect(plan.workflows.map((w) => [w.name, w.fires])).toEqual([
      ["Backend CI", true],
      ["Frontend CI", true],
      ["Pipeline", true],
    ]);
    const byState = (state: string) =>
      [
        ...new Set(
          plan.workflows.flatMap((w) => w.jobs.filter((j) => j.state === state).map((j) => j.id)),
        ),
      ].sort();
    const expected = GUIDE[ref] as (typeof GUIDE)[string];
    expect(byState("will-run")).toEqual([...expected.run].sort());
    expect(byState("waits-for-approval")).toEqual([...expected.approval].sort());
    expect(byState("skipped")).toEqual([...expected.skipped].sort());
    const others = plan.workflows
      .flatMap((w) => w.jobs)
      .filter((j) => !["will-run", "waits-for-approval", "skipped"].includes(j.state));
    expect(others).toEqual([]);
  });

  test("the text plan says why each job is held or skipped", async () => {
    const result = await runCli([
      "plan",
      "-C",
      SEED,
      "--ref",
      "main",
      "--sha",
      SHA,
      "-W",
      ".github/workflows/pipeline.yml",
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      "⏸ deploy-staging     waits for approval: environment 'staging' needs 1 approval from qa-lead, tech-lead",
    );
    expect(result.stdout).toContain(
      "– deploy-production  skipped: if: startsWith(github.ref, 'refs/tags/v') is false",
    );
    expect(result.stdout).toContain("build ← quality, test-unit, test-integration, security");
    expect(result.stdout).toContain(
      "1 workflow triggered: 7 will run, 1 waits for approval, 1 skipped",
    );
  });

  test("the seed workflows validate with no error and no warning", async () => {
    const result = await runCli(["validate", "-C", SEED]);
    expect(result.stdout).toBe("✓ 3 workflow files valid");
    expect(result.code).toBe(0);
  });
});
