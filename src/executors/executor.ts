/**
 * Where a job's processes run. One interface, several backends (host now; containers and
 * Kubernetes later). Contract:
 * - `prepare` is called once before any `exec`, `release` once after the last, even when
 *   the job failed or was cancelled, and must be safe to call when `prepare` failed;
 * - `exec` runs one process to completion and never throws for a process that fails: a
 *   non-zero exit is a result. It rejects only when the process could not be started;
 * - aborting `signal` ends the process and every process it started (the whole tree), first
 *   politely, then by force after the grace period;
 * - `exec` may be called concurrently only for different jobs (one Executor per job).
 */
export interface Executor {
  /** The kind of backend, for messages. */
  readonly kind: string;
  /** Directories of this job as its steps see them. */
  readonly paths: JobPaths;
  prepare(): Promise<void>;
  exec(request: ExecRequest, output: ExecOutput, signal: AbortSignal): Promise<ExecResult>;
  release(): Promise<void>;
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
