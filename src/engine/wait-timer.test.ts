import { describe, expect, it } from "vitest";
import { workflowFrom } from "../../test/helpers/workflow.js";
import { readRepoConfig } from "../config/repo-config.js";
import { type Review, reviewState } from "../planner/approval-policy.js";
import { executeRun, type RunResult } from "./run-engine.js";
import type { RunEvent } from "./run-events.js";

// Wait timers and reviews on a clock of the test's: a job deploying to an environment with a wait timer
// waits that long from when it was ready, saying until when; the clock jumps instead of
// the test sleeping.

const WORKFLOW = `on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps: [{ run: echo build }]
  deploy:
    needs: build
    runs-on: ubuntu-latest
    environment: staging
    steps: [{ run: echo deploy }]
`;

const T0 = Date.UTC(2026, 11, 3, 14, 0, 0);

interface Trace {
  result: RunResult;
  events: RunEvent[];
  /** Job key -> the clock when it started. */
  started: Record<string, number>;
  sleeps: number[];
}

async function run(
  config: string,
  options: {
    approved?: boolean;
    timerUntil?: (job: string) => number | undefined;
    approvalDeadline?: (job: string) => number | undefined;
    cancelAt?: number;
    workflow?: string;
    /** Reviews given as the clock passes each time (ms since T0); the engine then waits for them. */
    reviews?: readonly (Review & { givenAfter: number })[];
  } = {},
): Promise<Trace> {
  let clock = T0;
  const events: RunEvent[] = [];
  const started: Record<string, number> = {};
  const sleeps: number[] = [];
  const cancel = new AbortController();
  const read = readRepoConfig(".trunkline/config.yml", config);
  if (read.diagnostics.length > 0) throw new Error(JSON.stringify(read.diagnostics));
  const result = await executeRun(
    {
      runId: "r",
      event: { name: "push", ref: "refs/heads/main", sha: "a".repeat(40) },
      workflows: [
        { workflow: await workflowFrom(options.workflow ?? WORKFLOW, "ci.yml"), inputs: {} },
      ],
      config: read.config,
      vars: {},
      secrets: {},
    },
    {
      maxParallel: 4,
      execute: async (spec) => {
        started[spec.key] = clock;
        clock += 1_000; // each job takes a second
        return { status: "success", outputs: {} };
      },
      sink: (e) => events.push(e),
      cancel: cancel.signal,
      approved: () => options.approved ?? false,
      unrunnable: () => undefined,
      now: () => clock,
      sleep: async (until, signal) => {
        sleeps.push(until);
        if (options.cancelAt !== undefined && until > options.cancelAt) {
          clock = options.cancelAt;
          cancel.abort();
          return;
        }
        if (!signal.aborted) clock = Math.max(clock, until);
      },
      ...(options.timerUntil ? { timerUntil: options.timerUntil } : {}),
      ...(options.approvalDeadline ? { approvalDeadline: options.approvalDeadline } : {}),
      ...(options.reviews
        ? {
            reviews: {
              refresh: async () => undefined,
              state: (env) =>
                reviewState(
                  env,
                  (options.reviews ?? []).filter((r) => clock - T0 >= r.givenAfter),
                ),
            },
          }
        : {}),
    },
  );
  return { result, events, started, sleeps };
}

const finishReason = (t: Trace, job: string) =>
  t.events.flatMap((e) => (e.type === "job.finished" && e.job === job ? [e.reason] : []))[0];

const statuses = (t: Trace) =>
  Object.fromEntries([...t.result.jobs].map(([k, v]) => [k.replace("ci.yml / ", ""), v.status]));

describe("wait timers", () => {
  it("hold a deployment for the environment's minutes from when it was ready, saying until when", async () => {
    const t = await run("environments:\n  staging:\n    wait-timer: 5\n");
    expect(statuses(t)).toEqual({ build: "success", deploy: "success" });
    const ready = T0 + 1_000; // build took a second
    expect(t.started["ci.yml / deploy"]).toBe(ready + 5 * 60_000);
    const waiting = t.events.find((e) => e.type === "job.waiting");
    expect(waiting).toMatchObject({
      job: "ci.yml / deploy",
      reason: "timer",
      until: ready + 5 * 60_000,
      detail: `waiting until ${new Date(ready + 5 * 60_000).toTimeString().slice(0, 8)} (wait timer 5 m)`,
    });
    expect(t.sleeps).toEqual([ready + 5 * 60_000]);
  });

  it("with reviewers too: an approved job still waits for the timer; one not approved never waits", async () => {
    const config =
      "environments:\n  staging:\n    reviewers: [release-managers]\n    wait-timer: 2\n";
    const approved = await run(config, { approved: true });
    expect(statuses(approved)).toEqual({ build: "success", deploy: "success" });
    expect(approved.started["ci.yml / deploy"]).toBe(T0 + 1_000 + 2 * 60_000);
    const held = await run(config);
    expect(statuses(held)).toEqual({ build: "success", deploy: "skipped" });
    expect(held.sleeps).toEqual([]);
  });

  it("go on from where an earlier life of the run left them", async () => {
    const until = T0 + 30_000;
    const t = await run("environments:\n  staging:\n    wait-timer: 5\n", {
      timerUntil: (job) => (job === "ci.yml / deploy" ? until : undefined),
    });
    expect(t.started["ci.yml / deploy"]).toBe(until);
  });

  it("a run cancelled during the wait cancels the waiting job", async () => {
    const t = await run("environments:\n  staging:\n    wait-timer: 5\n", {
      cancelAt: T0 + 60_000,
    });
    expect(statuses(t)).toEqual({ build: "success", deploy: "cancelled" });
    expect(t.result.status).toBe("cancelled");
    expect(t.started["ci.yml / deploy"]).toBeUndefined();
  });

  it("an environment without a timer starts at once", async () => {
    const t = await run("environments:\n  staging: {}\n");
    expect(t.started["ci.yml / deploy"]).toBe(T0 + 1_000);
    expect(t.events.some((e) => e.type === "job.waiting")).toBe(false);
  });
});

describe("reviews, where they can come while the run waits (the server)", () => {
  const config =
    "environments:\n  staging:\n    reviewers: [maintainer, alice]\n    required-approvals: 2\n";
  const review = (state: "approved" | "rejected", actor: string, givenAfter: number) => ({
    environment: "staging",
    state,
    actor,
    comment: `${state} by ${actor}`,
    at: T0 + givenAfter,
    givenAfter,
  });

  it("a deployment waits, saying how many approvals it has, and starts once it has enough", async () => {
    const t = await run(config, {
      reviews: [review("approved", "bob", 10_000), review("approved", "alice", 20_000)],
    });
    expect(statuses(t)).toEqual({ build: "success", deploy: "success" });
    expect(
      t.events.filter((e) => e.type === "job.waiting").map((e) => "detail" in e && e.detail),
    ).toEqual([
      "waiting for approval to deploy to 'staging' (0 of 2: maintainer, alice)",
      "waiting for approval to deploy to 'staging' (1 of 2: maintainer, alice)",
    ]);
    // Looked for every 2 s: started at the first look after the second approval.
    expect(t.started["ci.yml / deploy"]).toBeGreaterThanOrEqual(T0 + 20_000);
    expect(t.started["ci.yml / deploy"]).toBeLessThan(T0 + 23_000);
  });

  it("one rejection fails the job, naming who and why; the run goes on as for a failure", async () => {
    const t = await run(config, {
      reviews: [review("approved", "bob", 5_000), review("rejected", "alice", 8_000)],
    });
    expect(statuses(t)).toEqual({ build: "success", deploy: "failure" });
    expect(finishReason(t, "ci.yml / deploy")).toBe(
      "the deployment to 'staging' was rejected by alice: rejected by alice",
    );
    expect(t.result.status).toBe("failure");
  });

  it("no approval within 30 days fails the job", async () => {
    const t = await run(config);
    expect(statuses(t)).toEqual({ build: "success", deploy: "skipped" });
    const waited = await run(config, { reviews: [] });
    expect(statuses(waited)).toEqual({ build: "success", deploy: "failure" });
    expect(finishReason(waited, "ci.yml / deploy")).toBe(
      "the deployment to 'staging' was not approved within 30 days",
    );
  });

  it("a resumed run keeps the deadline its first life set", async () => {
    const deadline = T0 + 60_000;
    const t = await run(config, {
      reviews: [],
      approvalDeadline: (job) => (job === "ci.yml / deploy" ? deadline : undefined),
    });
    expect(finishReason(t, "ci.yml / deploy")).toBe(
      "the deployment to 'staging' was not approved within 30 days",
    );
    expect(t.sleeps.at(-1)).toBeLessThanOrEqual(deadline);
  });
});

describe("environments named like an object's members", () => {
  it("a job deploying to 'constructor' or '__proto__' runs as to any unprotected environment", async () => {
    const workflow = WORKFLOW.replace("environment: staging", "environment: constructor");
    const t = await run("environments:\n  __proto__:\n    wait-timer: 1\n", { workflow });
    expect(statuses(t)).toEqual({ build: "success", deploy: "success" });
    expect(t.sleeps).toEqual([]);
  });
});
