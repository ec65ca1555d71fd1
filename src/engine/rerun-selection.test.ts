import { describe, expect, it } from "vitest";
import { workflowFrom } from "../../test/helpers/workflow.js";
import type { JobSpec } from "../compiler/job-spec.js";
import { EMPTY_REPO_CONFIG } from "../config/repo-config.js";
import {
  jobIdOfKey,
  reuseFinished,
  reuseForFailedRerun,
  topJobIdOfKey,
} from "./rerun-selection.js";
import { executeRun } from "./run-engine.js";

const PIPELINE = `on: push
jobs:
  lint: { runs-on: ubuntu-latest, steps: [{ run: "true" }] }
  build:
    runs-on: ubuntu-latest
    outputs: { image: "\${{ steps.b.outputs.image }}" }
    steps: [{ id: b, run: "true" }]
  test:
    needs: build
    strategy: { matrix: { node: [20, 22] } }
    runs-on: ubuntu-latest
    steps: [{ run: "true" }]
  deploy:
    needs: [test, lint]
    runs-on: ubuntu-latest
    environment: staging
    steps: [{ run: "true" }]
  notify:
    needs: build
    if: always()
    runs-on: ubuntu-latest
    steps: [{ run: "true" }]
`;

const row = (key: string, status: string, outputs: Record<string, string> = {}) => ({
  key: `ci.yml / ${key}`,
  status,
  outputs,
});

describe("re-running failed jobs", () => {
  it("runs failed jobs and their dependants again, and keeps the rest with their outputs", async () => {
    const workflow = await workflowFrom(PIPELINE, "ci.yml");
    const reuse = reuseForFailedRerun(workflow, [
      row("lint", "success"),
      row("build", "success", { image: "app:1" }),
      row("test (20)", "success"),
      row("test (22)", "failure"),
      row("deploy", "skipped"),
      row("notify", "success"),
    ]);
    expect(Object.fromEntries(reuse)).toEqual({
      "ci.yml / lint": { status: "success", outputs: {} },
      "ci.yml / build": { status: "success", outputs: { image: "app:1" } },
      "ci.yml / notify": { status: "success", outputs: {} },
    });
  });

  it("counts a call by its calling job's row: its called jobs' rows neither decide nor add outputs", async () => {
    const workflow = await workflowFrom(
      `on: push
jobs:
  ok: { uses: ./.github/workflows/r.yml }
  bad: { uses: ./.github/workflows/r.yml }
  after: { needs: ok, runs-on: ubuntu-latest, steps: [{ run: "true" }] }
`,
      "ci.yml",
    );
    const reuse = reuseForFailedRerun(workflow, [
      row("ok", "success", { verdict: "clean" }),
      row("ok / inner", "success", { internal: "x" }),
      row("bad", "failure"),
      row("bad / inner", "failure"),
      row("after", "success"),
    ]);
    expect(Object.fromEntries(reuse)).toEqual({
      "ci.yml / ok": { status: "success", outputs: { verdict: "clean" } },
      "ci.yml / after": { status: "success", outputs: {} },
    });
  });

  it("a resume keeps the called jobs that finished while their calling job had not", async () => {
    const workflow = await workflowFrom(
      "on: push\njobs:\n  deploy: { uses: ./.github/workflows/r.yml }\n",
      "ci.yml",
    );
    const reuse = reuseFinished(workflow, [
      row("deploy / ship", "success", { url: "u" }),
      row("deploy / test (a)", "success"),
      row("deploy / test (b)", "failure"),
      row("deploy / verify", "in_progress"),
    ]);
    expect(Object.fromEntries(reuse)).toEqual({
      "ci.yml / deploy / ship": { status: "success", outputs: { url: "u" } },
      "ci.yml / deploy / test": { status: "failure", outputs: {} },
    });
  });

  it.each([
    ["ci.yml / build", "build", "build"],
    ["ci.yml / test (linux, 20)", "test", "test"],
    ["ci.yml / deploy / ship", undefined, "deploy"],
    ["ci.yml / deploy (prod) / ship (a)", undefined, "deploy"],
    ["other.yml / build", undefined, undefined],
  ])("the row %s belongs to %s (its top job: %s)", (key, id, top) => {
    expect(jobIdOfKey("ci.yml", key)).toBe(id);
    expect(topJobIdOfKey("ci.yml", key)).toBe(top);
  });

  it("runs cancelled jobs, unfinished jobs and jobs never reached", async () => {
    const workflow = await workflowFrom(PIPELINE, "ci.yml");
    const reuse = reuseForFailedRerun(workflow, [
      row("lint", "cancelled"),
      row("build", "in_progress"),
      row("notify", "success"),
    ]);
    expect([...reuse.keys()]).toEqual([]);
  });

  it("keeps a job every combination of which was skipped as skipped", async () => {
    const workflow = await workflowFrom(PIPELINE, "ci.yml");
    const reuse = reuseForFailedRerun(workflow, [
      row("lint", "failure"),
      row("build", "success"),
      row("test (20)", "skipped"),
      row("test (22)", "skipped"),
      row("notify", "success"),
    ]);
    expect(reuse.get("ci.yml / test")).toEqual({ status: "skipped", outputs: {} });
    expect(reuse.has("ci.yml / lint")).toBe(false);
    expect(reuse.has("ci.yml / deploy")).toBe(false);
  });

  it("the engine runs only what is not reused, and dependants read reused outputs", async () => {
    const workflow = await workflowFrom(PIPELINE, "ci.yml");
    const reuse = reuseForFailedRerun(workflow, [
      row("lint", "success"),
      row("build", "success", { image: "app:1" }),
      row("test (20)", "success"),
      row("test (22)", "failure"),
      row("deploy", "skipped"),
      row("notify", "success"),
    ]);
    const ran: JobSpec[] = [];
    const result = await executeRun(
      {
        runId: "r",
        event: { name: "push", ref: "refs/heads/main", sha: "a".repeat(40) },
        workflows: [{ workflow, inputs: {} }],
        config: EMPTY_REPO_CONFIG,
        vars: {},
        secrets: { TOKEN: "repo-token", SHARED: "repo" },
        environmentSecrets: { staging: { SHARED: "staging" }, production: { PROD: "p" } },
        runAttempt: "2",
        reuse,
      },
      {
        maxParallel: 2,
        execute: async (spec) => {
          ran.push(spec);
          return { status: "success", outputs: {} };
        },
        sink: () => undefined,
        cancel: new AbortController().signal,
        approved: () => true,
        unrunnable: () => undefined,
      },
    );
    expect(result.status).toBe("success");
    expect(ran.map((s) => s.key).sort()).toEqual([
      "ci.yml / deploy",
      "ci.yml / test (20)",
      "ci.yml / test (22)",
    ]);
    const test = ran.find((s) => s.key === "ci.yml / test (20)");
    expect(test?.contexts.needs.build).toEqual({ result: "success", outputs: { image: "app:1" } });
    expect(test?.contexts.github.run_attempt).toBe("2");
    // A job deploying to an environment sees that environment's secrets over the repository's,
    // and no other environment's.
    const deploy = ran.find((s) => s.key === "ci.yml / deploy");
    expect(deploy?.contexts.secrets).toEqual({ TOKEN: "repo-token", SHARED: "staging" });
    expect(test?.contexts.secrets).toEqual({ TOKEN: "repo-token", SHARED: "repo" });
  });
});
