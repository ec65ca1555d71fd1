import { describe, expect, it } from "vitest";
import type { JobSpec } from "../compiler/job-spec.js";
import type { StepFiles } from "./env-files.js";
import { JobState } from "./job-state.js";
import { buildStepEnv } from "./step-env.js";

const paths = { workspace: "/w", temp: "/t", toolCache: "/tc", files: "/f" };
const files: StepFiles = {
  GITHUB_ENV: "/f/set_env",
  GITHUB_OUTPUT: "/f/set_output",
  GITHUB_PATH: "/f/add_path",
  GITHUB_STATE: "/f/save_state",
  GITHUB_STEP_SUMMARY: "/f/step_summary",
};

function state(): JobState {
  const spec = {
    jobId: "build",
    contexts: { github: { sha: "abc123", ref: "refs/heads/main", event_name: "push" } },
  } as unknown as JobSpec;
  return new JobState(spec, paths);
}

describe("buildStepEnv", () => {
  it.each([
    ["a host variable", { HOME: "/home/u" }, {}, "HOME", "/home/u"],
    ["GitHub's defaults", {}, {}, "GITHUB_SHA", "abc123"],
    ["a default over the host's", { GITHUB_SHA: "host" }, {}, "GITHUB_SHA", "abc123"],
    ["an environment file path", {}, {}, "GITHUB_OUTPUT", "/f/set_output"],
    ["the step's env over a default", {}, { GITHUB_JOB: "mine" }, "GITHUB_JOB", "mine"],
    ["the step's env over the host's", { X: "host" }, { X: "step" }, "X", "step"],
    ["the event file", {}, {}, "GITHUB_EVENT_PATH", "/f/event.json"],
    ["the workspace", {}, {}, "GITHUB_WORKSPACE", "/w"],
    ["the run id", {}, {}, "GITHUB_RUN_ID", "42"],
  ])("%s", (_what, base, env, key, value) => {
    expect(buildStepEnv(state(), base, env, files, "42")[key]).toBe(value);
  });

  it("puts GITHUB_PATH entries first, most recent first, as they are added between steps", () => {
    const s = state();
    const base = { PATH: "/usr/bin" };
    expect(buildStepEnv(s, base, {}, files, "1").PATH).toBe("/usr/bin");
    s.addedPath.unshift("/opt/a");
    s.addedPath.unshift("/opt/b");
    expect(buildStepEnv(s, base, {}, files, "1").PATH).toBe("/opt/b:/opt/a:/usr/bin");
    expect(buildStepEnv(s, base, { PATH: "/step" }, files, "1").PATH).toBe("/opt/b:/opt/a:/step");
  });

  it("follows a job's base environment when it changes (a job container's replaces the host's)", () => {
    const s = state();
    expect(buildStepEnv(s, { HOME: "/host" }, {}, files, "1").HOME).toBe("/host");
    const inContainer = buildStepEnv(s, { HOME: "/root" }, {}, files, "1");
    expect(inContainer.HOME).toBe("/root");
  });

  it("gives each step an environment of its own", () => {
    const s = state();
    const base = { HOME: "/h" };
    const first = buildStepEnv(s, base, { A: "1" }, files, "1");
    first.MUTATED = "yes";
    const second = buildStepEnv(s, base, {}, files, "1");
    expect(second.A).toBeUndefined();
    expect(second.MUTATED).toBeUndefined();
  });
});
