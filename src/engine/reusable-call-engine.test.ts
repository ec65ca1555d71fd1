import { describe, expect, it } from "vitest";
import { workflowFrom } from "../../test/helpers/workflow.js";
import type { JobSpec } from "../compiler/job-spec.js";
import { EMPTY_REPO_CONFIG } from "../config/repo-config.js";
import type { JobResult } from "../runner/job-runner.js";
import type { Workflow } from "../workflow/model.js";
import { executeRun, type RunResult } from "./run-engine.js";

/** Runs `caller` through the engine with `files` as the workflows it may call. */
async function run(
  caller: string,
  files: Record<string, string>,
  execute: (spec: JobSpec, cancel: AbortSignal) => Promise<JobResult>,
): Promise<RunResult> {
  const called: Record<string, Workflow> = {};
  for (const [name, yaml] of Object.entries(files))
    called[`./.github/workflows/${name}`] = await workflowFrom(yaml, `.github/workflows/${name}`);
  return executeRun(
    {
      runId: "r",
      event: { name: "push", ref: "refs/heads/main", sha: "a".repeat(40) },
      workflows: [{ workflow: await workflowFrom(caller, "ci.yml"), inputs: {} }],
      config: EMPTY_REPO_CONFIG,
      vars: {},
      secrets: {},
    },
    {
      maxParallel: 4,
      execute,
      sink: () => undefined,
      cancel: new AbortController().signal,
      approved: () => true,
      unrunnable: () => undefined,
      loadWorkflow: async (uses) => {
        const found = called[uses];
        if (!found) throw new Error(`no ${uses}`);
        return found;
      },
    },
  );
}

const statuses = (result: RunResult) =>
  Object.fromEntries([...result.jobs].map(([k, v]) => [k, v.status]));

describe("the engine with reusable workflows", () => {
  it("ends a call whose called jobs all end without running, and goes on with what needs it", async () => {
    const ran: string[] = [];
    const result = await run(
      "on: push\njobs:\n  deploy: { uses: ./.github/workflows/d.yml }\n  after: { needs: deploy, if: always(), runs-on: ubuntu-latest, steps: [{ run: echo }] }\n",
      {
        "d.yml":
          "on: workflow_call\njobs:\n  ship: { if: github.event_name == 'pull_request', runs-on: ubuntu-latest, steps: [{ run: echo }] }\n",
      },
      async (spec) => {
        ran.push(spec.key);
        return { status: "success", outputs: {} };
      },
    );
    expect(statuses(result)).toEqual({
      "ci.yml / deploy": "skipped",
      "ci.yml / deploy / ship": "skipped",
      "ci.yml / after": "success",
    });
    expect(ran).toEqual(["ci.yml / after"]);
  });

  it("runs a matrix of calls max-parallel at a time, and fail-fast stops the rest", async () => {
    let running = 0;
    let most = 0;
    const order: string[] = [];
    const result = await run(
      "on: push\njobs:\n  m:\n    strategy: { max-parallel: 2, matrix: { n: [1, 2, 3, 4] } }\n    uses: ./.github/workflows/w.yml\n    with: { n: '${{ matrix.n }}' }\n",
      {
        "w.yml":
          "on:\n  workflow_call:\n    inputs: { n: { type: string, required: true } }\njobs:\n  work: { runs-on: ubuntu-latest, steps: [{ run: echo }] }\n",
      },
      async (spec, cancel) => {
        order.push(spec.key);
        running++;
        most = Math.max(most, running);
        const fails = spec.key.includes("(1)");
        // The failing instance ends at once; the other one waits to be cancelled.
        await new Promise<void>((resolve) => {
          if (fails) resolve();
          else if (cancel.aborted) resolve();
          else cancel.addEventListener("abort", () => resolve(), { once: true });
        });
        running--;
        return { status: fails ? "failure" : "cancelled", outputs: {} };
      },
    );
    expect(most).toBe(2);
    expect(order).toEqual(["ci.yml / m (1) / work", "ci.yml / m (2) / work"]);
    expect(statuses(result)).toEqual({
      "ci.yml / m": "failure",
      "ci.yml / m (1) / work": "failure",
      "ci.yml / m (2) / work": "cancelled",
    });
    expect(result.status).toBe("failure");
  });

  it("without fail-fast, every instance of a matrix of calls runs", async () => {
    const order: string[] = [];
    const result = await run(
      "on: push\njobs:\n  m:\n    strategy: { fail-fast: false, max-parallel: 1, matrix: { n: [1, 2, 3] } }\n    uses: ./.github/workflows/w.yml\n",
      {
        "w.yml":
          "on: workflow_call\njobs:\n  work: { runs-on: ubuntu-latest, steps: [{ run: echo }] }\n",
      },
      async (spec) => {
        order.push(spec.key);
        return { status: spec.key.includes("(1)") ? "failure" : "success", outputs: {} };
      },
    );
    expect(order).toEqual([
      "ci.yml / m (1) / work",
      "ci.yml / m (2) / work",
      "ci.yml / m (3) / work",
    ]);
    expect(result.jobs.get("ci.yml / m")?.status).toBe("failure");
  });

  it("starts called jobs while an unrelated job is still running", async () => {
    let shipStarted: () => void = () => undefined;
    const shipped = new Promise<void>((resolve) => {
      shipStarted = resolve;
    });
    const result = await run(
      "on: push\njobs:\n  slow: { runs-on: ubuntu-latest, steps: [{ run: echo }] }\n  deploy: { uses: ./.github/workflows/d.yml }\n",
      {
        "d.yml":
          "on: workflow_call\njobs:\n  ship: { runs-on: ubuntu-latest, steps: [{ run: echo }] }\n",
      },
      async (spec) => {
        if (spec.key.endsWith("ship")) {
          shipStarted();
          return { status: "success", outputs: {} };
        }
        // The slow job ends only once the called job has started (or fails after a while).
        const seen = await Promise.race([
          shipped.then(() => true),
          new Promise<boolean>((r) => setTimeout(() => r(false), 5000)),
        ]);
        return { status: seen ? "success" : "failure", outputs: {} };
      },
    );
    expect(result.jobs.get("ci.yml / slow")?.status).toBe("success");
    expect(result.status).toBe("success");
  });
});
