import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { JobSpec } from "../../../compiler/job-spec.js";
import { HostExecutor } from "../../../executors/host/host-executor.js";
import { SecretMasker } from "../../../logs/secret-masker.js";
import { JobState } from "../../job-state.js";
import type { RunnerEvent } from "../../runner-events.js";
import { StepOutput } from "../../step-output.js";
import type { ActionContext, ActionRequest, ActionResult, PostStep } from "../action-host.js";
import type { BuiltinAction, BuiltinEnvironment } from "./builtin-action.js";

/** What a test may set about the job around the built-in actions. */
export interface TestKitOptions {
  /** Merged over the `github` context (repository `acme/app`, run id `1`, ref `refs/heads/main`). */
  readonly github?: Record<string, unknown>;
  readonly repoRoot?: string;
}

/**
 * A real job on the host for tests of built-in actions: a temporary directory holding the
 * job's directories (workspace, temp), an artifact store, a cache store and a HOME; a
 * {@link JobState}; and a {@link StepOutput} whose events are kept in `events`. For tests only.
 */
export class BuiltinTestKit {
  readonly events: RunnerEvent[] = [];
  readonly posts: PostStep[] = [];
  readonly executor: HostExecutor;
  readonly state: JobState;
  /** What the actions get beyond the step; a test may replace it. */
  env: BuiltinEnvironment;
  readonly home: string;

  private constructor(
    readonly root: string,
    options: TestKitOptions,
  ) {
    this.executor = new HostExecutor({ root: join(root, "job") });
    const spec: JobSpec = {
      runId: "run-1",
      jobId: "build",
      key: "ci.yml / build",
      name: "build",
      workflow: { name: "ci", file: ".github/workflows/ci.yml" },
      runsOn: ["ubuntu-latest"],
      contexts: {
        github: {
          repository: "acme/app",
          run_id: "1",
          ref: "refs/heads/main",
          sha: "",
          ...options.github,
        },
        inputs: {},
        vars: {},
        secrets: {},
        matrix: {},
        strategy: {},
        needs: {},
      },
      env: {},
      defaults: {},
      steps: [],
      timeoutMinutes: 360,
      continueOnError: false,
      masks: [],
    };
    this.state = new JobState(spec, this.executor.paths);
    this.home = join(root, "home");
    this.env = {
      executor: this.executor,
      repoRoot: options.repoRoot ?? join(root, "repo"),
      artifactDir: join(root, "artifacts"),
      cacheDir: join(root, "cache"),
    };
  }

  /** A kit with its directories created. */
  static async create(options: TestKitOptions = {}): Promise<BuiltinTestKit> {
    const kit = new BuiltinTestKit(await mkdtemp(join(tmpdir(), "trunkline-builtin-")), options);
    await kit.executor.prepare();
    await mkdir(kit.home, { recursive: true });
    return kit;
  }

  get workspace(): string {
    return this.state.paths.workspace;
  }

  /** Runs `action` as a step with these inputs; `env` is added to the step's environment. */
  run(
    action: BuiltinAction,
    inputs: Record<string, string>,
    env: Record<string, string> = {},
    signal: AbortSignal = new AbortController().signal,
  ): Promise<ActionResult> {
    const request: ActionRequest = {
      step: { id: "step", hasExplicitId: false, at: { line: 1, column: 1 }, if: "success()" },
      uses: `${action.name}@v4`,
      with: inputs,
      env: { PATH: process.env.PATH ?? "", HOME: this.home, ...env },
      stepEnv: {},
      number: 1,
      name: `Run ${action.name}@v4`,
    };
    const context: ActionContext = {
      state: this.state,
      executor: this.executor,
      output: this.output(),
      signal,
      masker: new SecretMasker(),
      contexts: (e) => this.state.contexts(e),
      registerPost: (post) => this.posts.push(post),
      runComposite: () => Promise.reject(new Error("no composite actions in these tests")),
    };
    return action.run(request, context, this.env);
  }

  /** Runs the registered post steps in reverse order, as the job runner does, and forgets them. */
  async runPosts(): Promise<{ ok: boolean; message?: string }[]> {
    const results: { ok: boolean; message?: string }[] = [];
    for (const post of this.posts.splice(0).reverse()) {
      results.push(
        await post.run({
          env: { ...post.env },
          output: this.output(),
          signal: new AbortController().signal,
          state: this.state,
        }),
      );
    }
    return results;
  }

  /** The runner's own log lines so far. */
  notes(): string[] {
    return this.events.flatMap((e) => (e.type === "log" ? [e.text] : []));
  }

  /** Messages of the annotations raised so far at `level`. */
  annotations(level: "error" | "warning" | "notice"): string[] {
    return this.events.flatMap((e) =>
      e.type === "annotation" && e.annotation.level === level ? [e.annotation.message] : [],
    );
  }

  /** Forgets the events so far. */
  clearEvents(): void {
    this.events.length = 0;
  }

  async cleanup(): Promise<void> {
    await this.executor.release();
    await rm(this.root, { recursive: true, force: true });
  }

  private output(): StepOutput {
    return new StepOutput(
      "ci.yml / build",
      1,
      new SecretMasker(),
      (e) => this.events.push(e),
      false,
    );
  }
}

/** Writes text files under `dir`, creating their directories. */
export async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
}
