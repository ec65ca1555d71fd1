import type { Executor } from "../../../executors/executor.js";
import type { NodeRuntimes } from "../../../toolcache/node-runtimes.js";
import type { PythonInstalls } from "../../../toolcache/python-installs.js";
import type { ActionContext, ActionRequest, ActionResult } from "../action-host.js";
import type { CacheBackend } from "./cache-store.js";
import type { RunArtifacts } from "./run-artifacts.js";

/**
 * An action Trunkline implements itself instead of running the published one, because the
 * published one needs GitHub's services (artifact and cache storage) or the internet
 * (checkout, tool downloads). Each keeps the published action's inputs and outputs.
 */
export interface BuiltinAction {
  /** `owner/repo` as written in `uses:` (any ref matches). */
  readonly name: string;
  run(
    request: ActionRequest,
    context: ActionContext,
    env: BuiltinEnvironment,
  ): Promise<ActionResult>;
}

/** What built-in actions may use beyond the step. */
export interface BuiltinEnvironment {
  readonly executor: Executor;
  /**
   * The repository being built (its `.git`), for checkout. For a job whose executor confines
   * its processes (`jobProcess`), one they can read: checkout's git runs as they do.
   */
  readonly repoRoot: string;
  /** The run's artifact store: one directory per run. */
  readonly artifactDir: string;
  /** Where the run's artifacts are kept instead of `artifactDir` (a server's service). */
  readonly artifacts?: RunArtifacts;
  /** The cache store: kept across runs, one per repository. */
  readonly cacheDir: string;
  /** Where the cache actions keep entries instead of `cacheDir` (a server's service). */
  readonly caches?: CacheBackend;
  /** The tool cache's Node runtimes, which setup-node finds and installs into. */
  readonly runtimes?: NodeRuntimes;
  /** The tool cache's Pythons, which setup-python finds and installs into. */
  readonly pythons?: PythonInstalls;
  /**
   * A local run of a working tree with uncommitted changes: checking out commit `of` (the
   * run's) gives the files of `commit` (the working tree on it), HEAD staying `of`.
   */
  readonly workingTree?: { readonly of: string; readonly commit: string };
}
