import pc from "picocolors";
import { describe, expect, test } from "vitest";
import { countdown, RunView } from "./run-view.js";

describe("countdown", () => {
  test.each([
    [0, "0:00"],
    [-5_000, "0:00"],
    [999, "0:01"],
    [59_001, "1:00"],
    [5 * 60_000, "5:00"],
    [3_723_000, "1:02:03"],
    [30 * 24 * 3_600_000, "720:00:00"],
  ])("%d ms left: %s", (ms, text) => {
    expect(countdown(ms)).toBe(text);
  });
});

describe("the run view", () => {
  test("a job held by a timer says until when; one held by reviewers says how many it has", () => {
    const lines: string[] = [];
    const colors = pc.createColors(false);
    const view = new RunView(
      { out: (t) => lines.push(t), err: () => undefined, colors, errColors: colors },
      false,
    );
    const at = Date.UTC(2026, 11, 3, 14, 0, 0);
    view.handle({
      type: "run.started",
      runId: "r",
      workflows: [{ file: "ci.yml", name: "CI" }],
      at,
    });
    view.handle({
      type: "job.queued",
      job: "ci.yml / deploy",
      name: "deploy",
      workflow: "ci.yml",
      at,
    });
    view.handle({
      type: "job.waiting",
      job: "ci.yml / deploy",
      reason: "timer",
      detail: "waiting until 14:05:00 (wait timer 5 m)",
      until: at + 300_000,
      at,
    });
    view.handle({
      type: "job.waiting",
      job: "ci.yml / deploy",
      reason: "approval",
      detail: "waiting for approval to deploy to 'staging' (0 of 1: qa-lead)",
      environment: "staging",
      at,
    });
    expect(lines.filter((l) => l.includes("⏸"))).toEqual([
      "[deploy] ⏸ waiting until 14:05:00 (wait timer 5 m)",
      "[deploy] ⏸ waiting for approval to deploy to 'staging' (0 of 1: qa-lead)",
    ]);
  });
});
