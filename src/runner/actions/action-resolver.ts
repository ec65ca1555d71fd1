import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, join, relative, resolve } from "node:path";
import type { ActionStore } from "../../actions/action-store.js";
import { formatDiagnostic } from "../../common/diagnostic.js";
import type { Executor } from "../../executors/executor.js";
import { isTruthy } from "../../expressions/evaluate.js";
import { coerceString, evaluateTemplate } from "../../expressions/evaluate-template.js";
import type { NodeRuntimes } from "../../toolcache/node-runtimes.js";
import type { PythonInstalls } from "../../toolcache/python-installs.js";
import { parseActionReference } from "../../workflow/action-reference.js";
import type { ActionManifest } from "../../workflow/read-action.js";
import type { StepOutput } from "../step-output.js";
import { actionEnv, readState, stateEnv } from "./action-env.js";
import type {
  ActionContext,
  ActionHost,
  ActionRequest,
  ActionResult,
  PreparedActions,
  PreStep,
} from "./action-host.js";
import type { CacheBackend } from "./builtin/cache-store.js";
import { findBuiltin } from "./builtin/index.js";
import type { RunArtifacts } from "./builtin/run-artifacts.js";
import { runDockerAction } from "./docker-action.js";
import { nodeFor } from "./node-for-action.js";
import { prepareActions } from "./prepare-actions.js";

type DockerRuns = Extract<ActionManifest["runs"], { using: "docker" }>;

/** Where remote actions come from and where resolved ones are kept. */
export interface ActionResolverOptions {
  /** Where remote actions come from, kept one directory per commit. */
  readonly store: ActionStore;
  /** The repository being built (for sandboxed jobs, one their processes can read). */
  readonly repoRoot: string;
  /** The run's artifact store. */
  readonly artifactDir: string;
  /** Where built-in actions keep the run's artifacts instead (the server's service). */
  readonly artifacts?: RunArtifacts;
  /** Where built-in cache actions keep entries instead (the server's service). */
  readonly caches?: CacheBackend;
  /** The cache store, kept across runs. */
  readonly actionsCacheDir: string;
  /** Node runtimes for node actions; without it they run on the Node running Trunkline. */
  readonly runtimes?: NodeRuntimes;
  /** Where setup-python finds and installs Python. */
  readonly pythons?: PythonInstalls;
  /**
   * What node actions' processes get to reach the runtime services (`ACTIONS_CACHE_URL`,
   * `ACTIONS_RUNTIME_TOKEN`, ...); `run:` steps never see it, as on GitHub.
   */
  readonly runtimeEnv?: Readonly<Record<string, string>>;
  /** A local run of a working tree with changes: checkout of `of` gives `commit`'s files. */
  readonly workingTree?: { readonly of: string; readonly commit: string };
}

/** A resolved action on disk. */
interface ResolvedAction {
  readonly dir: string;
  readonly repository: string;
  readonly ref: string;
  readonly manifest: ActionManifest;
  /** The commit a remote action's ref resolved to (none for a plain-directory mirror). */
  readonly commit?: string;
  /** Where a remote action came from, and whether it was fetched now. */
  readonly from?: string;
  readonly fetched?: boolean;
}

/**
 * Runs `uses:` steps: Trunkline's built-in actions first (checkout, setup-node, cache,
 * artifacts), then local actions (`./path`, from the workspace) and remote ones
 * (`owner/repo[/path]@ref`, from the configured mirrors, cached by commit). Node actions run
 * on the host's Node with their `pre` and `post`; composite actions run their steps in their
 * own scope. Docker actions (`docker://` steps and `runs.using: docker`) run through the
 * job executor's container engine; on the host executor they fail with a message saying so.
 */
export class ActionResolver implements ActionHost {
  constructor(private readonly options: ActionResolverOptions) {}

  /** Remote actions resolved so far: each `uses` is resolved once for the resolver's life. */
  private readonly remote = new Map<string, Promise<ResolvedAction | { error: string }>>();

  /**
   * Resolves every remote action `uses` names, and those their composite actions use, before
   * the job's first step (GitHub's "Set up job"): where each came from, and what could not be had.
   */
  prepare(uses: readonly string[], workspace: string): Promise<PreparedActions> {
    return prepareActions(uses, (u) => this.resolve(u, workspace));
  }

  /** State saved by each job's `pre:` scripts, per step, for its main and post scripts. */
  private readonly preStates = new WeakMap<object, Map<object, Record<string, string>>>();

  async pre(request: ActionRequest, context: ActionContext): Promise<PreStep | undefined> {
    if (findBuiltin(request.uses)) return undefined;
    const ref = parseActionReference(request.uses);
    if (ref?.kind !== "remote") return undefined;
    const resolved = await this.resolve(request.uses, context.executor.paths.workspace);
    if ("error" in resolved) return undefined; // reported when the step itself runs
    const runs = resolved.manifest.runs;
    if (runs.using === "docker") return this.dockerPre(resolved, runs, request, context);
    if (runs.using !== "node" || !runs.pre) return undefined;
    const condition = evaluateTemplate(
      { kind: "expr", expr: runs.preIf },
      context.contexts(request.stepEnv),
    );
    if (!isTruthy(condition)) return undefined;
    const inputs = this.inputs(resolved.manifest, request, context);
    const pre = runs.pre;
    return async (output, signal) => {
      const state: Record<string, string> = {};
      const result = await this.runScript(
        resolved,
        pre,
        { ...request.env, ...actionEnv(resolved, request, inputs, this.options.runtimeEnv) },
        output,
        signal,
        context.executor,
      );
      await readState(request.env, output, state);
      let steps = this.preStates.get(context.state);
      if (!steps) {
        steps = new Map();
        this.preStates.set(context.state, steps);
      }
      steps.set(request.step, state);
      return result;
    };
  }

  async run(request: ActionRequest, context: ActionContext): Promise<ActionResult> {
    const executor = context.executor;
    const builtin = findBuiltin(request.uses);
    if (builtin) {
      try {
        return await builtin.run(request, context, {
          executor,
          repoRoot: this.options.repoRoot,
          artifactDir: this.options.artifactDir,
          ...(this.options.artifacts ? { artifacts: this.options.artifacts } : {}),
          ...(this.options.caches ? { caches: this.options.caches } : {}),
          cacheDir: this.options.actionsCacheDir,
          ...(this.options.runtimes ? { runtimes: this.options.runtimes } : {}),
          ...(this.options.pythons ? { pythons: this.options.pythons } : {}),
          ...(this.options.workingTree ? { workingTree: this.options.workingTree } : {}),
        });
      } finally {
        // It wrote as the runner: the job's processes may be another user.
        executor.handOver?.();
      }
    }
    const ref = parseActionReference(request.uses);
    if (ref?.kind === "docker") {
      const spec = {
        image: `docker://${ref.image}`,
        inputs: request.with,
        actionEnv: { GITHUB_ACTION: request.step.id, ...this.options.runtimeEnv },
      };
      return runDockerAction(spec, "main", request, context, request.env);
    }
    const resolved = await this.resolve(request.uses, executor.paths.workspace);
    if ("error" in resolved) return { ok: false, outputs: {}, message: resolved.error };
    const { manifest } = resolved;
    const inputs = this.inputs(manifest, request, context);
    switch (manifest.runs.using) {
      case "docker":
        return this.runDocker(resolved, manifest.runs, inputs, request, context);
      case "composite":
        return this.runComposite(resolved, manifest.runs.steps, inputs, request, context);
      default:
        return this.runNode(resolved, manifest.runs, inputs, request, context, executor);
    }
  }

  /**
   * Whether `uses` names a Docker action: `docker://`, or an action whose `runs.using` is
   * docker (local actions are looked up under `workspace`). One that cannot be resolved is not.
   */
  async isDockerAction(uses: string, workspace: string): Promise<boolean> {
    if (findBuiltin(uses)) return false;
    const ref = parseActionReference(uses);
    if (ref?.kind === "docker") return true;
    const resolved = await this.resolve(uses, workspace);
    return !("error" in resolved) && resolved.manifest.runs.using === "docker";
  }

  private resolve(uses: string, workspace: string): Promise<ResolvedAction | { error: string }> {
    if (parseActionReference(uses)?.kind !== "remote") return this.read(uses, workspace);
    let found = this.remote.get(uses);
    if (!found) {
      found = this.read(uses, workspace);
      this.remote.set(uses, found);
      // A failure is not kept: the next job (or step) tries the sources again.
      void found.then((r) => {
        if ("error" in r) this.remote.delete(uses);
      });
    }
    return found;
  }

  private async read(uses: string, workspace: string): Promise<ResolvedAction | { error: string }> {
    const ref = parseActionReference(uses);
    if (!ref)
      return {
        error: `'${uses}' is not an action reference: use ./path, owner/repo[/path]@ref or docker://image`,
      };
    if (ref.kind === "docker") return { error: `'${uses}' is a Docker image, not an action` };
    let dir: string;
    let repository: string;
    let version: string;
    let stored: { commit?: string; from?: string; fetched?: boolean } = {};
    if (ref.kind === "local") {
      dir = resolve(workspace, ref.path);
      if (relative(workspace, dir).startsWith(".."))
        return { error: `'${uses}' points outside the workspace` };
      repository = "";
      version = "";
    } else {
      const found = await this.options.store.resolve(ref.owner, ref.repo, ref.ref);
      if ("error" in found)
        return {
          error: `cannot resolve action '${uses}': ${found.error}${found.tried.length ? `; tried ${found.tried.join(", ")}` : ""}`,
        };
      stored = found;
      dir = ref.path ? join(found.root, ref.path) : found.root;
      if (relative(found.root, dir).startsWith(".."))
        return { error: `'${uses}' points outside its repository` };
      repository = `${ref.owner}/${ref.repo}`;
      version = ref.ref;
    }
    const file = ["action.yml", "action.yaml"].map((f) => join(dir, f)).find((f) => existsSync(f));
    if (!file)
      return { error: `cannot find action '${uses}': no action.yml or action.yaml in ${dir}` };
    // The official parser is loaded only for a job that uses an action with a manifest.
    const { readAction } = await import("../../workflow/read-action.js");
    const read = readAction(`${uses}/${basename(file)}`, await readFile(file, "utf8"));
    if (!read.action) {
      return {
        error: `invalid action '${uses}': ${read.diagnostics.map(formatDiagnostic).join("; ")}`,
      };
    }
    return {
      dir,
      repository,
      ref: version,
      manifest: read.action,
      ...(stored.commit ? { commit: stored.commit } : {}),
      ...(stored.from ? { from: stored.from } : {}),
      ...(stored.fetched ? { fetched: true } : {}),
    };
  }

  /** The action's inputs: given ones, then defaults (evaluated); warns as GitHub does. */
  private inputs(
    manifest: ActionManifest,
    request: ActionRequest,
    context: ActionContext,
  ): Record<string, string> {
    const out: Record<string, string> = {};
    const known = new Set(manifest.inputs.map((i) => i.id.toLowerCase()));
    const unexpected = Object.keys(request.with).filter((k) => !known.has(k.toLowerCase()));
    if (unexpected.length > 0) {
      context.output.annotate({
        level: "warning",
        message: `Unexpected input(s) '${unexpected.join("', '")}', valid inputs are ['${manifest.inputs.map((i) => i.id).join("', '")}']`,
      });
    }
    for (const input of manifest.inputs) {
      const given = Object.entries(request.with).find(
        ([k]) => k.toLowerCase() === input.id.toLowerCase(),
      )?.[1];
      if (given !== undefined) {
        out[input.id] = given;
        if (input.deprecationMessage) {
          context.output.annotate({
            level: "warning",
            message: `Input '${input.id}' has been deprecated with message: ${input.deprecationMessage}`,
          });
        }
      } else if (input.default) {
        out[input.id] = coerceString(
          evaluateTemplate(input.default, context.contexts(request.stepEnv)),
        );
      } else {
        if (input.required)
          context.output.annotate({
            level: "warning",
            message: `Input required and not supplied: ${input.id}`,
          });
        out[input.id] = "";
      }
    }
    return out;
  }

  /** Runs a Docker action's main entrypoint, and schedules its `post-entrypoint`. */
  private async runDocker(
    action: ResolvedAction,
    runs: DockerRuns,
    inputs: Record<string, string>,
    request: ActionRequest,
    context: ActionContext,
  ): Promise<ActionResult> {
    const spec = {
      image: runs.image,
      dir: action.dir,
      runs,
      inputs,
      actionEnv: actionEnv(action, request, inputs, this.options.runtimeEnv),
    };
    if (runs.postEntrypoint) {
      context.registerPost({
        name: request.name.replace(/^Run /, ""),
        if: runs.postIf,
        env: {},
        run: ({ env, output, signal }) =>
          runDockerAction(spec, "post", { ...request, env }, { ...context, output, signal }, env),
      });
    }
    return runDockerAction(spec, "main", request, context, request.env);
  }

  /** A Docker action's `pre-entrypoint`, when it has one and its `pre-if` holds. */
  private dockerPre(
    action: ResolvedAction,
    runs: DockerRuns,
    request: ActionRequest,
    context: ActionContext,
  ): PreStep | undefined {
    if (!runs.preEntrypoint) return undefined;
    const condition = evaluateTemplate(
      { kind: "expr", expr: runs.preIf },
      context.contexts(request.stepEnv),
    );
    if (!isTruthy(condition)) return undefined;
    const inputs = this.inputs(action.manifest, request, context);
    const spec = {
      image: runs.image,
      dir: action.dir,
      runs,
      inputs,
      actionEnv: actionEnv(action, request, inputs, this.options.runtimeEnv),
    };
    return (output, signal) =>
      runDockerAction(spec, "pre", request, { ...context, output, signal }, request.env);
  }

  private async runNode(
    action: ResolvedAction,
    runs: Extract<ActionManifest["runs"], { using: "node" }>,
    inputs: Record<string, string>,
    request: ActionRequest,
    context: ActionContext,
    executor: Executor,
  ): Promise<ActionResult> {
    const env: Record<string, string> = {
      ...request.env,
      ...actionEnv(action, request, inputs, this.options.runtimeEnv),
    };
    const state: Record<string, string> = {
      ...(this.preStates.get(context.state)?.get(request.step) ?? {}),
    };
    const script = (
      entry: string,
      extra: Record<string, string>,
      output = context.output,
      signal = context.signal,
    ) => this.runScript(action, entry, { ...env, ...extra }, output, signal, executor);
    const collectState = () => readState(request.env, context.output, state);
    if (runs.pre && action.repository === "") {
      context.output.annotate({
        level: "warning",
        message: `\`pre\` execution is not supported for local action from '${request.uses}'`,
      });
    }
    const main = await script(runs.main, stateEnv(state));
    await collectState();
    if (runs.post) {
      const post = runs.post;
      context.registerPost({
        name: request.name.replace(/^Run /, ""),
        if: runs.postIf,
        env: {},
        run: async ({ env: postEnv, output, signal }) =>
          script(
            post,
            {
              ...postEnv,
              ...actionEnv(action, request, inputs, this.options.runtimeEnv),
              ...stateEnv(state),
            },
            output,
            signal,
          ),
      });
    }
    return {
      ok: main.ok,
      outputs: {},
      ...(main.message ? { message: main.message } : {}),
      ...(main.aborted ? { aborted: true } : {}),
    };
  }

  /** Runs one of a node action's scripts on the Node its manifest asks for. */
  private async runScript(
    action: ResolvedAction,
    entry: string,
    env: Record<string, string>,
    output: StepOutput,
    signal: AbortSignal,
    executor: Executor,
  ): Promise<{ ok: boolean; message?: string; aborted?: boolean }> {
    const path = resolve(action.dir, entry);
    if (relative(action.dir, path).startsWith(".."))
      return { ok: false, message: `'${entry}' points outside the action` };
    const node = await nodeFor(action, this.options.runtimes, env, output);
    if (typeof node !== "string") return { ok: false, message: node.error };
    const result = await executor.exec(
      {
        argv: [node, path],
        env,
        cwd: executor.paths.workspace,
      },
      output,
      signal,
    );
    output.flush();
    if (result.aborted) return { ok: false, aborted: true };
    return result.exitCode === 0
      ? { ok: true }
      : {
          ok: false,
          message: `${action.repository || "the action"} (${entry}) failed with exit code ${result.exitCode ?? result.signal}`,
        };
  }

  private async runComposite(
    action: ResolvedAction,
    steps: Extract<ActionManifest["runs"], { using: "composite" }>["steps"],
    inputs: Record<string, string>,
    request: ActionRequest,
    context: ActionContext,
  ): Promise<ActionResult> {
    const scope = await context.runComposite(steps, {
      steps: {},
      inputs,
      actionPath: action.dir,
      env: { ...request.stepEnv, GITHUB_ACTION_PATH: action.dir },
      failed: false,
    });
    const outputs: Record<string, string> = {};
    const contexts = { ...context.contexts(request.stepEnv), steps: scope.steps, inputs };
    for (const output of action.manifest.outputs) {
      if (!output.value) continue;
      try {
        outputs[output.id] = coerceString(evaluateTemplate(output.value, contexts));
      } catch (err) {
        return { ok: false, outputs, message: `output '${output.id}': ${(err as Error).message}` };
      }
    }
    // Its steps were cut short by the step's signal (cancel or timeout) without failing.
    if (!scope.failed && context.signal.aborted) return { ok: false, outputs, aborted: true };
    return {
      ok: !scope.failed,
      outputs,
      ...(scope.failed ? { message: `composite action '${request.uses}' failed` } : {}),
    };
  }
}
