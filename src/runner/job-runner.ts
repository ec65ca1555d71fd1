import { setMaxListeners } from "node:events";
import { abortAfter, type TimedSignal } from "../common/abort.js";
import type { JobSpec } from "../compiler/job-spec.js";
import type { Executor } from "../executors/executor.js";
import { coerceString, evaluateTemplate } from "../expressions/evaluate-template.js";
import { SecretMasker } from "../logs/secret-masker.js";
import type { Step } from "../workflow/model.js";
import type { ActionContext, ActionHost, PostStep } from "./actions/action-host.js";
import { createStepFiles, readStepFiles, type StepFiles } from "./env-files.js";
import { JobState } from "./job-state.js";
import { runScript } from "./run-script.js";
import type { JobStatus, RunnerSink, StepStage, StepStatus } from "./runner-events.js";
import { setUpActions } from "./set-up-actions.js";
import { buildStepEnv } from "./step-env.js";
import { type CompositeScope, StepExpressions, stringify } from "./step-expressions.js";
import { StepLog } from "./step-log.js";
import { allowsUnsecureCommands, StepOutput } from "./step-output.js";

/** What a finished job hands back to the engine. */
export interface JobResult {
  readonly status: JobStatus;
  /** Job outputs; values that contain a secret are left out, as on GitHub. */
  readonly outputs: Record<string, string>;
  /** Why the job failed, when the runner knows (timeout, setup error). */
  readonly reason?: string;
}

/** What the job runner needs besides the spec. */
export interface JobRunnerOptions {
  readonly executor: Executor;
  readonly sink: RunnerSink;
  /** Aborted to cancel the job: running steps end, `always()` steps still run. */
  readonly cancel: AbortSignal;
  /** Resolves and runs `uses:` steps. */
  readonly actions: ActionHost;
  /** Extra environment for every process (the host's PATH, HOME, ...); a job container's own env replaces it. */
  readonly baseEnv: Readonly<Record<string, string>>;
  /**
   * What every step of this job gets on top of its base environment, sandbox or not (the
   * job's `ACTIONS_ID_TOKEN_REQUEST_*`).
   */
  readonly jobEnv?: Readonly<Record<string, string>>;
  /** The runner's name: `RUNNER_NAME` and `runner.name`. @default "trunkline" */
  readonly runnerName?: string;
}

/**
 * Runs one job: its steps in order with GitHub's semantics (`if:` with status functions,
 * `continue-on-error`, `timeout-minutes`, environment files, workflow commands, masking),
 * then the post steps of actions in reverse order, then the job's outputs.
 */
export async function runJob(spec: JobSpec, options: JobRunnerOptions): Promise<JobResult> {
  const runner = new JobRunner(spec, options);
  return runner.run();
}

class JobRunner {
  private readonly state: JobState;
  private readonly masker = new SecretMasker();
  private readonly log: StepLog;
  private readonly posts: PostStep[] = [];
  private stepNumber = 0;
  private reason: string | undefined;
  private files: StepFiles | undefined;
  /** Never aborted: steps after a cancel run to their end or their own timeout. */
  private readonly afterCancel = new AbortController();
  /** Set while a composite action's steps run. */
  private scope: CompositeScope | undefined;
  private readonly exprs: StepExpressions;

  constructor(
    private readonly spec: JobSpec,
    private readonly options: JobRunnerOptions,
  ) {
    this.state = new JobState(spec, options.executor.paths, options.runnerName);
    this.exprs = new StepExpressions(
      this.state,
      this.masker,
      options.executor.paths.workspace,
      () => this.scope,
    );
    this.log = new StepLog(spec, options.sink, this.masker);
    for (const secret of spec.masks) this.masker.add(secret);
  }

  async run(): Promise<JobResult> {
    const { executor, cancel } = this.options;
    const timeout = AbortSignal.timeout(this.spec.timeoutMinutes * 60_000);
    const jobSignal = AbortSignal.any([cancel, timeout]);
    // Each step (and each pre and post) listens on the job's signal: as many listeners as
    // steps is expected, not a leak.
    setMaxListeners(3 * this.spec.steps.length + 10, jobSignal);
    const onAbort = () => {
      this.state.cancelled = true;
      if (timeout.aborted && !cancel.aborted) {
        this.reason = `The job has exceeded the maximum execution time of ${this.spec.timeoutMinutes} minutes.`;
        this.state.status = "failure";
      }
    };
    // A job cancelled before it got here (while its workspace was prepared) is cancelled too.
    if (jobSignal.aborted) onAbort();
    else jobSignal.addEventListener("abort", onAbort, { once: true });
    try {
      await executor.prepare(jobSignal);
      this.state.executorContext = executor.jobContext?.() ?? {};
      this.exprs.evaluateJobEnv(this.spec.envTemplates);
      const missing = await setUpActions(
        this.spec,
        this.options.actions,
        this.options.executor.paths.workspace,
        (line) => this.log.say(line),
      );
      if (missing) return { status: "failure", outputs: {}, reason: missing };
      for (const step of this.spec.steps) if (step.uses) await this.runPre(step, jobSignal);
      for (const step of this.spec.steps) await this.runStep(step, jobSignal);
      for (const post of this.posts.reverse()) await this.runPost(post, jobSignal);
      const outputs = this.jobOutputs();
      return {
        status: this.finalStatus(),
        outputs,
        ...(this.reason ? { reason: this.reason } : {}),
      };
    } catch (err) {
      this.log.say(`Error: ${(err as Error).message}`);
      return { status: "failure", outputs: {}, reason: (err as Error).message };
    } finally {
      jobSignal.removeEventListener("abort", onAbort);
      await executor.release().catch(() => undefined);
    }
  }

  /** The environment processes start from: a job container's own, else the host's. */
  private baseEnv(): Readonly<Record<string, string>> {
    const base = this.options.executor.baseEnv?.() ?? this.options.baseEnv;
    return this.options.jobEnv ? { ...base, ...this.options.jobEnv } : base;
  }

  private finalStatus(): JobStatus {
    if (this.reason) return "failure";
    if (this.state.cancelled) return "cancelled";
    return this.state.status;
  }

  private async runStep(step: Step, jobSignal: AbortSignal): Promise<void> {
    const signal = this.live(jobSignal);
    const number = ++this.stepNumber;
    const env = { ...this.state.jobEnv(), ...(this.scope?.env ?? {}) };
    const name = this.exprs.displayName(step, env);
    const verdict = this.exprs.condition(step.if, env);
    if (verdict !== true) {
      if (verdict instanceof Error) {
        this.log.started(number, name, "main");
        this.log.say(`Error: ${verdict.message}`, number);
        this.fail(step, number, name, "main", 0, "failure");
        return;
      }
      this.record(step, "skipped", "skipped", {});
      this.log.finished(number, name, "main", "skipped", "skipped", 0);
      return;
    }
    const { output, began } = this.log.begin(number, name, "main");
    let outcome: StepStatus = "success";
    let outputs: Record<string, string> = {};
    let timed: TimedSignal | undefined;
    try {
      const stepEnv = this.exprs.evaluate(step.env, env, "env") as
        | Record<string, unknown>
        | undefined;
      const fullEnv = { ...env, ...stringify(stepEnv) };
      if (allowsUnsecureCommands(fullEnv)) output.allowUnsecureCommands(this.state.unsecure);
      const timeoutMinutes = Number(
        this.exprs.evaluate(step.timeoutMinutes, fullEnv, "timeout-minutes") ?? 0,
      );
      if (timeoutMinutes > 0) timed = abortAfter(signal, timeoutMinutes * 60_000);
      const stepSignal = timed?.signal ?? signal;
      const files = this.stepFiles();
      const processEnv = buildStepEnv(this.state, this.baseEnv(), fullEnv, files, this.spec.runId);
      if (step.run) {
        const script = coerceString(this.exprs.evaluate(step.run, fullEnv, "run"));
        const shell =
          step.shell ?? this.spec.defaults.shell ?? this.options.executor.defaultShell?.();
        const wd = step.workingDirectory
          ? coerceString(this.exprs.evaluate(step.workingDirectory, fullEnv, "working-directory"))
          : this.spec.defaults.workingDirectory;
        const result = await runScript(
          this.options.executor,
          {
            script,
            ...(shell ? { shell } : {}),
            ...(wd ? { workingDirectory: wd } : {}),
            env: processEnv,
          },
          output,
          stepSignal,
        );
        if (!result.ok) {
          outcome = result.aborted && signal.aborted ? "cancelled" : "failure";
          if (result.aborted && !signal.aborted)
            output.annotate({
              level: "error",
              message: `The action '${name}' has timed out after ${timeoutMinutes} minutes.`,
            });
          else if (result.message && !result.aborted)
            output.annotate({ level: "error", message: result.message });
        }
      } else if (step.uses) {
        const withInputs = this.exprs.evaluate(step.with, fullEnv, "with") as
          | Record<string, unknown>
          | undefined;
        const result = await this.options.actions.run(
          {
            step,
            uses: step.uses,
            with: stringify(withInputs),
            env: processEnv,
            stepEnv: fullEnv,
            number,
            name,
          },
          this.actionContext(output, stepSignal),
        );
        outcome = result.ok
          ? "success"
          : stepSignal.aborted && signal.aborted
            ? "cancelled"
            : "failure";
        outputs = result.outputs;
        // A step the cancel ended is cancelled, not in error; one its timeout ended says so.
        if (!result.ok && result.aborted && !signal.aborted && timeoutMinutes > 0)
          output.annotate({
            level: "error",
            message: `The action '${name}' has timed out after ${timeoutMinutes} minutes.`,
          });
        else if (!result.ok && result.message && outcome !== "cancelled")
          output.annotate({ level: "error", message: result.message });
      }
      outcome = await this.applyFiles(files, output, outcome, outputs);
      Object.assign(outputs, output.outputs);
      if (output.errors.length > 0) outcome = "failure";
    } catch (err) {
      output.flush();
      output.annotate({ level: "error", message: (err as Error).message });
      outcome = "failure";
    } finally {
      timed?.clear();
    }
    const continueOnError = outcome === "failure" && this.exprs.continueOnError(step, env);
    const conclusion: StepStatus = continueOnError ? "success" : outcome;
    if (conclusion === "failure") this.markFailed();
    this.record(step, outcome, conclusion, outputs);
    this.log.finished(number, name, "main", outcome, conclusion, performance.now() - began);
  }

  /** Reads the step's environment files into the job, its outputs and the summary. */
  private async applyFiles(
    files: StepFiles,
    output: StepOutput,
    outcome: StepStatus,
    outputs: Record<string, string>,
  ): Promise<StepStatus> {
    const read = readStepFiles(files);
    for (const [k, v] of read.env) this.state.addedEnv[k] = v;
    for (const p of read.path) this.state.addedPath.unshift(p);
    for (const [k, v] of read.outputs) outputs[k] = v;
    if (read.summary.trim().length > 0) {
      this.options.sink({
        type: "summary",
        job: this.spec.key,
        step: this.stepNumber,
        markdown: this.masker.mask(read.summary),
      });
    }
    for (const e of read.errors) output.annotate({ level: "error", message: e });
    return read.errors.length > 0 ? "failure" : outcome;
  }

  /**
   * Runs an action's `pre:` at the start of the job, as GitHub does, when the action has one
   * and its `pre-if` holds. A step whose inputs cannot be evaluated yet is left to fail when
   * it runs.
   */
  private async runPre(step: Step, jobSignal: AbortSignal): Promise<void> {
    const pre = this.options.actions.pre;
    if (!pre || !step.uses) return;
    const env = this.state.jobEnv();
    let request: Parameters<NonNullable<typeof pre>>[0];
    try {
      const stepEnv = {
        ...env,
        ...stringify(
          this.exprs.evaluate(step.env, env, "env") as Record<string, unknown> | undefined,
        ),
      };
      const withInputs = this.exprs.evaluate(step.with, stepEnv, "with") as
        | Record<string, unknown>
        | undefined;
      const processEnv = buildStepEnv(
        this.state,
        this.baseEnv(),
        stepEnv,
        this.stepFiles(),
        this.spec.runId,
      );
      request = {
        step,
        uses: step.uses,
        with: stringify(withInputs),
        env: processEnv,
        stepEnv,
        number: 0,
        name: this.exprs.displayName(step, env),
      };
    } catch {
      return;
    }
    const context = this.actionContext(
      new StepOutput(this.spec.key, 0, this.masker, this.options.sink, this.log.debug()),
      jobSignal,
    );
    const script = await pre.call(this.options.actions, request, context).catch(() => undefined);
    if (!script) return;
    const number = ++this.stepNumber;
    const name = `Pre ${request.name.replace(/^Run /, "")}`;
    const { output, began } = this.log.begin(number, name, "pre");
    const result: { ok: boolean; message?: string; aborted?: boolean } = await script(
      output,
      jobSignal,
    ).catch((err: Error) => ({ ok: false, message: err.message }));
    const status: StepStatus = result.ok
      ? "success"
      : result.aborted && jobSignal.aborted
        ? "cancelled"
        : "failure";
    if (status === "failure" && result.message)
      output.annotate({ level: "error", message: result.message });
    this.readFilesAfterPre();
    if (status === "failure") this.state.status = "failure";
    this.log.finished(number, name, "pre", status, status, performance.now() - began);
  }

  /** What an action step may use of its job. */
  private actionContext(output: StepOutput, signal: AbortSignal): ActionContext {
    return {
      state: this.state,
      output,
      signal,
      masker: this.masker,
      executor: this.options.executor,
      contexts: (e) => this.exprs.ctx(e),
      registerPost: (p) => this.posts.push(p),
      runComposite: (steps, scope) => this.runComposite(steps, scope, signal),
    };
  }

  /** A pre script's environment files are the action's to keep (state); the rest is dropped. */
  private readFilesAfterPre(): void {
    readStepFiles(this.stepFiles());
  }

  private async runPost(post: PostStep, jobSignal: AbortSignal): Promise<void> {
    const signal = this.live(jobSignal);
    const number = ++this.stepNumber;
    const env = this.state.jobEnv();
    const verdict = this.exprs.condition(post.if, env);
    if (verdict !== true) return;
    const name = `Post ${post.name}`;
    const { output, began } = this.log.begin(number, name, "post");
    const files = this.stepFiles();
    const processEnv = buildStepEnv(
      this.state,
      this.baseEnv(),
      { ...env, ...post.env },
      files,
      this.spec.runId,
    );
    let status: StepStatus = "failure";
    try {
      const result = await post.run({ env: processEnv, output, signal, state: this.state });
      status = result.ok ? "success" : result.aborted && signal.aborted ? "cancelled" : "failure";
      if (status === "failure" && result.message)
        output.annotate({ level: "error", message: result.message });
    } catch (err) {
      output.flush();
      output.annotate({ level: "error", message: (err as Error).message });
    }
    if (status === "failure") this.state.status = "failure";
    this.log.finished(number, name, "post", status, status, performance.now() - began);
  }

  private jobOutputs(): Record<string, string> {
    if (!this.spec.outputs) return {};
    const out: Record<string, string> = {};
    const env = this.state.jobEnv();
    let values: unknown;
    try {
      values = evaluateTemplate(
        this.spec.outputs,
        this.state.contexts(env),
        this.state.statusFunctions(),
        this.exprs.functions,
      );
    } catch (err) {
      this.log.say(`Error: outputs: ${(err as Error).message}`);
      this.state.status = "failure";
      return {};
    }
    for (const [k, v] of Object.entries((values ?? {}) as Record<string, unknown>)) {
      const text = coerceString(v);
      if (this.masker.mask(text) !== text) {
        this.log.say(`Warning: Skip output '${k}' since it may contain secret.`);
        continue;
      }
      out[k] = text;
    }
    return out;
  }

  private record(
    step: Step,
    outcome: StepStatus,
    conclusion: StepStatus,
    outputs: Record<string, string>,
  ): void {
    (this.scope?.steps ?? this.state.steps)[step.id] = { outputs, outcome, conclusion };
  }

  /**
   * The signal that ends a step starting now. Steps that run after the job was cancelled
   * (`always()`, `cancelled()`, posts) must be able to finish, as on GitHub: they are ended
   * only by their own timeout or a forced stop.
   */
  private live(jobSignal: AbortSignal): AbortSignal {
    return this.state.cancelled ? this.afterCancel.signal : jobSignal;
  }

  /** The environment files the steps of this job share, created on first use. */
  private stepFiles(): StepFiles {
    this.files ??= createStepFiles(this.options.executor.paths.files);
    return this.files;
  }

  private markFailed(): void {
    if (this.scope) this.scope.failed = true;
    else this.state.status = "failure";
  }

  /**
   * Runs a composite action's steps in their own scope (own `steps` and `inputs` contexts,
   * own status); returns whether they all succeeded.
   */
  private async runComposite(
    steps: readonly Step[],
    scope: CompositeScope,
    signal: AbortSignal,
  ): Promise<CompositeScope> {
    const outer = this.scope;
    this.scope = scope;
    try {
      for (const step of steps) await this.runStep(step, signal);
    } finally {
      this.scope = outer;
    }
    return scope;
  }

  private fail(
    step: Step,
    number: number,
    name: string,
    stage: StepStage,
    durationMs: number,
    outcome: StepStatus,
  ): void {
    this.state.status = "failure";
    this.record(step, outcome, outcome, {});
    this.log.finished(number, name, stage, outcome, outcome, durationMs);
  }
}
