/**
 * Where a job's processes run. One interface, several backends (the host; containers through
 * the Docker Engine API; Kubernetes later). Contract:
 * - `prepare` is called once before any `exec`, `release` once after the last, even when
 *   the job failed or was cancelled, and must be safe to call when `prepare` failed;
 *   aborting the signal given to `prepare` (cancel, job timeout) stops what it waits for;
 * - `exec` runs one process to completion and never throws for a process that fails: a
 *   non-zero exit is a result. It rejects only when the process could not be started;
 * - aborting `signal` ends the process and every process it started (the whole tree), first
 *   politely, then by force after the grace period;
 * - `exec` may be called concurrently only for different jobs (one Executor per job);
 * - `paths` are where the runner writes the job's files, on this machine. A backend whose
 *   processes see them elsewhere (a container) translates paths in `exec` itself;
 * - the optional members are read after `prepare`; a backend without them behaves as the host.
 */
export interface Executor {
  /** The kind of backend, for messages. */
  readonly kind: string;
  /** Directories of this job as its steps see them. */
  readonly paths: JobPaths;
  prepare(signal?: AbortSignal): Promise<void>;
  exec(request: ExecRequest, output: ExecOutput, signal: AbortSignal): Promise<ExecResult>;
  release(): Promise<void>;
  /** The environment processes start from when it is not the host's (a job container's image env). */
  baseEnv?(): Readonly<Record<string, string>> | undefined;
  /** The shell of `run:` steps that name none, when not GitHub's `bash` (`sh` in a container without bash). */
  defaultShell?(): string | undefined;
  /** What the `job` context shows of the backend: `container` (id, network) and `services`. */
  jobContext?(): Readonly<Record<string, unknown>>;
  /**
   * The runner wrote files into the job's directories itself (a built-in action): a backend
   * whose processes run as another user than the runner's gives them what was written, so
   * later steps can change it. Called after such a write, before the next `exec`.
   */
  handOver?(): void;
  /**
   * How the runner starts a program of its own on the job's behalf in the job's directories
   * (checkout's git): confined as the job's processes are, never with more than they have (a
   * program run there as the runner would obey files a step planted, git's config and hooks).
   * Resolves to the argv to spawn (as the runner) instead of `argv`. Undefined (or absent): the
   * job's processes are not confined; run `argv` as the runner.
   */
  jobProcess?(argv: readonly string[], cwd: string): readonly string[] | undefined;
  /** Runs Docker actions; only backends with a container engine have it. */
  readonly dockerActions?: DockerActionRunner;
  /**
   * After `release`: whether the job's directory was readied to serve another job (asked
   * for with the host executor's `reuse`). Absent or false: it must not be reused.
   */
  reusable?(): boolean;
}

/** Runs the containers of Docker actions (`docker://image`, `runs.using: docker`) for a job. */
export interface DockerActionRunner {
  /**
   * Builds `dockerfile` (its directory is the context) into an image removed with the job;
   * resolves to its tag. Build output goes to `output`.
   */
  build(dockerfile: string, output: ExecOutput): Promise<string>;
  /**
   * Runs one container of `image` to completion as GitHub runs a Docker action: the job's
   * workspace at /github/workspace (the working directory), its home, file commands and
   * event at /github/home, /github/file_commands, /github/workflow; on the job's network.
   * Host paths in `env` are translated. Never throws for a container that fails; aborting
   * `signal` stops it (SIGTERM, then SIGKILL after the grace period).
   */
  run(request: DockerActionRequest, output: ExecOutput, signal: AbortSignal): Promise<ExecResult>;
}

/** One Docker action container to run. */
export interface DockerActionRequest {
  readonly image: string;
  /** Replaces the image's entrypoint when set. */
  readonly entrypoint?: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Pulled with these when the image is not in the engine yet. */
  readonly credentials?: { readonly username: string; readonly password: string };
}

/** The job's directories: the checkout, scratch space, tool cache, and the runner's own files. */
export interface JobPaths {
  readonly workspace: string;
  readonly temp: string;
  readonly toolCache: string;
  /** Where the runner writes its per-step files (env files, scripts). */
  readonly files: string;
}

/** One process to run. `argv[0]` is looked up on `env.PATH`; nothing goes through a shell. */
export interface ExecRequest {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
}

/** Receives the process's output as it arrives, decoded as UTF-8, in arbitrary chunks. */
export interface ExecOutput {
  stdout(chunk: string): void;
  stderr(chunk: string): void;
}

/** How a process ended. */
export interface ExecResult {
  /** The exit code, or null when a signal ended it. */
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** True when the process was ended because `signal` was aborted. */
  readonly aborted: boolean;
}
