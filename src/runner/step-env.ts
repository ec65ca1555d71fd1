import { join } from "node:path";
import { rewriteFileSync } from "../executors/rewrite-file.js";
import type { StepFiles } from "./env-files.js";
import type { JobState } from "./job-state.js";

/** Name of the event payload file in the job's runner directory (`GITHUB_EVENT_PATH`). */
export const EVENT_FILE = "event.json";

/**
 * The environment of a step's process, from lowest to highest precedence: the host's
 * environment, GitHub's default variables, the step's environment files, then the job's
 * `env:`, `GITHUB_ENV` additions and the step's `env:` (already merged in `env`). `GITHUB_PATH`
 * entries come first in PATH, most recent first.
 */
export function buildStepEnv(
  state: JobState,
  base: Readonly<Record<string, string>>,
  env: Readonly<Record<string, string>>,
  files: StepFiles,
  runId: string,
): Record<string, string> {
  const merged: Record<string, string> = { ...fixedEnv(state, base, files, runId), ...env };
  const path = [...state.addedPath, merged.PATH ?? base.PATH ?? ""].filter((p) => p.length > 0);
  merged.PATH = path.join(":");
  return merged;
}

/**
 * The part of a step's environment that is the same for every step of a job: built once per
 * job (and per base and files, which a job does not change), since a step's own work runs
 * only a few hundred times a run, never long enough for V8 to make it fast.
 */
const fixed = new WeakMap<
  JobState,
  { base: object; files: StepFiles; runId: string; env: Readonly<Record<string, string>> }
>();

function fixedEnv(
  state: JobState,
  base: Readonly<Record<string, string>>,
  files: StepFiles,
  runId: string,
): Readonly<Record<string, string>> {
  const known = fixed.get(state);
  if (known && known.base === base && known.files === files && known.runId === runId)
    return known.env;
  const env = { ...base, ...githubDefaults(state, runId), ...files };
  fixed.set(state, { base, files, runId, env });
  return env;
}

/** GitHub's default variables of a job's steps. */
function githubDefaults(state: JobState, runId: string): Record<string, string> {
  const github = state.spec.contexts.github as Record<string, unknown>;
  const s = (key: string) => String(github[key] ?? "");
  return {
    CI: "true",
    GITHUB_ACTIONS: "true",
    GITHUB_WORKSPACE: state.paths.workspace,
    GITHUB_SHA: s("sha"),
    GITHUB_REF: s("ref"),
    GITHUB_REF_NAME: s("ref_name"),
    GITHUB_REF_TYPE: s("ref_type"),
    GITHUB_HEAD_REF: s("head_ref"),
    GITHUB_BASE_REF: s("base_ref"),
    GITHUB_EVENT_NAME: s("event_name"),
    GITHUB_EVENT_PATH: join(state.paths.files, EVENT_FILE),
    GITHUB_REPOSITORY: s("repository"),
    GITHUB_REPOSITORY_OWNER: s("repository_owner"),
    GITHUB_ACTOR: s("actor"),
    GITHUB_TRIGGERING_ACTOR: s("triggering_actor"),
    GITHUB_WORKFLOW: s("workflow"),
    GITHUB_WORKFLOW_REF: s("workflow_ref"),
    GITHUB_JOB: state.spec.jobId,
    GITHUB_RUN_ID: runId,
    GITHUB_RUN_NUMBER: s("run_number"),
    GITHUB_RUN_ATTEMPT: s("run_attempt"),
    GITHUB_SERVER_URL: s("server_url"),
    GITHUB_API_URL: s("api_url"),
    GITHUB_GRAPHQL_URL: s("graphql_url"),
    RUNNER_OS: "Linux",
    RUNNER_ARCH: process.arch === "arm64" ? "ARM64" : "X64",
    RUNNER_NAME: state.runnerName,
    RUNNER_TEMP: state.paths.temp,
    RUNNER_TOOL_CACHE: state.paths.toolCache,
  };
}

/** Writes the event payload (`github.event`) where `GITHUB_EVENT_PATH` points. */
export async function writeEventFile(
  paths: { files: string },
  _event: unknown,
  spec: { contexts: { github: Readonly<Record<string, unknown>> } },
): Promise<void> {
  rewriteFileSync(
    join(paths.files, EVENT_FILE),
    JSON.stringify(spec.contexts.github.event ?? {}, null, 2),
  );
}
