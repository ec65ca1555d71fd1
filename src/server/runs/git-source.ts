import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { Diagnostic } from "../../common/diagnostic.js";
import { formatDiagnostic } from "../../common/diagnostic.js";
import {
  EMPTY_REPO_CONFIG,
  REPO_CONFIG_PATH,
  type RepoConfig,
  readRepoConfig,
} from "../../config/repo-config.js";
import type { WorkflowLoader } from "../../engine/reusable-call.js";
import { redact } from "../../store/open-store.js";
import type { Workflow } from "../../workflow/model.js";
import { readWorkflow } from "../../workflow/read-workflow.js";
import { parseWorkflowReference } from "../../workflow/workflow-reference.js";

// Reading a bare repository at a commit, and bringing commits into it. Every argument that
// comes from outside (refs, shas, paths) is passed as its own argv entry, never through a
// shell, and refs are checked by git itself (`--verify`, `--end-of-options`).

const exec = promisify(execFile);
const GIT_ENV = { ...process.env, GIT_TERMINAL_PROMPT: "0", GIT_ASKPASS: "true" };

function git(bare: string, args: readonly string[], maxBuffer = 2 * 1024 * 1024) {
  return exec("git", ["-C", bare, ...args], { maxBuffer, env: GIT_ENV });
}

/** The commit a revision names, or undefined when there is none. */
export async function resolveCommit(bare: string, revision: string): Promise<string | undefined> {
  return git(bare, [
    "rev-parse",
    "--verify",
    "-q",
    "--end-of-options",
    `${revision}^{commit}`,
  ]).then(
    (r) => r.stdout.trim() || undefined,
    () => undefined,
  );
}

/** A file's text at a commit, or undefined when the commit has no such file. */
export async function showFile(
  bare: string,
  sha: string,
  path: string,
): Promise<string | undefined> {
  return git(bare, ["show", `${sha}:${path}`]).then(
    (r) => r.stdout,
    () => undefined,
  );
}

/** A commit's whole message, or undefined when there is no such commit. */
export async function commitMessageAt(bare: string, sha: string): Promise<string | undefined> {
  if (!/^[0-9a-f]{7,64}$/.test(sha)) return undefined;
  return git(bare, ["show", "-s", "--format=%B", sha, "--"]).then(
    (r) => r.stdout.trimEnd(),
    () => undefined,
  );
}

/** The files that differ between two commits, or undefined when that cannot be told. */
export async function changedBetween(
  bare: string,
  before: string,
  after: string,
): Promise<string[] | undefined> {
  return git(bare, ["diff", "--name-only", before, after, "--"]).then(
    (r) => r.stdout.split("\n").filter(Boolean),
    () => undefined,
  );
}

/** Workflows read per commit (a commit's files never change), the most recent last. */
/** A workflow file of a commit that does not parse, and why. */
export interface InvalidWorkflow {
  readonly file: string;
  readonly diagnostics: readonly Diagnostic[];
}

/** The workflow files of a commit: the valid ones read, the others with their problems. */
interface WorkflowFiles {
  readonly workflows: Workflow[];
  readonly invalid: InvalidWorkflow[];
}

const readAt = new Map<string, Promise<WorkflowFiles>>();
const READ_AT_LIMIT = 64;

/**
 * The valid workflows of a commit; invalid ones are left out (see
 * {@link invalidWorkflowsAt}). The workflows of the last {@link READ_AT_LIMIT} commits read
 * are kept: a push's runs, their re-runs and the `workflow_run` checks at their ends read the
 * same commit again.
 */
export async function workflowsAt(bare: string, sha: string): Promise<Workflow[]> {
  return (await filesAt(bare, sha)).workflows;
}

/** The workflow files of a commit that do not parse, each with its errors. */
export async function invalidWorkflowsAt(bare: string, sha: string): Promise<InvalidWorkflow[]> {
  return (await filesAt(bare, sha)).invalid;
}

function filesAt(bare: string, sha: string): Promise<WorkflowFiles> {
  const key = `${bare}\0${sha}`;
  const known = readAt.get(key);
  if (known) {
    readAt.delete(key);
    readAt.set(key, known);
    return known;
  }
  const reading = readWorkflowsAt(bare, sha);
  readAt.set(key, reading);
  // An empty answer may be a git failure (the commit not fetched yet): it is asked again.
  const forget = () => readAt.get(key) === reading && readAt.delete(key);
  reading.then((files) => files.workflows.length + files.invalid.length === 0 && forget(), forget);
  if (readAt.size > READ_AT_LIMIT) readAt.delete(readAt.keys().next().value as string);
  return reading;
}

async function readWorkflowsAt(bare: string, sha: string): Promise<WorkflowFiles> {
  const listing = await git(bare, ["ls-tree", "--name-only", `${sha}:.github/workflows`]).then(
    (r) => r.stdout.split("\n").filter((f) => /\.ya?ml$/.test(f)),
    () => [] as string[],
  );
  const out: WorkflowFiles = { workflows: [], invalid: [] };
  for (const name of listing) {
    const path = `.github/workflows/${name}`;
    const text = await showFile(bare, sha, path);
    // A file the listing named and git cannot show is a failure, not a missing workflow (and
    // a failed read is not kept).
    if (text === undefined) throw new Error(`git cannot show ${path} at ${sha}`);
    const read = await readWorkflow(path, text);
    const errors = read.diagnostics.filter((d) => d.severity === "error");
    if (read.workflow && errors.length === 0) out.workflows.push(read.workflow);
    else out.invalid.push({ file: path, diagnostics: errors });
  }
  return out;
}

/**
 * Reads the reusable workflows a server run calls: `./.github/workflows/<file>` from the
 * repository at the run's commit. Workflows of other repositories (`owner/repo/...@ref`) are
 * refused with the reason: the server reads only the repositories it hosts.
 */
export function calledWorkflowsAt(bare: string, sha: string): WorkflowLoader {
  return async (uses) => {
    const ref = parseWorkflowReference(uses);
    if (ref.kind === "invalid") throw new Error(ref.reason);
    if (ref.kind === "remote")
      throw new Error(
        `reusable workflows of other repositories (${ref.owner}/${ref.repo}) are not read by the server; copy the workflow into this repository's .github/workflows`,
      );
    const text = await showFile(bare, sha, ref.path);
    if (text === undefined) throw new Error(`no file ${ref.path} at ${sha.slice(0, 12)}`);
    const read = await readWorkflow(ref.path, text);
    const errors = read.diagnostics.filter((d) => d.severity === "error");
    if (!read.workflow || errors.length > 0)
      throw new Error(`invalid workflow: ${errors.map(formatDiagnostic).join("; ")}`);
    return read.workflow;
  };
}

/**
 * The repository's `.trunkline/config.yml` for a run of a commit: its variables and platforms
 * as the commit has them, its environments (protection rules, reviewers, their variables) as
 * the default branch (HEAD) has them, as GitHub keeps environments in the repository's
 * settings: a push cannot loosen the rules its own deployments are held by. Until the
 * default branch exists, the commit's own. The empty config where there is none.
 */
export async function configAt(bare: string, sha: string): Promise<RepoConfig> {
  const atCommit = await readConfigAt(bare, sha);
  const head = await resolveCommit(bare, "HEAD");
  if (!head || head === sha) return atCommit;
  return { ...atCommit, environments: (await readConfigAt(bare, head)).environments };
}

async function readConfigAt(bare: string, sha: string): Promise<RepoConfig> {
  const text = await showFile(bare, sha, REPO_CONFIG_PATH);
  return text === undefined ? EMPTY_REPO_CONFIG : readRepoConfig(REPO_CONFIG_PATH, text).config;
}

/**
 * Fetches refs from a mirrored repository's remote into the bare repository, forced (the
 * remote is the truth). `refspecs` are `src:dst` pairs.
 */
export async function fetchFromRemote(
  bare: string,
  url: string,
  refspecs: readonly string[],
): Promise<void> {
  try {
    await git(bare, [
      "fetch",
      "--quiet",
      "--no-tags",
      "--prune",
      "--end-of-options",
      url,
      ...refspecs.map((r) => `+${r}`),
    ]);
  } catch (err) {
    // git's message and command line carry the URL, which may hold credentials.
    const detail = ((err as { stderr?: string }).stderr ?? "").trim();
    throw new Error(`git fetch from ${redact(url)} failed: ${detail.split(url).join(redact(url))}`);
  }
}

/**
 * The merge of `head` into `base` as GitHub builds `refs/pull/N/merge`: a commit whose
 * parents are base and head, written without a work tree. Undefined when they conflict
 * (GitHub runs no pull_request workflow then either).
 */
export async function mergeCommit(
  bare: string,
  base: string,
  head: string,
  message: string,
): Promise<string | undefined> {
  const tree = await git(bare, ["merge-tree", "--write-tree", base, head]).then(
    (r) => r.stdout.split("\n")[0]?.trim(),
    () => undefined,
  );
  if (!tree) return undefined;
  const commit = await exec(
    "git",
    ["-C", bare, "commit-tree", tree, "-p", base, "-p", head, "-m", message],
    {
      env: {
        ...GIT_ENV,
        GIT_AUTHOR_NAME: "Trunkline",
        GIT_AUTHOR_EMAIL: "trunkline@localhost",
        GIT_COMMITTER_NAME: "Trunkline",
        GIT_COMMITTER_EMAIL: "trunkline@localhost",
      },
    },
  );
  return commit.stdout.trim();
}

/** Points a ref at a commit. */
export async function updateRef(bare: string, ref: string, sha: string): Promise<void> {
  await git(bare, ["update-ref", ref, sha]);
}
