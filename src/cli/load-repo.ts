import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { type Diagnostic, diagnostic } from "../common/diagnostic.js";
import { NotFoundError } from "../common/errors.js";
import { FILE_START } from "../common/position.js";
import {
  EMPTY_REPO_CONFIG,
  REPO_CONFIG_PATH,
  type RepoConfig,
} from "../config/repo-config-model.js";
import { DEFAULT_INPUT_LIMITS } from "../workflow/input-limit-values.js";
import type { Workflow } from "../workflow/model.js";
import { readWorkflowCached } from "./workflow-cache.js";

/** The workflows directory of a repository, as GitHub looks for it. */
export const WORKFLOWS_DIR = ".github/workflows";

/** What was read from a repository: valid workflows, its config, and every problem. */
export interface LoadedRepo {
  readonly root: string;
  readonly workflows: readonly Workflow[];
  readonly files: readonly string[];
  readonly config: RepoConfig;
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Reads the workflows (every `.yml`/`.yaml` under `.github/workflows`, or the files named in
 * `only`) and `.trunkline/config.yml` of the repository at `root`. Paths in diagnostics are
 * relative to `root`. A missing workflows directory is an error; a missing config is not.
 */
export async function loadRepo(root: string, only: readonly string[] = []): Promise<LoadedRepo> {
  const files = only.length > 0 ? only.map((f) => resolve(root, f)) : await listWorkflowFiles(root);
  const diagnostics: Diagnostic[] = [];
  const workflows: Workflow[] = [];
  const names: string[] = [];
  for (const path of files) {
    const name = relative(root, path) || path;
    names.push(name);
    const content = await readBounded(path, name, diagnostics);
    if (content === undefined) continue;
    const result = await readWorkflowCached(name, content);
    diagnostics.push(...result.diagnostics);
    if (result.workflow && !result.diagnostics.some((d) => d.severity === "error"))
      workflows.push(result.workflow);
  }
  let config = EMPTY_REPO_CONFIG;
  const configPath = join(root, REPO_CONFIG_PATH);
  const configText = await readBounded(configPath, REPO_CONFIG_PATH, diagnostics, true);
  if (configText !== undefined) {
    // The YAML library is loaded only for a repository that has a config.
    const { readRepoConfig } = await import("../config/repo-config.js");
    const read = readRepoConfig(REPO_CONFIG_PATH, configText);
    diagnostics.push(...read.diagnostics);
    config = read.config;
  }
  return { root, workflows, files: names, config, diagnostics };
}

async function listWorkflowFiles(root: string): Promise<string[]> {
  const dir = join(root, WORKFLOWS_DIR);
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    throw new NotFoundError(`no ${WORKFLOWS_DIR} directory in ${root}`);
  }
  return entries
    .filter((e) => e.endsWith(".yml") || e.endsWith(".yaml"))
    .sort()
    .map((e) => join(dir, e));
}

/** Reads a file unless it is larger than the input limit or unreadable (then a diagnostic says so). */
async function readBounded(
  path: string,
  name: string,
  out: Diagnostic[],
  optional = false,
): Promise<string | undefined> {
  const problem = (message: string) =>
    out.push(diagnostic(name, FILE_START, "file/unreadable", message));
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch {
    if (!optional) problem("no such file");
    return undefined;
  }
  if (!info.isFile()) {
    problem("not a regular file");
    return undefined;
  }
  if (info.size > DEFAULT_INPUT_LIMITS.maxBytes) {
    const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
    out.push(
      diagnostic(
        name,
        FILE_START,
        "workflow/limit",
        `file is ${mib(info.size)}; the limit is ${mib(DEFAULT_INPUT_LIMITS.maxBytes)}`,
      ),
    );
    return undefined;
  }
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    problem(`cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    return undefined;
  }
}
