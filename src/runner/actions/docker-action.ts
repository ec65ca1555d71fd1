import { relative, resolve } from "node:path";
import { splitArguments } from "../../executors/container/create-options.js";
import type { DockerActionRunner } from "../../executors/executor.js";
import { coerceString, evaluateTemplate } from "../../expressions/evaluate-template.js";
import type { ActionManifest } from "../../workflow/read-action.js";
import type { ActionContext, ActionRequest, ActionResult } from "./action-host.js";

type DockerRuns = Extract<ActionManifest["runs"], { using: "docker" }>;

/** A Docker action to run: a `docker://` step, or an action whose `runs.using` is docker. */
export interface DockerActionSpec {
  /** `docker://image`, or a Dockerfile path relative to `dir`. */
  readonly image: string;
  /** The action's directory (for a Dockerfile); absent for `docker://` steps. */
  readonly dir?: string;
  /** The action's `runs:`; absent for `docker://` steps. */
  readonly runs?: DockerRuns;
  /** The action's inputs with defaults applied; for `docker://` steps, `with:` as given. */
  readonly inputs: Readonly<Record<string, string>>;
  /** `GITHUB_ACTION_*` and the like, from the resolver. */
  readonly actionEnv: Readonly<Record<string, string>>;
}

/** Which entrypoint of the action runs. */
export type DockerStage = "pre" | "main" | "post";

/** Names of the step environment a Docker action's container gets from the runner, besides `env`. */
const RUNNER_VARIABLES = /^(GITHUB_|RUNNER_|ACTIONS_|CI$)/;

/**
 * Runs a Docker action as GitHub does: the image from `docker://` or built from the action's
 * Dockerfile; the entrypoint from `runs.entrypoint` (or `pre-`/`post-entrypoint`), else the
 * `entrypoint` input; arguments from `runs.args` evaluated with `inputs`, else the `args`
 * input split as GitHub's runner splits it (never through a shell); the environment of the step (its
 * `env` context and GitHub's variables, not the host's), `runs.env`, and one `INPUT_<NAME>`
 * per input. Fails with a clear message when the job's executor has no container engine.
 */
export async function runDockerAction(
  action: DockerActionSpec,
  stage: DockerStage,
  request: ActionRequest,
  context: ActionContext,
  env: Readonly<Record<string, string>>,
): Promise<ActionResult> {
  const runner: DockerActionRunner | undefined = context.executor.dockerActions;
  if (!runner) {
    return {
      ok: false,
      outputs: {},
      message: `'${request.uses}' is a Docker action: it needs the container executor, and this job runs on the host executor (no Docker or Podman engine was found for it)`,
    };
  }
  let image: string;
  if (action.image.startsWith("docker://")) image = action.image.slice("docker://".length);
  else {
    const dir = action.dir ?? "";
    const dockerfile = resolve(dir, action.image);
    if (relative(dir, dockerfile).startsWith(".."))
      return { ok: false, outputs: {}, message: `'${action.image}' points outside the action` };
    context.output.stdout(`Building ${relative(dir, dockerfile)} of ${request.uses}\n`);
    image = await runner.build(dockerfile, context.output);
  }
  const extra = { inputs: action.inputs };
  const contexts = { ...context.contexts(request.stepEnv), ...extra };
  const runs = action.runs;
  const entrypoint =
    stage === "pre"
      ? runs?.preEntrypoint
      : stage === "post"
        ? runs?.postEntrypoint
        : (runs?.entrypoint ?? action.inputs.entrypoint);
  let args: string[];
  if (runs?.args) {
    const value = evaluateTemplate(runs.args, contexts);
    args = Array.isArray(value) ? value.map((a) => coerceString(a)) : [coerceString(value)];
  } else {
    args = splitArguments(action.inputs.args ?? "");
  }
  const containerEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (RUNNER_VARIABLES.test(k)) containerEnv[k] = v;
  Object.assign(containerEnv, request.stepEnv, action.actionEnv);
  if (runs?.env) {
    const value = evaluateTemplate(runs.env, contexts) as Record<string, unknown> | null;
    // As GitHub: the action's own env does not override what the step set.
    for (const [k, v] of Object.entries(value ?? {}))
      if (!(k in containerEnv)) containerEnv[k] = coerceString(v);
  }
  for (const [name, value] of Object.entries(action.inputs))
    containerEnv[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`] = value;
  const result = await runner.run(
    { image, ...(entrypoint ? { entrypoint } : {}), args, env: containerEnv },
    context.output,
    context.signal,
  );
  context.output.flush();
  if (result.aborted) return { ok: false, outputs: {}, aborted: true };
  return result.exitCode === 0
    ? { ok: true, outputs: {} }
    : { ok: false, outputs: {}, message: `Docker run failed with exit code ${result.exitCode}` };
}
